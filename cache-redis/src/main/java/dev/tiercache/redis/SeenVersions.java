package dev.tiercache.redis;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * The highest version this tier has seen in each bucket: every clock a read returned, every version a write or an
 * invalidation took, and every version another instance's announcement carried on the bus. A bucket's clock only moves forward, so when a script finds it below what a caller has
 * already seen, the bucket went back in time (a restore of an older snapshot, a restart from an old dump, a failover
 * to a lagging replica) and what it holds may predate invalidations that already returned: the script then raises
 * the bucket's floor, which turns every older entry into a miss and refuses every older load (see
 * {@link LuaLib#CORE}).
 *
 * <p>This catches a rollback as soon as any instance that used the bucket, or heard of a change there, runs a script
 * there. An instance that heard of nothing newer than the restored state cannot tell; if it alone writes first after
 * the rollback, its write moves the clock past what the others saw and they cannot tell either (the README says so).
 *
 * <p>Read and write replies also carry the server's time (not the clock: a clock is the time of the bucket's last
 * change, far behind the server's time in a bucket idle for a while, and ahead of it after the bucket's node changed
 * to one whose time is behind). The script ran before its reply arrived, so {@code server time - local time of
 * arrival} is at most the true offset between the server's time and this JVM's {@link System#nanoTime()}. The largest
 * such figure gives a deadline in server time that is never later than meant, for writes that must not land after
 * the cache stopped waiting for them, as long as the bucket stays on a server with the same time (a Cluster failover
 * to a node whose time is behind delays such a deadline by the difference).
 */
final class SeenVersions {

  private static final byte[] NONE = "0".getBytes(StandardCharsets.US_ASCII);

  private final int buckets;
  private final ConcurrentHashMap<String, AtomicLongArray> byCache = new ConcurrentHashMap<>();
  /** Per cache and bucket: server microseconds minus local microseconds, the largest seen; absent: none yet. */
  private final ConcurrentHashMap<String, AtomicLongArray> offsets = new ConcurrentHashMap<>();

  SeenVersions(int buckets) {
    this.buckets = buckets;
  }

  /** The script argument: the highest version seen in the bucket, in decimal ({@code 0}: none yet). */
  byte[] argument(String cache, int bucket) {
    long version = version(cache, bucket);
    return version == 0 ? NONE : Long.toString(version).getBytes(StandardCharsets.US_ASCII);
  }

  /** The highest version seen in the bucket; 0: none yet. */
  long version(String cache, int bucket) {
    AtomicLongArray seen = byCache.get(cache);
    long version = seen == null ? 0 : seen.get(bucket);
    return Math.max(version, 0);
  }

  /**
   * The highest version a script can have taken: Lua numbers count integers exactly up to 2^53. Past it, the script
   * that gets the figure sets the clock to it rounded and writes it back with 17 digits, which every script then reads
   * as a corrupt clock (in the script that wrote it, re-seeding recursed until Lua's stack overflowed). Only a forged
   * announcement's stamp carries such a version (review 7).
   */
  static final long MAX_VERSION = (1L << 53) - 1;

  /** Records a clock or version that a script of the bucket returned just now, or an announcement carried. */
  void observe(String cache, int bucket, long version) {
    if (version > 0 && version <= MAX_VERSION) {
      raise(byCache, cache, bucket, version);
    }
  }

  /** Records the server's time (µs) that a script of the bucket read, whose reply arrived just now. */
  void observeTime(String cache, int bucket, long serverMicros) {
    if (serverMicros > 0) {
      raise(offsets, cache, bucket, serverMicros - localMicros());
    }
  }

  /** This JVM's monotonic time in microseconds, the base of {@link #deadline}. */
  static long localMicros() {
    return System.nanoTime() / 1_000;
  }

  /**
   * The server time, in the bucket's microseconds, by which a command asked for at local time {@code since} (see
   * {@link #localMicros()}) must have taken effect to be within {@code micros} of it; 0 if no reply from the bucket
   * has told its server's time yet (no bound known).
   */
  long deadline(String cache, int bucket, long since, long micros) {
    AtomicLongArray offset = offsets.get(cache);
    long known = offset == null ? Long.MIN_VALUE : offset.get(bucket);
    return known == Long.MIN_VALUE ? 0 : Math.max(1, since + known + micros);
  }

  private void raise(ConcurrentHashMap<String, AtomicLongArray> map, String cache, int bucket, long value) {
    AtomicLongArray values = map.computeIfAbsent(cache, c -> fresh());
    long current = values.get(bucket);
    while (value > current && !values.compareAndSet(bucket, current, value)) {
      current = values.get(bucket);
    }
  }

  private AtomicLongArray fresh() {
    AtomicLongArray values = new AtomicLongArray(buckets);
    for (int i = 0; i < buckets; i++) {
      values.set(i, Long.MIN_VALUE);
    }
    return values;
  }
}
