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
  /** The byte forms of each cache's channel and bucket keys, built once (per call they cost more than the rest). */
  private final CacheKeyBytes keyBytes;

  TierInvalidations(
      KeySpace keys,
      CacheKeyBytes keyBytes,
      RedisScripting scripts,
      PatternSweeper sweeper,
      RedisTierOptions options,
      Limits limits) {
    this.keys = keys;
    this.keyBytes = keyBytes;
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

  private static final byte[] KEY = {'k'};
  private static final byte[] TAG = {'t'};
  private static final byte[] PREFIX = {'p'};
  private static final byte[] PATTERN = {'P'};
  private static final byte[] ALL = {'a'};
  private static final byte[] NOTHING = new byte[0];
  /** KEYS[1] is the clock, so the first entry key is KEYS[2]. */
  private static final byte[] FIRST_ENTRY_KEY = {'2'};

  /** What one bucket's script does: the entry keys of its key invalidations, and its operations in order. */
  private static final class BucketOps {
    final List<byte[]> entryKeys = new ArrayList<>(1);
    final List<byte[]> ops = new ArrayList<>(2);

    void add(byte[] kind, byte[] argument) {
      ops.add(kind);
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
    CacheKeyBytes.Bucket[] bucketBytes = keyBytes.of(cache);
    if (items.size() == 1 && items.get(0).strategy().equals("key")) {
      // The usual invalidation: one key, one bucket, nothing to group or wait for first.
      String key = KeySpace.wellFormed(items.get(0).argument(), "key");
      int bucket = keys.bucketOf(key);
      BucketOps ops = new BucketOps();
      ops.entryKeys.add(CacheKeyBytes.concat(bucketBytes[bucket].entryPrefix(), key));
      ops.add(KEY, FIRST_ENTRY_KEY);
      byte[] frame = announcement == null ? null : BusFrames.announcement(announcement, bucket);
      return run(cache, bucketBytes[bucket], bucket, ops, frame == null ? NOTHING : keyBytes.channel(cache), frame);
    }
    Map<Integer, BucketOps> byBucket = new LinkedHashMap<>();
    List<String> patterns = null;
    for (InvalidationMessage.Item item : items) {
      String argument = KeySpace.wellFormed(item.argument(), item.strategy());
      switch (item.strategy()) {
        case "key" -> {
          int bucket = keys.bucketOf(argument);
          BucketOps ops = byBucket.computeIfAbsent(bucket, b -> new BucketOps());
          ops.entryKeys.add(CacheKeyBytes.concat(bucketBytes[bucket].entryPrefix(), argument));
          // KEYS[1] is the clock, so the first entry key is KEYS[2].
          ops.add(KEY, bytes(Integer.toString(ops.entryKeys.size() + 1)));
        }
        case "tag" -> everyBucket(byBucket, TAG, bytes(argument));
        case "prefix" -> everyBucket(byBucket, PREFIX, bytes(argument));
        case "pattern" -> {
          everyBucket(byBucket, PATTERN, bytes(argument));
          if (patterns == null) {
            patterns = new ArrayList<>();
          }
          patterns.add(argument);
        }
        case "all" -> everyBucket(byBucket, ALL, NOTHING);
        default -> {
          return CompletableFuture.failedFuture(
              new IllegalArgumentException("not a built-in invalidation strategy: '" + item.strategy() + "'"));
        }
      }
    }
    List<Integer> buckets = new ArrayList<>(byBucket.keySet());
    int last = buckets.remove(buckets.size() - 1);
    byte[] frame = announcement == null ? null : BusFrames.announcement(announcement, last);
    byte[] channel = frame == null ? NOTHING : keyBytes.channel(cache);
    CompletableFuture<Void> done;
    if (buckets.isEmpty()) {
      // One bucket (every invalidation on a standalone Redis): nothing to wait for first.
      done = run(cache, bucketBytes[last], last, byBucket.get(last), channel, frame);
    } else {
      List<CompletableFuture<Void>> first = new ArrayList<>();
      for (int bucket : buckets) {
        first.add(run(cache, bucketBytes[bucket], bucket, byBucket.get(bucket), NOTHING, null));
      }
      done = CompletableFuture.allOf(first.toArray(CompletableFuture[]::new))
          .thenCompose(ok -> run(cache, bucketBytes[last], last, byBucket.get(last), channel, frame));
    }
    if (patterns == null) {
      return done;
    }
    List<String> swept = patterns;
    return done.thenApply(
        v -> {
          swept.forEach(glob -> sweeper.sweep(cache, glob));
          return null;
        });
  }

  private void everyBucket(Map<Integer, BucketOps> byBucket, byte[] kind, byte[] argument) {
    for (int bucket = 0; bucket < keys.buckets(); bucket++) {
      byBucket.computeIfAbsent(bucket, b -> new BucketOps()).add(kind, argument);
    }
  }

  private CompletableFuture<Void> run(
      String cache, CacheKeyBytes.Bucket bucketBytes, int bucket, BucketOps ops, byte[] channel, byte[] frame) {
    byte[][] scriptKeys = new byte[ops.entryKeys.size() + 1][];
    scriptKeys[0] = bucketBytes.clock();
    for (int i = 0; i < ops.entryKeys.size(); i++) {
      scriptKeys[i + 1] = ops.entryKeys.get(i);
    }
    // Meta prefix, horizon, the caps, channel, frame, memory, the operations, then the version seen.
    byte[][] args = new byte[5 + caps.size() + ops.ops.size() + 1][];
    int at = 0;
    args[at++] = bucketBytes.metaPrefix();
    args[at++] = horizon;
    for (byte[] cap : caps) {
      args[at++] = cap;
    }
    args[at++] = channel;
    args[at++] = frame == null ? NOTHING : frame;
    args[at++] = memory;
    for (byte[] op : ops.ops) {
      args[at++] = op;
    }
    args[at] = scripts.seen.argument(cache, bucket);
    // The decoding form: the reply is observed in the stage that completes the call, with fewer stages per call.
    return scripts.<Long, Void>run(
        Scripts.INVALIDATE,
        ScriptOutputType.INTEGER,
        scriptKeys,
        version -> {
          scripts.seen.observe(cache, bucket, version);
          return null;
        },
        args);
  }
}
