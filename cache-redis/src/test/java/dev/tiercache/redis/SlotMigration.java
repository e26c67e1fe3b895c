package dev.tiercache.redis;

import io.lettuce.core.MigrateArgs;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.cluster.models.partitions.ClusterPartitionParser;
import io.lettuce.core.cluster.models.partitions.Partitions;
import io.lettuce.core.cluster.models.partitions.RedisClusterNode;
import java.time.Duration;
import java.util.List;
import java.util.function.Function;

/**
 * Moves one slot of a test's Redis Cluster from its master to another, by hand and key by key, as
 * {@code redis-cli --cluster reshard} does: {@code CLUSTER SETSLOT IMPORTING} on the target, {@code MIGRATING} on
 * the source, {@code MIGRATE} of the keys (all at once or a few at a time), then {@code SETSLOT NODE} on every
 * master ({@link #finish}), or back to where it was ({@link #abort}: finished, then moved back). Clients' topologies
 * are not told.
 */
final class SlotMigration {

  final int slot;
  final RedisURI source;
  final RedisURI target;
  final String sourceId;
  final String targetId;
  private final RedisClient admin;
  private final Partitions partitions;

  private SlotMigration(RedisClient admin, int slot, Partitions partitions, RedisClusterNode from,
      RedisClusterNode to) {
    this.admin = admin;
    this.slot = slot;
    this.partitions = partitions;
    this.source = uriOf(from);
    this.target = uriOf(to);
    this.sourceId = from.getNodeId();
    this.targetId = to.getNodeId();
  }

  /** Sets the slot migrating from its owner to another master; no key moves yet. */
  static SlotMigration begin(RedisClient admin, RedisURI anyNode, int slot) {
    String nodes = command(admin, anyNode, RedisCommands::clusterNodes);
    Partitions partitions = ClusterPartitionParser.parse(nodes);
    RedisClusterNode from = null;
    for (RedisClusterNode node : partitions) {
      if (node.hasSlot(slot)) {
        from = node;
      }
    }
    if (from == null) {
      throw new AssertionError("no master owns slot " + slot);
    }
    RedisClusterNode to = null;
    for (RedisClusterNode node : partitions) {
      if (!node.getSlots().isEmpty() && !node.getNodeId().equals(from.getNodeId())) {
        to = node;
        break;
      }
    }
    if (to == null) {
      throw new AssertionError("no other master to move slot " + slot + " to");
    }
    SlotMigration migration = new SlotMigration(admin, slot, partitions, from, to);
    String sourceId = migration.sourceId;
    String targetId = migration.targetId;
    migration.onTarget(c -> c.clusterSetSlotImporting(slot, sourceId));
    migration.onSource(c -> c.clusterSetSlotMigrating(slot, targetId));
    return migration;
  }

  /** The slot's keys still on the source (at most 10,000). */
  List<String> keysOnSource() {
    return onSource(c -> c.clusterGetKeysInSlot(slot, 10_000));
  }

  /** The slot's keys on the target (at most 10,000). */
  List<String> keysOnTarget() {
    return onTarget(c -> c.clusterGetKeysInSlot(slot, 10_000));
  }

  /** Moves the named keys that are on the source to the target (one MIGRATE); the others are skipped. */
  void move(List<String> keys) {
    List<String> present = keysOnSource().stream().filter(keys::contains).toList();
    if (!present.isEmpty()) {
      onSource(c -> c.migrate(target.getHost(), target.getPort(), 0, 5_000, MigrateArgs.Builder.keys(present)));
    }
  }

  /** Moves every key left on the source, then gives the slot to the target on every master. */
  void finish() {
    move(keysOnSource());
    for (RedisClusterNode node : partitions) {
      if (!node.getSlots().isEmpty() || node.getNodeId().equals(targetId)) {
        command(admin, uriOf(node), c -> c.clusterSetSlotNode(slot, targetId));
      }
    }
  }

  /**
   * Undoes the migration the way that leaves no window: finishes it, then moves the slot back from the target to the
   * source in one step. ({@code SETSLOT STABLE} on both, then {@code MIGRATE} back, would leave the source owning
   * the slot while some of its keys are still on the target: the source then serves the bucket without them.)
   */
  void abort() {
    finish();
    String to = sourceId;
    String from = targetId;
    onSource(c -> c.clusterSetSlotImporting(slot, from));
    onTarget(c -> c.clusterSetSlotMigrating(slot, to));
    List<String> moved = onTarget(c -> c.clusterGetKeysInSlot(slot, 10_000));
    if (!moved.isEmpty()) {
      onTarget(c -> c.migrate(source.getHost(), source.getPort(), 0, 5_000, MigrateArgs.Builder.keys(moved)));
    }
    for (RedisClusterNode node : partitions) {
      if (!node.getSlots().isEmpty() || node.getNodeId().equals(to)) {
        command(admin, uriOf(node), c -> c.clusterSetSlotNode(slot, to));
      }
    }
  }

  <T> T onSource(Function<RedisCommands<String, String>, T> call) {
    return command(admin, source, call);
  }

  <T> T onTarget(Function<RedisCommands<String, String>, T> call) {
    return command(admin, target, call);
  }

  /** The first {@code count} keys {@code "k0"}, {@code "k1"}, ... that share the bucket of {@code "k0"} on a Cluster. */
  static List<String> keysInTheBucketOfK0(int count) {
    KeySpace space = new KeySpace(RedisTierOptions.DEFAULT_NAMESPACE, RedisTierOptions.DEFAULT_CLUSTER_BUCKETS);
    int bucket = space.bucketOf("k0");
    List<String> keys = new java.util.ArrayList<>();
    for (int i = 0; keys.size() < count; i++) {
      if (space.bucketOf("k" + i) == bucket) {
        keys.add("k" + i);
      }
    }
    return keys;
  }

  /** A connection to one node, for one admin command. */
  static <T> T command(RedisClient admin, RedisURI uri, Function<RedisCommands<String, String>, T> call) {
    try (StatefulRedisConnection<String, String> connection = admin.connect(uri)) {
      return call.apply(connection.sync());
    }
  }

  static RedisURI uriOf(RedisClusterNode node) {
    return RedisURI.builder().withHost(node.getUri().getHost()).withPort(node.getUri().getPort())
        .withTimeout(Duration.ofSeconds(10)).build();
  }
}
