package dev.tiercache;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

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
   * The L1 weigher's figure, taken before the install (see {@link L1Tier}): the weigher is user code, and Caffeine
   * would call it under the map's lock while the install holds the key's stripe of the invalidation log.
   */
  final int weight;
  /**
   * The {@link InvalidationLog#latest()} this entry has been checked against: set when it is installed (the install
   * check saw every invalidation begun until then) and moved forward by reads. Not volatile, to keep an L1 hit to one
   * volatile read ({@link InvalidationLog#latest()}): the install's value is published with the entry (through the
   * map), and a later write by a racing read is a value some read checked the entry through; seeing an older one
   * than the newest only causes an extra check, never a missed one. Opaque access keeps each read and write whole.
   */
  @SuppressWarnings("unused") // through CHECKED_THROUGH
  private long checkedThrough;

  private static final VarHandle CHECKED_THROUGH;

  static {
    try {
      CHECKED_THROUGH =
          MethodHandles.lookup().findVarHandle(L1Entry.class, "checkedThrough", long.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  long checkedThrough() {
    return (long) CHECKED_THROUGH.getOpaque(this);
  }

  void checkedThrough(long latest) {
    CHECKED_THROUGH.setOpaque(this, latest);
  }

  L1Entry(V value, Tags tags, long stamp, long expiresAt, long refreshAt, long loadNanos, int weight) {
    this(value, tags, stamp, expiresAt, refreshAt, loadNanos, expiresAt, weight);
  }

  L1Entry(
      V value, Tags tags, long stamp, long expiresAt, long refreshAt, long loadNanos, long staleSince, int weight) {
    this.weight = weight;
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
