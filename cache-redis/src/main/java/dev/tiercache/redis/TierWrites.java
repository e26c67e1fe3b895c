package dev.tiercache.redis;

import static dev.tiercache.redis.KeySpace.bytes;

import dev.tiercache.spi.InvalidationMessage;
import dev.tiercache.spi.L2Entry;
import dev.tiercache.spi.L2Write;
import io.lettuce.core.ScriptOutputType;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeoutException;

/**
 * The tier's writes: one {@link Scripts#WRITE} per bucket touched. A conditional write is refused in Lua when an
 * invalidation, an unconditional put, a pattern or a lost state (a floor) came after its read; an unconditional
 * write leaves a tombstone of its version, and may publish its bus message in the same script.
 */
final class TierWrites {

  private static final byte[] FORCE = bytes("1");
  private static final byte[] CONDITIONAL = bytes("0");
  private static final byte[] NONE = new byte[0];

  private final KeySpace keys;
  private final RedisScripting scripts;
  private final RedisTierOptions options;
  private final byte[] horizon;
  private final byte[] maxTombstones;

  TierWrites(KeySpace keys, RedisScripting scripts, RedisTierOptions options, Limits limits) {
    this.keys = keys;
    this.scripts = scripts;
    this.options = options;
    this.horizon = horizonMicros(options);
    this.maxTombstones = bytes(Integer.toString(limits.tombstones()));
  }

  /** The load horizon: how long a load may be in flight, and so how long tombstones are kept (microseconds). */
  static byte[] horizonMicros(RedisTierOptions options) {
    return bytes(Long.toString(options.tombstoneTtl().toNanos() / 1_000));
  }

  CompletableFuture<Collection<String>> putIfCurrent(String cache, Map<String, L2Write> writes, Duration ttl) {
    List<CompletableFuture<List<String>>> parts = new ArrayList<>();
    keys.byBucket(writes.keySet())
        .forEach((bucket, bucketKeys) -> parts.add(writeBucket(cache, bucket, bucketKeys, writes, ttl, null, 0)));
    return CompletableFuture.allOf(parts.toArray(CompletableFuture[]::new))
        .thenApply(
            done -> {
              List<String> written = new ArrayList<>();
              parts.forEach(part -> written.addAll(part.join()));
              return written;
            });
  }

  /**
   * An unconditional write; with an announcement, the script also publishes it. With a bound, the script refuses it
   * once the server's time is past the deadline it gives (then the future fails and nothing is published).
   */
  CompletableFuture<Void> put(
      String cache, String key, L2Entry entry, Duration ttl, InvalidationMessage announcement, Duration within) {
    int bucket = keys.bucketOf(key);
    byte[] message = announcement == null ? NONE : BusFrames.announcement(announcement, bucket);
    if (within == null) {
      return unconditional(cache, bucket, key, entry, ttl, message, 0);
    }
    long asked = SeenVersions.localMicros();
    long micros = within.toNanos() / 1_000;
    long deadline = scripts.seen.deadline(cache, bucket, asked, micros);
    if (deadline != 0) {
      return unconditional(cache, bucket, key, entry, ttl, message, deadline);
    }
    // No reply from the bucket told its server's time yet: ask first (once per bucket), so that even this first put
    // cannot land after its caller stopped waiting. The round trip comes out of the same bound.
    return serverTime(cache, bucket)
        .thenCompose(
            known -> unconditional(
                cache, bucket, key, entry, ttl, message, scripts.seen.deadline(cache, bucket, asked, micros)));
  }

  /** A read of no entry in the bucket: its reply tells the bucket's clock and its server's time. */
  private CompletableFuture<Void> serverTime(String cache, int bucket) {
    return scripts
        .<List<Object>>run(
            Scripts.READ,
            ScriptOutputType.MULTI,
            new byte[][] {bytes(keys.clock(cache, bucket))},
            bytes(keys.metaPrefix(cache, bucket)),
            bytes(keys.entryPrefix(cache, bucket)),
            bytes("0"),
            scripts.seen.argument(cache, bucket))
        .thenApply(
            reply -> {
              scripts.seen.observe(cache, bucket, (Long) reply.get(0));
              scripts.seen.observeTime(cache, bucket, (Long) reply.get(reply.size() - 1));
              return null;
            });
  }

  private CompletableFuture<Void> unconditional(
      String cache, int bucket, String key, L2Entry entry, Duration ttl, byte[] message, long deadline) {
    return writeBucket(cache, bucket, List.of(key), Map.of(key, new L2Write(entry, 0)), ttl, message, deadline)
        .thenApply(
            written -> {
              if (written.isEmpty()) {
                throw new CompletionException(
                    new TimeoutException("the write reached Redis after its deadline and was refused"));
              }
              return null;
            });
  }

  /**
   * @param message null for a conditional write; the frame to publish (or empty) for an unconditional one
   * @param deadline server time in µs after which nothing may be written; 0: none
   */
  private CompletableFuture<List<String>> writeBucket(
      String cache,
      int bucket,
      List<String> bucketKeys,
      Map<String, L2Write> writes,
      Duration ttl,
      byte[] message,
      long deadline) {
    String entryPrefix = keys.entryPrefix(cache, bucket);
    byte[][] scriptKeys = new byte[bucketKeys.size() + 1][];
    scriptKeys[0] = bytes(keys.clock(cache, bucket));
    List<byte[]> args = new ArrayList<>();
    args.add(bytes(keys.metaPrefix(cache, bucket)));
    args.add(horizon);
    args.add(maxTombstones);
    args.add(bytes(entryPrefix));
    args.add(bytes(Long.toString(cappedTtl(ttl))));
    args.add(message == null ? CONDITIONAL : FORCE);
    boolean publish = message != null && message.length > 0;
    args.add(publish ? bytes(keys.channel(cache)) : NONE);
    args.add(publish ? message : NONE);
    for (int i = 0; i < bucketKeys.size(); i++) {
      String key = bucketKeys.get(i);
      scriptKeys[i + 1] = bytes(entryPrefix + KeySpace.wellFormed(key, "key"));
      L2Write write = writes.get(key);
      args.add(bytes(Long.toString(write.version())));
      args.add(EntryFormat.body(write.entry()));
    }
    args.add(bytes(Long.toString(deadline)));
    args.add(scripts.seen.argument(cache, bucket));
    return scripts
        .<List<Long>>run(Scripts.WRITE, ScriptOutputType.MULTI, scriptKeys, args.toArray(byte[][]::new))
        .thenApply(
            reply -> {
              scripts.seen.observe(cache, bucket, reply.get(0));
              scripts.seen.observeTime(cache, bucket, reply.get(1));
              List<String> written = new ArrayList<>(reply.size() - 2);
              reply.subList(2, reply.size()).forEach(p -> written.add(bucketKeys.get(p.intValue() - 1)));
              return written;
            });
  }

  private long cappedTtl(Duration ttl) {
    return Math.max(1, Math.min(ttl.toMillis(), options.invalidationMemory().toMillis()));
  }
}
