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
        public void load(String query, long nanos, boolean success) {}
      };

  /** Counts results served from the cache ({@code hits}) and loaded by this call ({@code misses}). */
  void executions(String query, long hits, long misses);

  /** Times one loader call. */
  void load(String query, long nanos, boolean success);

  /** {@code registry} is a MeterRegistry, typed Object so that callers need not load Micrometer. */
  static QueryMetrics micrometer(Object registry, String cache) {
    return new MicrometerQueryMetrics((io.micrometer.core.instrument.MeterRegistry) registry, cache);
  }
}
