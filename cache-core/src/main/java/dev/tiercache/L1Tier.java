package dev.tiercache;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Ticker;
import java.util.Map;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;

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
  private final Executor executor;
  private final long negativeTtlNanos;

  L1Tier(TieredCacheBuilder<?, ?> settings, InvalidationLog log, CacheMetrics metrics) {
    this.log = log;
    this.metrics = metrics;
    this.ticker = settings.ticker;
    this.executor = settings.executor;
    this.negativeTtlNanos = settings.negativeTtl == null ? 0 : settings.negativeTtl.toNanos();
    this.cache = L1Tier.<V>caffeine(settings.l1, settings.ticker, settings.executor, metrics).build();
    this.map = cache.asMap();
    metrics.bindL1Size(cache::estimatedSize);
  }

  @SuppressWarnings("unchecked")
  private static <V> Caffeine<String, L1Entry<V>> caffeine(
      L1Settings l1, Ticker ticker, Executor executor, CacheMetrics metrics) {
    Caffeine<String, L1Entry<V>> builder =
        (Caffeine<String, L1Entry<V>>) (Caffeine<?, ?>) Caffeine.newBuilder().ticker(ticker).executor(executor);
    if (l1.expireAfterWrite != null) {
      builder.expireAfterWrite(l1.expireAfterWrite);
    }
    if (l1.expireAfterAccess != null) {
      builder.expireAfterAccess(l1.expireAfterAccess);
    }
    if (l1.maximumWeight >= 0) {
      builder
          .maximumWeight(l1.maximumWeight)
          .weigher(
              (String key, L1Entry<V> entry) ->
                  entry.isAbsent() ? 1 : l1.weigher.applyAsInt(key, entry.value));
    } else {
      builder.maximumSize(l1.maximumSize >= 0 ? l1.maximumSize : L1Settings.DEFAULT_MAXIMUM_SIZE);
    }
    return builder.evictionListener((key, entry, cause) -> metrics.eviction());
  }

  /**
   * Returns the live entry for a key, or null. An entry that an unswept invalidation covers, or a cached absence
   * past its TTL, is removed and reported as a miss.
   */
  L1Entry<V> get(String key) {
    InvalidationLog.Entry[] unswept = log.unswept();
    L1Entry<V> entry = cache.getIfPresent(key);
    if (entry != null
        && (InvalidationLog.covers(unswept, key, entry.tags, entry.stamp)
            || (entry.isAbsent() && ticker.read() - entry.absentUntil >= 0))) {
      map.remove(key, entry);
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
   * Installs a value read or loaded by an operation that took {@code stamp} before it read anything, unless an
   * invalidation overtook it.
   *
   * @return the entry installed, or null if refused
   */
  L1Entry<V> install(String key, V value, Tags tags, long stamp) {
    L1Entry<V> entry =
        new L1Entry<>(value, tags, stamp, value == null ? ticker.read() + negativeTtlNanos : 0);
    if (log.installIfCurrent(key, tags, stamp, () -> map.put(key, entry))) {
      metrics.put(CacheMetrics.Tier.L1);
      return entry;
    }
    metrics.staleWriteRefused(CacheMetrics.Tier.L1);
    return null;
  }

  /** Removes one key at once; called while the log excludes installs. */
  void remove(String key) {
    map.remove(key);
  }

  /** Removes, in the background, the entries an invalidation covers, then tells the log. */
  void sweep(InvalidationLog.Entry invalidation) {
    Runnable sweep =
        () -> {
          try {
            for (Map.Entry<String, L1Entry<V>> e : map.entrySet()) {
              L1Entry<V> entry = e.getValue();
              if (entry.stamp < invalidation.start && invalidation.covers(e.getKey(), entry.tags)) {
                map.remove(e.getKey(), entry);
              }
            }
          } finally {
            log.swept(invalidation);
          }
        };
    try {
      executor.execute(sweep);
    } catch (RejectedExecutionException e) {
      sweep.run();
    }
  }

  long estimatedSize() {
    return cache.estimatedSize();
  }

  void clear() {
    cache.invalidateAll();
  }
}
