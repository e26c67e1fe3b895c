package dev.tiercache.redis;

/**
 * The bounds on each bucket's invalidation state, so that neither Redis memory nor the cost of a read grows with
 * the history of invalidations. Past a bound the oldest state is dropped and a floor rises instead, which is always
 * safe: it refuses more writes, or turns more old entries into misses, never fewer.
 *
 * @param tombstones key tombstones kept per bucket (beyond: the write floor rises; in-flight loads that read before
 *     the dropped tombstone are refused)
 * @param epochs distinct tags and prefixes remembered per bucket (beyond: the floor rises; older entries are misses)
 * @param prefixLengths distinct invalidated prefix lengths per bucket; a read looks up at most this many prefixes of
 *     its key, in one HMGET (beyond: the floor rises)
 * @param patterns recent patterns per bucket; a read returns at most this many (beyond: the floor rises)
 */
record Limits(int tombstones, int epochs, int prefixLengths, int patterns) {

  /** The defaults: a few MB of state per bucket at most, and a read that checks at most 64 prefixes. */
  static final Limits DEFAULT = new Limits(20_000, 10_000, 64, 64);

  Limits {
    if (tombstones < 1 || epochs < 1 || prefixLengths < 1 || patterns < 1) {
      throw new IllegalArgumentException("every limit must be positive");
    }
  }
}
