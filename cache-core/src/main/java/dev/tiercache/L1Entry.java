package dev.tiercache;

/**
 * What the L1 holds for a key: the value (null for a cached absence), its tags, the log stamp of the read that
 * produced it (which invalidations are compared against), and the ticker times that drive expiry and refresh.
 */
final class L1Entry<V> {

  /** A time that never comes. */
  static final long NEVER = Long.MAX_VALUE;

  final V value;
  final Tags tags;
  final long stamp;
  /**
   * When the entry stops being fresh. The L1 may keep it a while longer for fail-safe, but a read after this time
   * is a miss.
   */
  final long expiresAt;
  /**
   * When the value first stopped being fresh (its first expiry): fail-safe serves it at most its window past this,
   * however often it serves it again.
   */
  final long staleSince;
  /** When a read should start reloading it in the background, or {@link #NEVER}. */
  final long refreshAt;
  /** How long the load that produced it took; XFetch refreshes earlier for entries that are slow to load. */
  final long loadNanos;
  /**
   * The {@link InvalidationLog#latest()} this entry has been checked against: set when it is installed (the install
   * check saw every invalidation begun until then) and moved forward by reads. A stale write of an older value by a
   * racing read only causes an extra check.
   */
  volatile long checkedThrough;

  L1Entry(V value, Tags tags, long stamp, long expiresAt, long refreshAt, long loadNanos) {
    this(value, tags, stamp, expiresAt, refreshAt, loadNanos, expiresAt);
  }

  L1Entry(V value, Tags tags, long stamp, long expiresAt, long refreshAt, long loadNanos, long staleSince) {
    this.staleSince = staleSince;
    this.value = value;
    this.tags = tags;
    this.stamp = stamp;
    this.expiresAt = expiresAt;
    this.refreshAt = refreshAt;
    this.loadNanos = loadNanos;
  }

  boolean isAbsent() {
    return value == null;
  }

  boolean isFresh(long now) {
    return expiresAt == NEVER || now - expiresAt < 0;
  }
}
