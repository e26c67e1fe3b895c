package dev.tiercache.query;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.concurrent.TimeUnit;

/**
 * {@code cache.query.executions{cache,query,result=hit|miss}} and {@code
 * cache.query.loads{cache,query,result=success|failure}}.
 */
final class MicrometerQueryMetrics implements QueryMetrics {

  private final MeterRegistry registry;
  private final String cache;

  MicrometerQueryMetrics(MeterRegistry registry, String cache) {
    this.registry = registry;
    this.cache = cache;
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
  public void load(String query, long nanos, boolean success) {
    Timer.builder("cache.query.loads")
        .description("Time spent in a query's loader")
        .tags("cache", cache, "query", query, "result", success ? "success" : "failure")
        .register(registry)
        .record(nanos, TimeUnit.NANOSECONDS);
  }

  private Counter counter(String query, String result) {
    return Counter.builder("cache.query.executions")
        .description("Query results served from the cache (hit) or loaded (miss)")
        .tags("cache", cache, "query", query, "result", result)
        .register(registry);
  }
}
