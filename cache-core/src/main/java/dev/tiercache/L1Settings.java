package dev.tiercache;

import java.time.Duration;
import java.util.Objects;
import java.util.function.ToIntBiFunction;

/**
 * The settings of the in-process tier, given to {@link TieredCacheBuilder#l1}. The L1 is a Caffeine cache; its
 * settings mean what Caffeine's do. An L1 is always bounded: without a maximum it holds
 * {@link #DEFAULT_MAXIMUM_SIZE} entries.
 */
public final class L1Settings {

  /** The maximum number of entries when neither a maximum size nor a maximum weight is set. */
  public static final long DEFAULT_MAXIMUM_SIZE = 10_000;

  long maximumSize = -1;
  long maximumWeight = -1;
  ToIntBiFunction<String, Object> weigher;
  Duration expireAfterWrite;
  Duration expireAfterAccess;

  L1Settings() {}

  /**
   * Bounds the L1 by entry count. Cannot be combined with {@link #maximumWeight}. As in Caffeine, entries past the
   * bound are evicted by upkeep that follows the writes, so the L1 may hold a few more for a moment; one whose last
   * writes came while another thread's upkeep ran may keep them until its next read or write (Caffeine reschedules
   * such upkeep by itself only on its default executor, and the L1 gives it its own).
   *
   * @param maximumSize the maximum number of entries; zero keeps nothing in the L1: no read, load or write installs
   *     an entry, and every read goes to the L2 (or the loader)
   * @return these settings
   * @throws IllegalArgumentException if negative
   * @throws IllegalStateException if a maximum weight is set
   */
  public L1Settings maximumSize(long maximumSize) {
    if (maximumSize < 0) {
      throw new IllegalArgumentException("maximumSize must not be negative, was " + maximumSize);
    }
    if (maximumWeight >= 0) {
      throw new IllegalStateException("maximumSize cannot be combined with maximumWeight");
    }
    this.maximumSize = maximumSize;
    return this;
  }

  /**
   * Bounds the L1 by total weight. Cannot be combined with {@link #maximumSize}.
   *
   * @param maximumWeight the maximum total weight
   * @param weigher the weight of one entry, given its encoded key and value; called before the entry is installed,
   *     outside the cache's locks (also for an entry the install then refuses)
   * @param <V> the value type
   * @return these settings
   * @throws IllegalArgumentException if the weight is negative
   * @throws NullPointerException if {@code weigher} is null
   * @throws IllegalStateException if a maximum size is set
   */
  @SuppressWarnings("unchecked")
  public <V> L1Settings maximumWeight(long maximumWeight, ToIntBiFunction<String, ? super V> weigher) {
    if (maximumWeight < 0) {
      throw new IllegalArgumentException("maximumWeight must not be negative, was " + maximumWeight);
    }
    Objects.requireNonNull(weigher, "weigher");
    if (maximumSize >= 0) {
      throw new IllegalStateException("maximumWeight cannot be combined with maximumSize");
    }
    this.maximumWeight = maximumWeight;
    this.weigher = (ToIntBiFunction<String, Object>) weigher;
    return this;
  }

  /**
   * Expires an L1 entry this long after it was written. The L1 TTL should be shorter than the L2's: it bounds how
   * long a node may serve a value whose invalidation message it missed. With an injected ticker the expiry is exact;
   * on the system clock a value may be served up to 1 ms past it, since Caffeine judges a plain value (no tags, no
   * fail-safe or refresh) on a copy of the clock that reads bring up to date to within 1 ms, so that a hit reads the
   * clock once. Never late by more, but it may be early: an entry (tags, fail-safe, refresh, access expiry) written
   * over another less than 1 s after it (with a TTL over 1 s) keeps the earlier write time in Caffeine, which expires
   * the new value that much sooner.
   *
   * @param ttl the time to live; positive
   * @return these settings
   * @throws NullPointerException if {@code ttl} is null
   * @throws IllegalArgumentException if not positive
   */
  public L1Settings expireAfterWrite(Duration ttl) {
    this.expireAfterWrite = TieredCacheBuilder.requirePositive(ttl, "expireAfterWrite");
    return this;
  }

  /**
   * Expires an L1 entry this long after it was last read or written. Combined with {@link #expireAfterWrite},
   * whichever comes first applies.
   *
   * @param ttl the idle time; positive
   * @return these settings
   * @throws NullPointerException if {@code ttl} is null
   * @throws IllegalArgumentException if not positive
   */
  public L1Settings expireAfterAccess(Duration ttl) {
    this.expireAfterAccess = TieredCacheBuilder.requirePositive(ttl, "expireAfterAccess");
    return this;
  }

  /** Whether the L1 keeps no entry at all ({@code maximumSize(0)}): filling it would only insert and evict. */
  boolean keepsNothing() {
    return maximumSize == 0;
  }
}
