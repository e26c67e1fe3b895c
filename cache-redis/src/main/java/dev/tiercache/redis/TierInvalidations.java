package dev.tiercache.redis;

import static dev.tiercache.redis.KeySpace.bytes;

import dev.tiercache.spi.InvalidationMessage;
import io.lettuce.core.ScriptOutputType;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * The tier's invalidations, all logical and of a fixed cost per bucket: a key leaves a tombstone, a tag or prefix an
 * epoch, a pattern a record (its matching keys are then removed in the background by the {@link PatternSweeper}),
 * {@code all} raises the floor. A message's items are grouped into one {@link Scripts#INVALIDATE} per bucket; the
 * other buckets are changed first and the last bucket's script publishes the message, so it leaves only after every
 * covered entry stopped being served, and never without the change. Deletes that find nothing are still published,
 * since a Redis that restarted empty may hold nothing while other instances still hold copies.
 */
final class TierInvalidations {

  private final KeySpace keys;
  private final RedisScripting scripts;
  private final PatternSweeper sweeper;
  private final byte[] horizon;
  private final List<byte[]> caps;
  private final byte[] memory;

  TierInvalidations(
      KeySpace keys, RedisScripting scripts, PatternSweeper sweeper, RedisTierOptions options, Limits limits) {
    this.keys = keys;
    this.scripts = scripts;
    this.sweeper = sweeper;
    this.horizon = TierWrites.horizonMicros(options);
    this.memory = bytes(Long.toString(options.invalidationMemory().toMillis()));
    this.caps =
        List.of(
            bytes(Integer.toString(limits.tombstones())),
            bytes(Integer.toString(limits.epochs())),
            bytes(Integer.toString(limits.prefixLengths())),
            bytes(Integer.toString(limits.patterns())));
  }

  /** What one bucket's script does: the entry keys of its key invalidations, and its operations in order. */
  private static final class BucketOps {
    final List<byte[]> entryKeys = new ArrayList<>();
    final List<byte[]> ops = new ArrayList<>();

    void add(String kind, byte[] argument) {
      ops.add(bytes(kind));
      ops.add(argument);
    }
  }

  /**
   * Applies the items in order and, with an announcement, publishes it from the last bucket's script, stamped with
   * that bucket and the version the script gave the change ({@link BusFrames#announcement}).
   *
   * @param announcement the message to publish, or null to publish nothing
   * @return completes when applied (and published); fails, having published nothing, if a bucket failed or an item
   *     is not built in
   */
  CompletableFuture<Void> invalidate(
      String cache, List<InvalidationMessage.Item> items, InvalidationMessage announcement) {
    Map<Integer, BucketOps> byBucket = new LinkedHashMap<>();
    List<String> patterns = new ArrayList<>();
    for (InvalidationMessage.Item item : items) {
      String argument = KeySpace.wellFormed(item.argument(), item.strategy());
      switch (item.strategy()) {
        case "key" -> {
          int bucket = keys.bucketOf(argument);
          BucketOps ops = byBucket.computeIfAbsent(bucket, b -> new BucketOps());
          ops.entryKeys.add(bytes(keys.entryPrefix(cache, bucket) + argument));
          // KEYS[1] is the clock, so the first entry key is KEYS[2].
          ops.add("k", bytes(Integer.toString(ops.entryKeys.size() + 1)));
        }
        case "tag" -> everyBucket(byBucket, "t", bytes(argument));
        case "prefix" -> everyBucket(byBucket, "p", bytes(argument));
        case "pattern" -> {
          everyBucket(byBucket, "P", bytes(argument));
          patterns.add(argument);
        }
        case "all" -> everyBucket(byBucket, "a", new byte[0]);
        default -> {
          return CompletableFuture.failedFuture(
              new IllegalArgumentException("not a built-in invalidation strategy: '" + item.strategy() + "'"));
        }
      }
    }
    List<Integer> buckets = new ArrayList<>(byBucket.keySet());
    int last = buckets.remove(buckets.size() - 1);
    List<CompletableFuture<Long>> first = new ArrayList<>();
    for (int bucket : buckets) {
      first.add(run(cache, bucket, byBucket.get(bucket), null));
    }
    return CompletableFuture.allOf(first.toArray(CompletableFuture[]::new))
        .thenCompose(
            done -> run(cache, last, byBucket.get(last),
                announcement == null ? null : BusFrames.announcement(announcement, last)))
        .thenApply(
            v -> {
              patterns.forEach(glob -> sweeper.sweep(cache, glob));
              return null;
            });
  }

  private void everyBucket(Map<Integer, BucketOps> byBucket, String kind, byte[] argument) {
    for (int bucket = 0; bucket < keys.buckets(); bucket++) {
      byBucket.computeIfAbsent(bucket, b -> new BucketOps()).add(kind, argument);
    }
  }

  private CompletableFuture<Long> run(String cache, int bucket, BucketOps ops, byte[] frame) {
    byte[][] scriptKeys = new byte[ops.entryKeys.size() + 1][];
    scriptKeys[0] = bytes(keys.clock(cache, bucket));
    for (int i = 0; i < ops.entryKeys.size(); i++) {
      scriptKeys[i + 1] = ops.entryKeys.get(i);
    }
    List<byte[]> args = new ArrayList<>();
    args.add(bytes(keys.metaPrefix(cache, bucket)));
    args.add(horizon);
    args.addAll(caps);
    args.add(frame == null ? new byte[0] : bytes(keys.channel(cache)));
    args.add(frame == null ? new byte[0] : frame);
    args.add(memory);
    args.addAll(ops.ops);
    args.add(scripts.seen.argument(cache, bucket));
    return scripts
        .<Long>run(Scripts.INVALIDATE, ScriptOutputType.INTEGER, scriptKeys, args.toArray(byte[][]::new))
        .thenApply(
            version -> {
              scripts.seen.observe(cache, bucket, version);
              return version;
            });
  }
}
