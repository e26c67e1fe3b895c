package dev.tiercache;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Ticker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.Executor;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The in-process tier: a Caffeine cache of {@link L1Entry}s keyed by encoded key, and the only code that installs
 * into it, so that every install passes the {@link InvalidationLog}'s check.
 */
final class L1Tier<V> {

  private final Cache<String, L1Entry<V>> cache;
  private final ConcurrentMap<String, L1Entry<V>> map;
  private final InvalidationLog log;
  private final CacheMetrics metrics;
  private final Ticker ticker;
  private final long negativeTtlNanos;
  private final long ttlNanos;
  private final long maxStalenessNanos;
  private final long throttleNanos;
  private final double refreshFraction;
  private final double xfetchBeta;
  /** The user's weigher, or null when the L1 is bounded by size; called before an install, never inside one. */
  private final java.util.function.ToIntBiFunction<String, Object> weigher;
  /** Invalidations whose sweep has not run yet; one pass serves up to {@link #MAX_SWEEP_BATCH} of them. */
  private final Queue<InvalidationLog.Entry> sweepQueue = new ConcurrentLinkedQueue<>();
  private final AtomicBoolean sweepScheduled = new AtomicBoolean();
  private static final int MAX_SWEEP_BATCH = 256;
  /** Whether any entry can expire by the L1's own clock, so installs must read the ticker. */
  private final boolean timed;
  /** Whether a hit on a value must read the ticker (fail-safe keeps values past their TTL). */
  private final boolean checkValues;
  /** Whether a hit on a cached absence must read the ticker (absences may expire before values). */
  private final boolean checkAbsences;

  /** Whether the current thread is inside an L1 fill by a read (see {@link #UPKEEP}). */
  private static final ThreadLocal<boolean[]> WRITING = ThreadLocal.withInitial(() -> new boolean[1]);

