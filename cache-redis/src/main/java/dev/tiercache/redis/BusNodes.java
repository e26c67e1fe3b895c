package dev.tiercache.redis;

import io.lettuce.core.api.StatefulConnection;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.cluster.SlotHash;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.cluster.models.partitions.RedisClusterNode;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Which Redis nodes the bus publishes on. Redis keeps the order of what one node executed, not across nodes: a
 * message published on Cluster node X reaches a subscriber on node Y over the X-to-Y cluster link, behind everything
 * X published before it, but in no fixed order with what another node published. So a heartbeat goes to every master
 * (the Lua scripts publish on their bucket's master), and a message the bus itself publishes goes to a master too
 * (the one owning the channel's slot), never to whichever node Lettuce sends keyless commands to, which a heartbeat
 * might not cover.
 */
final class BusNodes implements Heartbeats.Targets {

  private static final String STANDALONE = "standalone";

  private final RedisConnections connections;
  private final byte[] heartbeatChannel;

  BusNodes(RedisConnections connections, byte[] heartbeatChannel) {
    this.connections = connections;
    this.heartbeatChannel = heartbeatChannel;
  }

  /** The standalone server, or every Cluster master that serves slots now; empty before Redis was reached. */
  @Override
  public List<Heartbeats.Target> current() {
    StatefulConnection<byte[], byte[]> connection = connections.connection();
    if (connection == null) {
      return List.of();
    }
    if (!(connection instanceof StatefulRedisClusterConnection<byte[], byte[]> cluster)) {
      return List.of(target(STANDALONE, frame -> connections.call(
          c -> c.publish(heartbeatChannel, frame).toCompletableFuture())));
    }
    List<Heartbeats.Target> masters = new ArrayList<>();
    for (RedisClusterNode node : cluster.getPartitions()) {
      // A failed master keeps its flag until the topology changes, but loses its slots to the promoted replica.
      if (node.is(RedisClusterNode.NodeFlag.UPSTREAM) && !node.getSlots().isEmpty()) {
        String id = node.getNodeId();
        masters.add(target(id, frame -> connections.failuresReported(onNode(cluster, id, heartbeatChannel, frame))));
      }
    }
    return masters;
  }

  /** Publishes a message on the channel: on the master owning the channel's slot when on a Cluster. */
  CompletableFuture<Long> publish(byte[] channel, byte[] message) {
    StatefulConnection<byte[], byte[]> connection = connections.connection();
    if (connection instanceof StatefulRedisClusterConnection<byte[], byte[]> cluster) {
      RedisClusterNode owner = cluster.getPartitions().getMasterBySlot(SlotHash.getSlot(channel));
      if (owner != null) {
        return connections.failuresReported(onNode(cluster, owner.getNodeId(), channel, message));
      }
    }
    return connections.call(c -> c.publish(channel, message).toCompletableFuture());
  }

  private static CompletableFuture<Long> onNode(
      StatefulRedisClusterConnection<byte[], byte[]> cluster, String nodeId, byte[] channel, byte[] message) {
    return cluster
        .getConnectionAsync(nodeId)
        .thenCompose((StatefulRedisConnection<byte[], byte[]> node) ->
            node.async().publish(channel, message).toCompletableFuture());
  }

  private interface Publish {
    CompletableFuture<?> send(byte[] frame);
  }

  private static Heartbeats.Target target(String node, Publish publish) {
    return new Heartbeats.Target() {
      @Override
      public String node() {
        return node;
      }

      @Override
      public CompletableFuture<?> publish(byte[] frame) {
        return publish.send(frame);
      }
    };
  }
}
