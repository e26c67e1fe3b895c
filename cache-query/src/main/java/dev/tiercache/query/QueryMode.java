package dev.tiercache.query;

/** How a read uses the cache; set with {@link Query#bypass()} and {@link Query#refresh()}. */
enum QueryMode {
  /** Serve from the cache, load and cache on a miss. */
  CACHED,
  /** Read the database and leave the cache alone. */
  BYPASS,
  /** Drop the cached result (on every node) and load a fresh one into the cache. */
  REFRESH
}