  /**
   * Where Caffeine's upkeep (draining its read and write buffers, eviction) runs. After an L1 fill by a read it runs
   * on the reading thread: handing it to a pool woke a thread on every fill, about 15 us of an L2 hit on two cores
   * (benchmarks, suite 2). Otherwise (a hit whose read buffer filled up, a put, a removal) it runs on the library's
   * common pool, Caffeine's own default: inline, hits and puts paid for draining everyone's buffers, one drain per
   * write where Caffeine batches many. The task is short, and when it is late Caffeine drops read-buffer entries and
   * has writers drain a full write buffer themselves, so a busy pool costs recency information, never correctness.
   */
  private static final Executor UPKEEP =
      task -> {
        if (WRITING.get()[0]) {
          task.run();
          return;
        }
        try {
          ForkJoinPool.commonPool().execute(task);
        } catch (RejectedExecutionException e) {
          task.run();
        }
      };

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
    this.weigher = settings.l1.maximumWeight >= 0 ? settings.l1.weigher : null;
    this.timed = negativeTtlNanos > 0 || ttlNanos > 0;
    // Without fail-safe, Caffeine expires values at the TTL itself (one ticker read inside getIfPresent), so a hit
    // reads the ticker a second time only for what Caffeine cannot tell: a cached absence with a shorter negative TTL,
    // or, with fail-safe, a value Caffeine keeps past its TTL.
    this.checkValues = ttlNanos > 0 && maxStalenessNanos > 0;
    this.checkAbsences = negativeTtlNanos > 0;
    this.cache =
        L1Tier.<V>caffeine(settings.l1, settings.failSafe, settings.ticker, metrics).build();
    this.map = cache.asMap();
    metrics.bindL1Size(cache::estimatedSize);
  }

  @SuppressWarnings("unchecked")
  private static <V> Caffeine<String, L1Entry<V>> caffeine(
      L1Settings l1, Duration failSafe, Ticker ticker, CacheMetrics metrics) {
    Caffeine<String, L1Entry<V>> builder =
        (Caffeine<String, L1Entry<V>>) (Caffeine<?, ?>) Caffeine.newBuilder().ticker(ticker).executor(UPKEEP);
    if (l1.expireAfterWrite != null) {
      // Fail-safe keeps expired entries at hand for a while; freshness is then judged by L1Entry#expiresAt.
      builder.expireAfterWrite(failSafe == null ? l1.expireAfterWrite : l1.expireAfterWrite.plus(failSafe));
    }
    if (l1.expireAfterAccess != null) {
      builder.expireAfterAccess(l1.expireAfterAccess);
    }
    if (l1.maximumWeight >= 0) {
      builder
          .maximumWeight(l1.maximumWeight)
          // The weight was taken before the install (L1Entry#weight): Caffeine calls this under its map's lock.
          .weigher((String key, L1Entry<V> entry) -> entry.weight);
    } else {
      builder.maximumSize(l1.maximumSize >= 0 ? l1.maximumSize : L1Settings.DEFAULT_MAXIMUM_SIZE);
    }
    return builder.evictionListener((key, entry, cause) -> metrics.eviction());
  }

  /**
   * Returns the fresh entry for a key, or null. An entry that an invalidation covers is removed; an entry past its
   * expiry (a cached absence past the negative TTL, or a value fail-safe keeps) is a miss.
   */
  L1Entry<V> get(String key) {
    L1Entry<V> entry = cache.getIfPresent(key);
    if (entry != null && !current(key, entry)) {
      entry = null;
    }
    if (entry != null
        && (entry.isAbsent() ? checkAbsences : checkValues)
        && !entry.isFresh(ticker.read())) {
      entry = null;
    }
    if (entry == null) {
      metrics.miss(CacheMetrics.Tier.L1);
    } else {
      metrics.hit(CacheMetrics.Tier.L1);
    }
    return entry;
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
  L1Entry<V> stale(String key) {
    if (maxStalenessNanos == 0) {
      return null;
    }
    L1Entry<V> entry = cache.getIfPresent(key);
    if (entry == null
        || entry.isAbsent()
        || !current(key, entry)
        || ticker.read() - entry.staleSince > maxStalenessNanos) {
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
        new L1Entry<>(
            stale.value, stale.tags, stale.stamp, now + throttleNanos, L1Entry.NEVER, stale.loadNanos,
            stale.staleSince, stale.weight);
    log.installIfCurrent(key, stale.tags, stale.stamp, checkedThrough -> {
      again.checkedThrough(checkedThrough);
      map.replace(key, stale, again);
    });
  }

  /**
   * Whether a read of a fresh entry should reload it in the background: past the refresh point, or, with XFetch,
   * earlier with a probability that grows as expiry nears and with the time the entry took to load.
   */
  boolean wantsRefresh(L1Entry<V> entry) {
    if (entry.refreshAt == L1Entry.NEVER && xfetchBeta == 0) {
      return false;
    }
    long now = ticker.read();
    if (now - entry.refreshAt >= 0) {
      return true;
    }
    if (xfetchBeta > 0 && entry.expiresAt != L1Entry.NEVER) {
      double early = entry.loadNanos * xfetchBeta * -Math.log(ThreadLocalRandom.current().nextDouble());
      return now + (long) early - entry.expiresAt >= 0;
    }
    return false;
  }

  /**
   * Installs a value read or loaded by an operation that took {@code stamp} before it read anything, unless an
   * invalidation overtook it.
   *
   * @return the entry installed, or null if refused
   */
  L1Entry<V> install(String key, V value, Tags tags, long stamp) {
    return install(key, value, tags, stamp, 0, true);
  }

  /** As {@link #install(String, Object, Tags, long)}, remembering how long the load took (for XFetch). */
  L1Entry<V> install(String key, V value, Tags tags, long stamp, long loadNanos) {
    return install(key, value, tags, stamp, loadNanos, true);
  }

  /** Installs what a put wrote (stamped at the write's end); Caffeine's upkeep then runs off the caller's thread. */
  L1Entry<V> installWritten(String key, V value, Tags tags, long stamp) {
    return install(key, value, tags, stamp, 0, false);
  }

  private L1Entry<V> install(String key, V value, Tags tags, long stamp, long loadNanos, boolean fill) {
    long now = timed ? ticker.read() : 0;
    long expiresAt =
        value == null && negativeTtlNanos > 0
            ? now + (ttlNanos > 0 ? Math.min(ttlNanos, negativeTtlNanos) : negativeTtlNanos)
            : ttlNanos > 0 ? now + ttlNanos : L1Entry.NEVER;
    long refreshAt =
        refreshFraction > 0 && value != null && ttlNanos > 0
            ? now + (long) (ttlNanos * refreshFraction)
            : L1Entry.NEVER;
    // Weighed here, before the install takes the key's stripe: the weigher is user code, and another instance's
    // invalidation of the key waits for that stripe on Lettuce's event loop (review 7).
    int weight = weigher == null || value == null ? 1 : weigher.applyAsInt(key, value);
    L1Entry<V> entry = new L1Entry<>(value, tags, stamp, expiresAt, refreshAt, loadNanos, weight);
    if (log.installIfCurrent(key, tags, stamp, checkedThrough -> {
      // The check covered every invalidation begun through checkedThrough; reads check the entry against later ones.
      entry.checkedThrough(checkedThrough);
      if (fill) {
        fill(() -> map.put(key, entry));
      } else {
        map.put(key, entry);
      }
    })) {
      metrics.put(CacheMetrics.Tier.L1);
      return entry;
    }
    metrics.staleWriteRefused(CacheMetrics.Tier.L1);
    return null;
  }

  /** Removes one key at once; called while the log excludes installs of that key. */
  void remove(String key) {
    map.remove(key);
  }

  /** Runs an L1 fill with Caffeine's upkeep on this thread ({@link #UPKEEP}). */
  private static void fill(Runnable write) {
    boolean[] writing = WRITING.get();
    boolean outer = !writing[0];
    writing[0] = true;
    try {
      write.run();
    } finally {
      if (outer) {
        writing[0] = false;
      }
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
    for (Map.Entry<String, L1Entry<V>> e : map.entrySet()) {
      L1Entry<V> entry = e.getValue();
      for (InvalidationLog.Entry invalidation : batch) {
        if (entry.stamp < invalidation.start && invalidation.covers(e.getKey(), entry.tags)) {
          map.remove(e.getKey(), entry);
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
