package dev.tiercache.spi;

/**
 * The answer of an L2 read: the entry, if one is present and still valid, and the version of the store's
 * invalidation state at the time of the read.
 *
 * <p>The version is what makes a late write safe: a cache that misses, loads, and then writes its result back hands
 * the version to {@link L2Store#putIfCurrent}, which refuses the write if an invalidation covering the key happened
 * after this read (on any node).
 *
 * @param entry the entry, or null on a miss
 * @param version the store's invalidation version observed by the read
 */
public record L2Read(L2Entry entry, long version) {

  /**
   * Creates a miss.
   *
   * @param version the version observed by the read
   * @return a read with no entry
   */
  public static L2Read miss(long version) {
    return new L2Read(null, version);
  }

  /**
   * Tells whether the read found an entry.
   *
   * @return true on a hit
   */
  public boolean isHit() {
    return entry != null;
  }
}
