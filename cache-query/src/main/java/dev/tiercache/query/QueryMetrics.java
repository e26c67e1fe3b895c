package dev.tiercache.query;

/**
 * Per-query counters. The no-op instance is used unless the builder was given a registry; only then is the
 * Micrometer implementation (and so any Micrometer class) loaded.
 */
interface QueryMetrics {

  QueryMetrics NOOP =
      new QueryMetrics() {
        @Override
        public void executions(String query, long hits, long misses) {}

        @Override
        public void uncached(String query) {}

        @Override
        public void load(String query, long nanos, boolean success) {}
      };

  /** Counts results served from the cache ({@code hits}) and loaded by this call ({@code misses}). */
  void executions(String query, long hits, long misses);

  /** Counts a read that ran without the cache (bypassed, inside a transaction, or refused). */
  void uncached(String query);

  /** Times one loader call. */
  void load(String query, long nanos, boolean success);

  /** {@code registry} is a MeterRegistry, typed Object so that callers need not load Micrometer. */
  static QueryMetrics micrometer(Object registry, String cache, int maxQueries) {
    return new MicrometerQueryMetrics((io.micrometer.core.instrument.MeterRegistry) registry, cache, maxQueries);
  }
}
