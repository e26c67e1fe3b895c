package dev.tiercache.redis;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLongArray;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

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
 *
 * <p>A bucket seen at {@link #MAX_VERSION} is exhausted (see {@link LuaLib}): until an operator deletes its keys it
 * serves and writes nothing. Its figure then counts as none: the bucket's next legitimate state is the fresh one after
 * the deletion, whose clock starts again at the server's time, and a tier that passed the last version would take it
 * for a rollback and move the clock straight back to the end. The first version seen below it afterwards and not ahead
 * of the server's time replaces it (one ahead of it was handed out before the end: a late reply, see record).
 * So a tier does not catch a rollback of an exhausted bucket to an older snapshot (restoring one is not the way out
 * the README gives); one that saw the last versions before the end but never the end itself still does, and takes
 * the fresh clock for one (the README says what that costs).
 */
final class SeenVersions {

  private static final Logger LOG = LoggerFactory.getLogger(RedisTier.class);
  private static final byte[] NONE = "0".getBytes(StandardCharsets.US_ASCII);

  private final KeySpace keys;
  private final int buckets;
  private final ConcurrentHashMap<String, AtomicLongArray> byCache = new ConcurrentHashMap<>();
  /** Per cache and bucket: 1 once this tier warned that the bucket is exhausted, until its own scripts see it below. */
  private final ConcurrentHashMap<String, AtomicIntegerArray> warned = new ConcurrentHashMap<>();
  /** Per cache and bucket: server microseconds minus local microseconds, the largest seen; absent: none yet. */
  private final ConcurrentHashMap<String, AtomicLongArray> offsets = new ConcurrentHashMap<>();

  SeenVersions(KeySpace keys) {
    this.keys = keys;
    this.buckets = keys.buckets();
  }

  /** The script argument: the highest version seen in the bucket, in decimal ({@code 0}: none yet). */
  byte[] argument(String cache, int bucket) {
    long version = version(cache, bucket);
    return version == 0 ? NONE : Long.toString(version).getBytes(StandardCharsets.US_ASCII);
  }

  /** The highest version seen in the bucket; 0: none yet, or the bucket was seen exhausted. */
  long version(String cache, int bucket) {
    AtomicLongArray seen = byCache.get(cache);
    long version = seen == null ? 0 : seen.get(bucket);
    return version == MAX_VERSION ? 0 : Math.max(version, 0);
  }

  /**
   * The highest version a script can have taken: Lua numbers count integers exactly up to 2^53. Past it, the script
   * that gets the figure sets the clock to it rounded and writes it back with 17 digits, which every script then reads
   * as a corrupt clock (in the script that wrote it, re-seeding recursed until Lua's stack overflowed). Only a forged
   * announcement's stamp carries such a version (review 7).
   */
  static final long MAX_VERSION = (1L << 53) - 1;

  /**
   * Records a clock or version that a read of the bucket or a script there returned just now; the first time it finds
   * the bucket exhausted, warns (once, not per call: every call in the bucket meets it until the operator acts; again
   * only after one of its own reads or scripts found the bucket below the end, that is after the operator acted).
   */
  void observe(String cache, int bucket, long version) {
    record(cache, bucket, version);
    if (version > 0 && version < MAX_VERSION) {
      // The tier's own script found the bucket below the end (after an operator deleted its keys): a later end warns.
      // Not by a late reply from before the end (ahead of the server's time, see record).
      AtomicIntegerArray flags = warned.get(cache);
      if (flags != null && flags.get(bucket) != 0 && version <= serverNow(cache, bucket) + FRESH_SLACK_MICROS) {
        flags.set(bucket, 0);
      }
      return;
    }
    // Whether or not announcements told of the end before (hearsay never warns, and never re-arms the warning: a
    // forged frame could raise it, or repeat it, at will).
    if (version == MAX_VERSION
        && warned.computeIfAbsent(cache, c -> new AtomicIntegerArray(buckets)).compareAndSet(bucket, 0, 1)) {
      LOG.warn(
          "cache '{}': Redis bucket '{}' is exhausted: its version clock reached 2^53 - 1 and cannot tick any further."
              + " Every read of it misses and every write to it is dropped until an operator deletes its keys: the"
              + " entries, '{}*', then its state and clock, '{}' and the other keys the README names, in one UNLINK"
              + " (see the README, 'Exhausted buckets')",
          LogText.safe(cache),
          LogText.safe(keys.metaPrefix(cache, bucket)),
          LogText.safe(keys.entryPrefix(cache, bucket)),
          LogText.safe(keys.clock(cache, bucket)));
    }
  }

  /**
   * Above it, and below the end, an announced version is not recorded: {@code 2^44} versions (some 17 trillion
   * changes, or 203 days of the server's time) short of the end, far past any clock that follows the server's time.
   */
  static final long HEARSAY_LIMIT = MAX_VERSION - (1L << 44);

  /**
   * Records the version another instance's announcement carried. An exhausted bucket's announcements carry the last
   * version; hearsay of it is recorded as such (see the class comment) without a warning, which a forged frame could
   * otherwise raise. Hearsay of a version just short of the end is not recorded at all: the next script in the bucket
   * would take the clock for a rolled-back one and move it past that version, so that one frame (forged, replayed, or
   * from anything that may publish on the channel) would end a healthy bucket at once or within a few changes, for
   * every instance, until an operator deletes its keys. What the tier's own scripts return is recorded whatever it
   * is; an instance that only heard of a clock that close to the end does not catch a rollback of it (as it does not
   * catch one of an exhausted bucket).
   */
  void observeAnnounced(String cache, int bucket, long version) {
    if (version > HEARSAY_LIMIT && version < MAX_VERSION) {
      return;
    }
    record(cache, bucket, version);
  }

  /**
   * How far ahead of the server's time (as this tier knows it) a fresh clock may be: it starts at the server's time
   * and ticks once per change, so an hour covers 3.6 billion changes and any skew of this JVM's wall clock.
   */
  private static final long FRESH_SLACK_MICROS = 3_600_000_000L;

  /**
   * Records a version: above the one recorded, or below a recorded end when it may be the fresh clock after the
   * operator's deletion. Not a version ahead of the server's time: the fresh clock starts at it, and such a version is
   * one the bucket handed out before the end (a reply decoded after the bus told of the end, its command having run
   * before), which taken for the fresh clock would make the next script take the real one for a rollback and move it
   * back to the end.
   */
  private void record(String cache, int bucket, long version) {
    if (version <= 0 || version > MAX_VERSION) {
      return;
    }
    AtomicLongArray values = byCache.computeIfAbsent(cache, c -> fresh());
    while (true) {
      long current = values.get(bucket);
      boolean next =
          version > current
              || current == MAX_VERSION
                  && version < MAX_VERSION
                  && version <= serverNow(cache, bucket) + FRESH_SLACK_MICROS;
      if (!next || values.compareAndSet(bucket, current, version)) {
        return;
      }
    }
  }

  /** The server's time in the bucket's microseconds as replies told it, or this JVM's wall clock if none did yet. */
  private long serverNow(String cache, int bucket) {
    AtomicLongArray offset = offsets.get(cache);
    long known = offset == null ? Long.MIN_VALUE : offset.get(bucket);
    return known == Long.MIN_VALUE ? System.currentTimeMillis() * 1_000 : localMicros() + known;
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
