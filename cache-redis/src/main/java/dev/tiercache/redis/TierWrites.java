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
  private static final byte[] ZERO = bytes("0");

  private final KeySpace keys;
  private final CacheKeyBytes keyBytes;
  private final RedisScripting scripts;
  private final RedisTierOptions options;
  private final byte[] horizon;
  private final byte[] maxTombstones;
  /** The decimal TTL of the last write, reused while callers pass the same one (they almost always do). */
  private volatile Ttl lastTtl = new Ttl(-1, NONE);

  private record Ttl(long millis, byte[] decimal) {}

  TierWrites(
      KeySpace keys, CacheKeyBytes keyBytes, RedisScripting scripts, RedisTierOptions options, Limits limits) {
    this.keys = keys;
    this.keyBytes = keyBytes;
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
    if (writes.size() == 1) {
      // A read-through's write: one bucket, no grouping and no joining of parts.
      Map.Entry<String, L2Write> only = writes.entrySet().iterator().next();
      String key = only.getKey();
      return writeOne(cache, keys.bucketOf(key), key, only.getValue(), ttl, null, 0, List.of(key), List.of());
    }
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
    CacheKeyBytes.Bucket names = keyBytes.of(cache)[bucket];
    return scripts
        .<List<Object>>run(
            Scripts.READ,
            ScriptOutputType.MULTI,
            new byte[][] {names.clock()},
            names.metaPrefix(),
            names.entryPrefix(),
            ZERO,
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
    return writeOne(cache, bucket, key, new L2Write(entry, 0), ttl, message, deadline, null, null);
  }

  /**
   * One key's write, its reply decoded in the stage that completes the call.
   *
   * @param written what to return when the key was written; null: an unconditional write, which returns null
   *     then and fails when the script refused it (past its deadline)
   * @param refused what to return when the conditional write was refused
   */
  private <T> CompletableFuture<T> writeOne(
      String cache,
      int bucket,
      String key,
      L2Write write,
      Duration ttl,
      byte[] message,
      long deadline,
      T written,
      T refused) {
    CacheKeyBytes.Bucket names = keyBytes.of(cache)[bucket];
    byte[][] scriptKeys = {names.clock(), CacheKeyBytes.concat(names.entryPrefix(), key)};
    byte[][] args = new byte[12][];
    header(args, cache, names, ttl, message);
    args[8] = bytes(Long.toString(write.version()));
    args[9] = EntryFormat.body(write.entry());
    args[10] = deadline == 0 ? ZERO : bytes(Long.toString(deadline));
    args[11] = scripts.seen.argument(cache, bucket);
    return scripts.<List<Long>, T>run(
        Scripts.WRITE,
        ScriptOutputType.MULTI,
        scriptKeys,
        reply -> {
          checkShape(reply, 1);
          observe(cache, bucket, reply);
          if (reply.size() > 2) {
            return written;
          }
          // An exhausted bucket drops every write; a forced one still unlinked its key and published its message, so
          // the put did what its caller relies on (no older value left anywhere) and is not reported failed.
          if (written == null && reply.get(0) != SeenVersions.MAX_VERSION) {
            throw new CompletionException(
                new TimeoutException("the write reached Redis after its deadline and was refused"));
          }
          return refused;
        },
        args);
  }

  /** The arguments every write script takes before its keys' (see {@link Scripts#WRITE}). */
  private void header(byte[][] args, String cache, CacheKeyBytes.Bucket names, Duration ttl, byte[] message) {
    args[0] = names.metaPrefix();
    args[1] = horizon;
    args[2] = maxTombstones;
    args[3] = names.entryPrefix();
    args[4] = ttlDecimal(ttl);
    args[5] = message == null ? CONDITIONAL : FORCE;
    boolean publish = message != null && message.length > 0;
    args[6] = publish ? keyBytes.channel(cache) : NONE;
    args[7] = publish ? message : NONE;
  }

  /**
   * Refuses a reply that is not the write script's answer for {@code keys} keys (clock, time, then the 1-based
   * positions written, increasing): a reply decoded twice into one output after Lettuce replayed the command (see
   * {@link RedisTier#warnIfReplaying}) must not report another key as written, or a refused one as landed.
   */
  static void checkShape(List<Long> reply, int keys) {
    boolean ok = reply.size() >= 2 && reply.size() <= 2 + keys;
    for (int i = 2; ok && i < reply.size(); i++) {
      long position = reply.get(i);
      ok = position >= 1 && position <= keys && (i == 2 || position > reply.get(i - 1));
    }
    if (!ok) {
      throw new IllegalStateException(
          "the write script answered " + reply.size() + " elements for " + keys + " keys: not its reply");
    }
  }

  private void observe(String cache, int bucket, List<Long> reply) {
    scripts.seen.observe(cache, bucket, reply.get(0));
    scripts.seen.observeTime(cache, bucket, reply.get(1));
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
    CacheKeyBytes.Bucket names = keyBytes.of(cache)[bucket];
    byte[][] scriptKeys = new byte[bucketKeys.size() + 1][];
    scriptKeys[0] = names.clock();
    byte[][] args = new byte[8 + 2 * bucketKeys.size() + 2][];
    header(args, cache, names, ttl, message);
    int at = 8;
    for (int i = 0; i < bucketKeys.size(); i++) {
      String key = bucketKeys.get(i);
      scriptKeys[i + 1] = CacheKeyBytes.concat(names.entryPrefix(), key);
      L2Write write = writes.get(key);
      args[at++] = bytes(Long.toString(write.version()));
      args[at++] = EntryFormat.body(write.entry());
    }
    args[at++] = bytes(Long.toString(deadline));
    args[at] = scripts.seen.argument(cache, bucket);
    return scripts.<List<Long>, List<String>>run(
        Scripts.WRITE,
        ScriptOutputType.MULTI,
        scriptKeys,
        reply -> {
          checkShape(reply, bucketKeys.size());
          observe(cache, bucket, reply);
          List<String> written = new ArrayList<>(reply.size() - 2);
          reply.subList(2, reply.size()).forEach(p -> written.add(bucketKeys.get(p.intValue() - 1)));
          return written;
        },
        args);
  }

  private byte[] ttlDecimal(Duration ttl) {
    long millis = Math.max(1, Math.min(ttl.toMillis(), options.invalidationMemory().toMillis()));
    Ttl last = lastTtl;
    if (last.millis() != millis) {
      last = new Ttl(millis, bytes(Long.toString(millis)));
      lastTtl = last;
    }
    return last.decimal();
  }
}
