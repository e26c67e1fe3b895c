package dev.tiercache;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Ticker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The in-process tier: a Caffeine cache keyed by encoded key, and the only code that installs into it, so that every
 * install passes the {@link InvalidationLog}'s check.
 *
 * <p>What Caffeine holds for a key is an {@link L1Entry}, or, for a value that needs none of an entry's fields, the
 * value itself (a raw value): one with no tags and no times but the L1's TTL, which Caffeine judges for it
 * ({@link #rawExpiry}), in a cache where no invalidation that may cover many keys had begun when it was installed.
 * A raw value stands for an entry checked through 0 ({@link L1Entry#checkedThrough}), so a read once such an
 * invalidation has begun checks it against all of them and then wraps it. Every hit and every put of a plain cache
 * then skips an object: the load of the entry on a hit, its allocation on a put. A user's value
 * is never an {@link L1Entry} (the class is not public), so the two are told apart by type. What a read returns (a
 * hit) is either; {@link L1Entry#value(Object)}, {@link L1Entry#isAbsent(Object)} and {@link L1Entry#tags(Object)}
 * read both.
 */
final class L1Tier<V> {

  private final Cache<String, Object> cache;
  private final ConcurrentMap<String, Object> map;
  /** {@link #applyLocalWrite}, made once so that a put allocates nothing for it. */
  private final InvalidationLog.LocalWrite<V> writeLocal;
  private final InvalidationLog log;
  private final CacheMetrics metrics;
  private final Ticker ticker;
  private final long negativeTtlNanos;
  private final long ttlNanos;
  private final long maxStalenessNanos;
  private final long throttleNanos;
  private final double refreshFraction;
  private final double xfetchBeta;
  /** Whether any entry may refresh ahead: without, a read-through hit reads no refresh time from its entry. */
  private final boolean refreshes;
  /** Invalidations whose sweep has not run yet; one pass serves up to {@link #MAX_SWEEP_BATCH} of them. */
  private final Queue<InvalidationLog.Entry> sweepQueue = new ConcurrentLinkedQueue<>();
  private final AtomicBoolean sweepScheduled = new AtomicBoolean();
  private static final int MAX_SWEEP_BATCH = 256;
  /** Whether the ticker is {@link System#nanoTime()}, so a reading a caller made can stand for its own. */
  private final boolean systemClock;
  /** Caffeine's clock when the cache judges value expiry itself ({@link CoarseTicker}), else null. */
  private final CoarseTicker coarse;
  /**
   * Whether values with no tags may be kept raw: nothing in this cache gives an entry times but a TTL, which Caffeine
   * then judges for them ({@link #rawExpiry}).
   */
  private final boolean rawValues;
  /**
   * Whether raw values have a TTL, which Caffeine judges on its own clock: exactly with a user's ticker, and on the
   * system clock by the {@link CoarseTicker} that every read brings to within its granularity first, so a raw value is
   * served at most that granularity (1 ms) past its TTL. An entry (tags, an absence, or a raw value wrapped once an
   * invalidation of many keys began) is judged by its own expiry, exactly. Without it a hit on a value with a TTL
   * would load an entry object and compare its expiry, a third of such a hit's cost (benchmarks, suite 1).
   */
  private final boolean rawExpiry;
  /** Whether a read brings the coarse clock up to date before Caffeine's look-up: raw values with a TTL on it. */
  private final boolean advanceFirst;
  /**
   * Whether Caffeine's upkeep after one removal is bounded by its buffers (review 13): bounded by entry count, with no
   * expiry, each pending write evicts at most one entry. With a TTL the upkeep expires every entry past it, however
   * many, and with a weight one write may evict any number: then a delivered removal does not run it inline.
   */
  private final boolean upkeepBounded;
  /**
   * Whether a put or a local removal runs Caffeine's upkeep on the caller's thread: with an L2, each waits for a Redis
   * round trip anyway, and a drain of the few writes buffered since the last is cheaper than waking a pool thread for
   * every write (about a tenth of a writing thread's CPU under suite 4's mixed load, and one more runnable thread on a
   * two-core machine). Only while the upkeep is bounded, as for a delivered removal. An L1-only cache keeps the pool:
   * there a write costs far less than a drain, and Caffeine batches many writes into one.
   */
  private final boolean writerUpkeep;
  /** The user's weigher, or null when the L1 is bounded by size; called before an install, never inside one. */
  private final java.util.function.ToIntBiFunction<String, Object> weigher;
  /**
   * Whether the L1 keeps anything: with {@code maximumSize(0)} an install would only insert an entry for Caffeine to
   * evict at once (counted as an eviction), so nothing is installed.
   */
  private final boolean keeps;
  /** Whether any entry can expire by the L1's own clock, so installs must read the ticker. */
  private final boolean timed;
  /** Whether a hit on a value must read the ticker (fail-safe keeps values past their TTL). */
  private final boolean checkValues;
  /** Whether a hit on a cached absence must read the ticker (absences may expire before values). */
  private final boolean checkAbsences;

  L1Tier(TieredCacheBuilder<?, ?> settings, InvalidationLog log, CacheMetrics metrics) {
    this.log = log;
    this.metrics = metrics;
    this.ticker = settings.ticker;
    this.negativeTtlNanos = settings.negativeTtl == null ? 0 : settings.negativeTtl.toNanos();
    this.ttlNanos = settings.l1.expireAfterWrite == null ? 0 : settings.l1.expireAfterWrite.toNanos();
    this.maxStalenessNanos = settings.failSafe == null ? 0 : settings.failSafe.toNanos();
    this.throttleNanos = settings.failSafeThrottle.toNanos();
    this.refreshFraction = settings.refreshAhead;
    this.xfetchBeta = settings.xfetchBeta;
    this.refreshes = refreshFraction > 0 || xfetchBeta > 0;
    this.timed = negativeTtlNanos > 0 || ttlNanos > 0;
    this.weigher = settings.l1.maximumWeight >= 0 ? settings.l1.weigher : null;
    this.keeps = !settings.l1.keepsNothing();
    this.upkeepBounded = settings.l1.expireAfterWrite == null && settings.l1.expireAfterAccess == null
        && settings.l1.maximumWeight < 0;
    this.writerUpkeep = upkeepBounded && settings.l2 != null;
    // A raw value has no field for its weight, which must be taken before the install (see L1Entry#weight). With
    // access expiry as well as a TTL, Caffeine's clock is not coarse, and entries keep the TTL.
    this.rawValues = maxStalenessNanos == 0 && !refreshes && weigher == null
        && (ttlNanos == 0 || settings.l1.expireAfterAccess == null);
    this.rawExpiry = rawValues && ttlNanos > 0;
    this.systemClock = settings.ticker == Ticker.systemTicker();
    // On the system clock, Caffeine reads a coarse copy of the readings the cache makes anyway, and the cache judges
    // expiry itself: a hit that reads the clock for the delivery proof then reads it once, not twice. Access expiry
    // stays with Caffeine's own clock, which it must read on every access to be exact.
    this.coarse = systemClock && ttlNanos > 0 && settings.l1.expireAfterAccess == null ? new CoarseTicker() : null;
    // Otherwise Caffeine expires values at the TTL itself (one ticker read inside getIfPresent), so a hit reads the
    // ticker a second time only for what Caffeine cannot tell: a cached absence with a shorter negative TTL, or, with
    // fail-safe, a value Caffeine keeps past its TTL, or a raw value's entry, whose wrapping restarted Caffeine's TTL.
    this.checkValues = ttlNanos > 0 && (maxStalenessNanos > 0 || coarse != null || rawExpiry);
    this.checkAbsences = negativeTtlNanos > 0;
    this.advanceFirst = rawExpiry && coarse != null;
    this.cache = L1Tier.caffeine(settings.l1, settings.failSafe, settings.ticker, coarse, rawExpiry, metrics).build();
    this.map = cache.asMap();
    this.writeLocal = this::applyLocalWrite;
    metrics.bindL1Size(cache::estimatedSize);
  }

  @SuppressWarnings("unchecked")
  private static Caffeine<String, Object> caffeine(
      L1Settings l1, Duration failSafe, Ticker ticker, CoarseTicker coarse, boolean rawExpiry, CacheMetrics metrics) {
    Caffeine<String, Object> builder =
        (Caffeine<String, Object>) (Caffeine<?, ?>)
            Caffeine.newBuilder().ticker(coarse != null ? coarse : ticker).executor(L1Upkeep.EXECUTOR);
    if (l1.expireAfterWrite != null) {
      // Fail-safe keeps expired entries at hand for a while, and a coarse clock must never make Caffeine drop one
      // early; freshness is then judged by L1Entry#expiresAt. Raw values are Caffeine's to expire, at the TTL.
      Duration kept = failSafe == null ? l1.expireAfterWrite : l1.expireAfterWrite.plus(failSafe);
      builder.expireAfterWrite(coarse == null || rawExpiry ? kept : kept.plusNanos(CoarseTicker.SLACK_NANOS));
    }
    if (l1.expireAfterAccess != null) {
      builder.expireAfterAccess(l1.expireAfterAccess);
    }
    if (l1.maximumWeight >= 0) {
      builder
          .maximumWeight(l1.maximumWeight)
          // The weight was taken before the install (L1Entry#weight): Caffeine calls this under its map's lock.
          .weigher((String key, Object stored) -> stored instanceof L1Entry<?> entry ? entry.weight : 1);
    } else {
      builder.maximumSize(l1.maximumSize >= 0 ? l1.maximumSize : L1Settings.DEFAULT_MAXIMUM_SIZE);
    }
    return builder.evictionListener((key, entry, cause) -> metrics.eviction());
  }

  /**
   * Returns the fresh hit for a key (an entry or a raw value), or null. An entry that an invalidation covers is
   * removed; an entry past its expiry (a cached absence past the negative TTL, or a value fail-safe keeps) is a miss.
   *
   * @param read whether {@code nanoTime} is a reading of {@link System#nanoTime()} the caller has just made: on the
   *     system clock, expiry is then judged from it instead of a second reading
   */
  Object get(String key, boolean read, long nanoTime) {
    if (advanceFirst) {
      // Caffeine judges raw values on the coarse clock: brought up to now first, it is at most its granularity late.
      coarse.advance(read ? nanoTime : ticker.read());
    }
    Object found = cache.getIfPresent(key);
    if (found != null && !(found instanceof L1Entry)) {
      found = currentRaw(key, found);
      count(found);
      return found;
    }
    @SuppressWarnings("unchecked")
    L1Entry<V> entry = (L1Entry<V>) found;
    if (entry != null && !current(key, entry)) {
      entry = null;
    }
    if (entry != null && (entry.isAbsent() ? checkAbsences : checkValues)) {
      long at = read && systemClock ? nanoTime : ticker.read();
      if (coarse != null) {
        coarse.advance(at);
      }
      if (!entry.isFresh(at)) {
        entry = null;
      }
    }
    count(entry);
    return entry;
  }

  private void count(Object hit) {
    if (hit == null) {
      metrics.miss(CacheMetrics.Tier.L1);
    } else {
      metrics.hit(CacheMetrics.Tier.L1);
    }
  }

  /**
   * A raw value if no invalidation covers it, else null (and it is removed). Usually none has begun in this cache:
   * one volatile read. Else it is checked against all of them, as an entry checked through 0 is, and replaced by an
   * entry checked through what the check saw, so that later reads cost one volatile read again.
   */
  private Object currentRaw(String key, Object raw) {
    long latest = log.latest();
    // The rest in its own method: a hit inlines only this test, whatever the check and the wrapping grow to.
    return latest == 0 ? raw : checkedRaw(key, raw, latest);
  }

  /** {@link #currentRaw} once an invalidation that may cover many keys has begun, {@code latest} the newest. */
  private Object checkedRaw(String key, Object raw, long latest) {
    if (log.coveredSince(key, Tags.empty(), 0)) {
      removeIfSame(key, raw);
      return null;
    }
    // Stamp 0, as old as it can be: a sweep may then remove it for what covers it, which reads would too.
    long expiresAt = L1Entry.NEVER;
    if (rawExpiry) {
      // Replacing the value restarts Caffeine's TTL: the entry keeps the raw value's expiry.
      OptionalLong expiry = rawExpiresAt(key);
      if (expiry.isEmpty()) {
        // Gone since the read (expired or removed): served as read, and nothing to wrap.
        return raw;
      }
      expiresAt = expiry.getAsLong();
    }
    L1Entry<V> entry = L1Entry.of(L1Entry.value(raw), Tags.empty(), 0, expiresAt, L1Entry.NEVER, 0);
    entry.checkedThrough(latest);
    // Only this very value: Caffeine's replace compares with equals, and a value written since that a lenient equals
    // calls equal would be overwritten with this older one.
    map.computeIfPresent(key, (k, stored) -> stored == raw ? entry : untouched(k, stored));
    return raw;
  }

  /**
   * What a compute that leaves a key's value in place returns for it. Caffeine restarts the TTL of whatever a compute
   * returns, even the same object (when the value is more than Caffeine's tolerance of 1 s old, and always with a TTL
   * of at most 1 s): an entry does not mind (its own expiry is judged, {@link #checkValues}), but a raw value, which
   * an install that read {@link InvalidationLog#latest()} before the first invalidation of many keys began can still
   * put after a read found another one, would then be served a TTL past its own. Such a value goes back as an entry
   * that keeps its expiry (read from Caffeine's age of it, under the key's lock), checked through 0 as the raw value
   * stood for; one that expired goes.
   */
  private Object untouched(String key, Object stored) {
    if (!rawExpiry || stored instanceof L1Entry) {
      return stored;
    }
    OptionalLong expiry = rawExpiresAt(key);
    return expiry.isEmpty()
        ? null
        : L1Entry.of(L1Entry.value(stored), Tags.empty(), 0, expiry.getAsLong(), L1Entry.NEVER, 0);
  }

  /**
   * When the raw value a key holds expires, on the clock Caffeine judges it by; empty if it is gone. The clock is read
   * before the value's age, so that a clock that moves in between makes the expiry earlier, never later.
   */
  private OptionalLong rawExpiresAt(String key) {
    long now = coarse != null ? coarse.read() : ticker.read();
    OptionalLong age = cache.policy().expireAfterWrite().orElseThrow().ageOf(key, TimeUnit.NANOSECONDS);
    return age.isEmpty() ? age : OptionalLong.of(now - age.getAsLong() + ttlNanos);
  }

  /**
   * Whether no invalidation begun since the entry was last checked covers it; a covered entry is removed. Usually
   * nothing began since, and this is one volatile read.
   */
  private boolean current(String key, L1Entry<V> entry) {
    long latest = log.latest();
    long checked = entry.checkedThrough();
    if (checked == latest) {
      return true;
    }
    if (log.coveredSince(key, entry.tags, checked)) {
      map.remove(key, entry);
      return false;
    }
    entry.checkedThrough(latest);
    return true;
  }

  /**
   * Returns an expired value that fail-safe may still serve because its loader failed: not invalidated, and expired
   * less than the maximum staleness ago. Null if there is none or fail-safe is off.
   */
  @SuppressWarnings("unchecked")
  L1Entry<V> stale(String key) {
    if (maxStalenessNanos == 0 || !(cache.getIfPresent(key) instanceof L1Entry<?> found)) {
      return null;
    }
    L1Entry<V> entry = (L1Entry<V>) found;
    if (entry.isAbsent()
        || !current(key, entry)
        || ticker.read() - entry.staleSince() > maxStalenessNanos) {
      return null;
    }
    return entry;
  }

  /**
   * Serves a stale entry again for the throttle period, so that a failing loader is not called on every read. Keeps
   * the entry's stamp: an invalidation since then refuses it as it would any install.
   */
  void keepServing(String key, L1Entry<V> stale) {
    long now = ticker.read();
    // Keeps the first expiry: serving again must not push the fail-safe window forward.
    L1Entry<V> again =
        L1Entry.of(
            stale.value, stale.tags, stale.stamp, now + throttleNanos, L1Entry.NEVER, stale.loadNanos(),
            stale.staleSince());
    again.weight = stale.weight;
    log.installIfCurrent(key, stale.tags, stale.stamp, checkedThrough -> {
      again.checkedThrough(checkedThrough);
      map.replace(key, stale, again);
    });
  }

  /**
   * Whether a read of a fresh entry should reload it in the background: past the refresh point, or, with XFetch,
   * earlier with a probability that grows as expiry nears and with the time the entry took to load.
   */
  boolean wantsRefresh(Object hit) {
    if (!refreshes || !(hit instanceof L1Entry<?> entry) || (entry.refreshAt() == L1Entry.NEVER && xfetchBeta == 0)) {
      return false;
    }
    long now = ticker.read();
    if (now - entry.refreshAt() >= 0) {
      return true;
    }
    if (xfetchBeta > 0 && entry.expiresAt() != L1Entry.NEVER) {
      double early = entry.loadNanos() * xfetchBeta * -Math.log(ThreadLocalRandom.current().nextDouble());
      return now + (long) early - entry.expiresAt() >= 0;
    }
    return false;
  }

  /**
   * Installs a value read or loaded by an operation that took {@code stamp} before it read anything, unless an
   * invalidation overtook it or the L1 keeps nothing ({@code maximumSize(0)}).
   *
   * @return whether it installed
   */
  boolean install(String key, V value, Tags tags, long stamp) {
    return install(key, value, tags, stamp, 0, weigh(key, value));
  }

  /**
   * As {@link #install(String, Object, Tags, long)}, with the weight {@link #weigh} gave and how long the load took
   * (for XFetch). A load weighs before it opens the scope in which it installs and completes its flight
   * ({@code Loads.finishAhead}): the weigher is user code, and a {@code getAsync} it waited on inside that scope would
   * complete only when the scope closes.
   */
  boolean install(String key, V value, Tags tags, long stamp, long loadNanos, int weight) {
    return keeps && install(key, value, tags, stamp, loadNanos, true, weight);
  }

  /**
   * Installs what a put wrote (stamped at the write's end); Caffeine's upkeep then runs on the caller's thread, once
   * the key's stripe is released, with an L2 ({@link #writerUpkeep}), else off it.
   */
  boolean installWritten(String key, V value, Tags tags, long stamp) {
    return keeps && install(key, value, tags, stamp, 0, writerUpkeep, weigh(key, value));
  }

  /**
   * Writes what a put wrote when it has nothing to propagate (no L2, no bus): the write's invalidation and the install
   * are one step of the log ({@link InvalidationLog#writeLocally}). Caffeine's upkeep runs off the caller's thread.
   *
   * @param detach detaches the key's load in flight ({@link InvalidationLog#writeLocally})
   * @return whether it installed (never in an L1 that keeps nothing); if not, the key's entry was removed
   */
  boolean writeLocally(String key, V value, Tags tags, Consumer<String> detach) {
    boolean current = log.writeLocally(key, tags, value, writeLocal, detach);
    if (!keeps) {
      // Nothing to install, so nothing installed or refused: counted as neither, as for an install.
      return false;
    }
    if (current) {
      metrics.put(CacheMetrics.Tier.L1);
    } else {
      metrics.staleWriteRefused(CacheMetrics.Tier.L1);
    }
    return current;
  }

  /** Installs what {@link #writeLocally} wrote, or removes the key's entry if the log refused it. */
  private void applyLocalWrite(String key, V value, Tags tags, long stamp, long checkedThrough, boolean current) {
    if (current) {
      if (!keeps) {
        return;
      }
      // Weighed under the stripe: a local write is an L1-only cache's, with no bus whose event loop could wait on it.
      put(key, stored(value, tags, stamp, 0, checkedThrough, weigh(key, value)));
    } else {
      map.remove(key);
    }
  }

  private L1Entry<V> entry(V value, Tags tags, long stamp, long loadNanos) {
    long now = timed ? ticker.read() : 0;
    if (coarse != null) {
      // Before Caffeine stamps the write with the coarse clock: it is then at most its granularity behind this.
      coarse.advance(now);
    }
    long expiresAt =
        value == null && negativeTtlNanos > 0
            ? now + (ttlNanos > 0 ? Math.min(ttlNanos, negativeTtlNanos) : negativeTtlNanos)
            : ttlNanos > 0 ? now + ttlNanos : L1Entry.NEVER;
    long refreshAt =
        refreshFraction > 0 && value != null && ttlNanos > 0
            ? now + (long) (ttlNanos * refreshFraction)
            : L1Entry.NEVER;
    // The load's duration only matters to XFetch; kept without it, it would make every loaded entry a timed one.
    return L1Entry.of(value, tags, stamp, expiresAt, refreshAt, xfetchBeta > 0 ? loadNanos : 0);
  }

  /**
   * Installs with {@code weight} taken before (by the caller, before the install takes the key's stripe: the weigher
   * is user code, and another instance's invalidation of the key waits for that stripe on Lettuce's event loop,
   * review 7).
   */
  private boolean install(String key, V value, Tags tags, long stamp, long loadNanos, boolean fill, int weight) {
    InvalidationLog.Install install = checkedThrough -> {
      // The check covered every invalidation begun through checkedThrough; reads check the entry against later ones.
      put(key, stored(value, tags, stamp, loadNanos, checkedThrough, weight));
    };
    // A fill's upkeep runs on this thread after the key's stripe is released (L1Upkeep.fillAfterLock).
    if (fill
        ? L1Upkeep.fillAfterLock(() -> log.installIfCurrent(key, tags, stamp, install))
        : log.installIfCurrent(key, tags, stamp, install)) {
      metrics.put(CacheMetrics.Tier.L1);
      return true;
    }
    metrics.staleWriteRefused(CacheMetrics.Tier.L1);
    return false;
  }

  /**
   * Puts what Caffeine keeps for a key; called under the key's stripe of the log, so installs of a key do not
   * interleave. Caffeine gives a new value the key's node, and restarts the node's write time; a read that took the
   * old value from that node just before then judges it by the new write time, and hands back a value that had
   * expired before the read began. An entry is judged by its own expiry as well and escapes this, a raw value with a
   * TTL does not: its node goes first, so that such a read judges it by its own write time. An expired node is one
   * {@code computeIfPresent} does not see (it leaves it to Caffeine's upkeep, which a fill now runs only after the
   * stripe), so it is removed by {@code remove}, which does.
   */
  private void put(String key, Object stored) {
    if (rawExpiry && map.computeIfPresent(key, (k, old) -> old instanceof L1Entry ? old : null) == null) {
      map.remove(key);
    }
    map.put(key, stored);
  }

  /**
   * What Caffeine keeps for an install whose check covered every invalidation begun through {@code checkedThrough}:
   * the value itself when it needs no entry (see the class comment), else an entry.
   */
  private Object stored(V value, Tags tags, long stamp, long loadNanos, long checkedThrough, int weight) {
    if (rawValues && checkedThrough == 0 && value != null && tags.isEmpty()) {
      if (rawExpiry && coarse != null) {
        // Before Caffeine stamps the write with the coarse clock, as for an entry (see #entry).
        coarse.advance(ticker.read());
      }
      return value;
    }
    L1Entry<V> entry = entry(value, tags, stamp, loadNanos);
    entry.weight = weight;
    entry.checkedThrough(checkedThrough);
    return entry;
  }

  /** The user's weight of a value (1 without a weigher, or for an absence): user code, called outside every lock. */
  int weigh(String key, V value) {
    return weigher == null || value == null || !keeps ? 1 : weigher.applyAsInt(key, value);
  }

  /**
   * Removes what the L1 holds for a key if it is still {@code stored}. Caffeine's remove(key, value) asks
   * {@code value.equals} about whatever the key holds now: for an entry that is identity, but a raw value's equals is
   * the user's, which may throw (a cast) or call a value written since equal and remove it.
   */
  private void removeIfSame(String key, Object stored) {
    if (stored instanceof L1Entry) {
      map.remove(key, stored);
    } else {
      map.computeIfPresent(key, (k, now) -> now == stored ? null : untouched(k, now));
    }
  }

  /**
   * Removes one key at once; called while the log excludes installs of that key. Caffeine's upkeep runs on this thread
   * with an L2 ({@link #writerUpkeep}), else off it.
   */
  void remove(String key) {
    if (writerUpkeep) {
      L1Upkeep.fill(() -> map.remove(key));
    } else {
      map.remove(key);
    }
  }

  /**
   * As {@link #remove}, for an invalidation another instance made, on the thread that delivers it (with Redis, the
   * Pub/Sub connection's event loop): Caffeine's upkeep runs here, as after a fill, instead of waking a pool thread
   * for every delivered key (benchmarks, suite 5). The upkeep runs no user code (the eviction listener counts). Only
   * while that upkeep is bounded ({@link #upkeepBounded}): with a TTL it would expire a whole backlog on the
   * delivering thread, under the key's stripe, while later messages and heartbeat echoes wait behind it (review 13,
   * DeliveredInvalidationExpiryStallTest); then it goes to the pool as a local removal's does.
   */
  void removeDelivered(String key) {
    if (upkeepBounded) {
      L1Upkeep.fill(() -> map.remove(key));
    } else {
      map.remove(key);
    }
  }

  /**
   * Removes, in the background, the entries an invalidation covers, to free their memory. Reads never depend on it:
   * they check entries against the log themselves. Sweeps run on the library's own small pool, never the cache's
   * executor, and invalidations that arrive while one waits share its single pass over the L1.
   */
  void sweep(InvalidationLog.Entry invalidation) {
    sweepQueue.add(invalidation);
    if (sweepScheduled.compareAndSet(false, true)) {
      try {
        Background.SWEEPS.execute(this::sweepQueued);
      } catch (RejectedExecutionException e) {
        sweepQueued();
      }
    }
  }

  private void sweepQueued() {
    sweepScheduled.set(false);
    List<InvalidationLog.Entry> batch = new ArrayList<>();
    for (InvalidationLog.Entry next; batch.size() < MAX_SWEEP_BATCH && (next = sweepQueue.poll()) != null; ) {
      batch.add(next);
    }
    if (batch.isEmpty()) {
      return;
    }
    for (Map.Entry<String, Object> e : map.entrySet()) {
      Object stored = e.getValue();
      // A raw value was installed before any such invalidation began, or while one did: as old as stamp 0.
      long stamp = stored instanceof L1Entry<?> entry ? entry.stamp : 0;
      for (InvalidationLog.Entry invalidation : batch) {
        if (stamp < invalidation.start && invalidation.covers(e.getKey(), L1Entry.tags(stored))) {
          removeIfSame(e.getKey(), stored);
          break;
        }
      }
    }
    if (!sweepQueue.isEmpty() && sweepScheduled.compareAndSet(false, true)) {
      Background.SWEEPS.execute(this::sweepQueued);
    }
  }

  long estimatedSize() {
    return cache.estimatedSize();
  }

  void clear() {
    cache.invalidateAll();
  }
}
