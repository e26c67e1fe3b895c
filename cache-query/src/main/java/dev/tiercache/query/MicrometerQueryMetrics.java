package dev.tiercache.query;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * {@code cache.query.executions{cache,query,result=hit|miss|uncached}} and {@code
 * cache.query.loads{cache,query,result=success|failure}}. The {@code query} tag takes at most {@code maxQueries}
 * distinct values (the first ones seen); every later query is counted under {@code query=other}, so dynamic SQL
 * cannot grow the registry without bound.
 */
final class MicrometerQueryMetrics implements QueryMetrics {

  static final String OTHER = "other";

  private final MeterRegistry registry;
  private final String cache;
  private final int maxQueries;
  private final Set<String> known = ConcurrentHashMap.newKeySet();

  MicrometerQueryMetrics(MeterRegistry registry, String cache, int maxQueries) {
    this.registry = registry;
    this.cache = cache;
    this.maxQueries = maxQueries;
  }

  @Override
  public void executions(String query, long hits, long misses) {
    if (hits > 0) {
      counter(query, "hit").increment(hits);
    }
    if (misses > 0) {
      counter(query, "miss").increment(misses);
    }
  }

  @Override
  public void uncached(String query) {
    counter(query, "uncached").increment();
  }

  @Override
  public void load(String query, long nanos, boolean success) {
    Timer.builder("cache.query.loads")
        .description("Time spent in a query's loader")
        .tags("cache", cache, "query", bounded(query), "result", success ? "success" : "failure")
        .register(registry)
        .record(nanos, TimeUnit.NANOSECONDS);
  }

  private Counter counter(String query, String result) {
    return Counter.builder("cache.query.executions")
        .description("Query results served from the cache (hit), loaded (miss), or read without it (uncached)")
        .tags("cache", cache, "query", bounded(query), "result", result)
        .register(registry);
  }

  private String bounded(String query) {
    if (known.contains(query)) {
      return query;
    }
    synchronized (known) {
      if (known.size() < maxQueries) {
        known.add(query);
        return query;
      }
    }
    return OTHER;
  }
}
