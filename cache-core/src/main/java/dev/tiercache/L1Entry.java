package dev.tiercache;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * What the L1 holds for a key, unless it holds the value itself ({@link L1Tier}'s raw values, read through the static
 * methods here): the value (null for a cached absence), its tags, the log stamp of the read that
 * produced it (which invalidations are compared against), and, for an entry that expires or refreshes, the ticker
 * times that drive it ({@link Timed}). An entry with none of those is kept to what a hit reads, 40 bytes instead of
 * 72: every hit follows Caffeine's node to it, and the L1's footprint decides how many of those loads miss the CPU
 * cache.
 */
class L1Entry<V> {

  /** A time that never comes. */
  static final long NEVER = Long.MAX_VALUE;

  final V value;
  final Tags tags;
  final long stamp;
  /**
   * The L1 weigher's figure, taken before the install (see {@link L1Tier#install}): the weigher is user code, and
   * Caffeine calls it under its map's lock while the install holds the key's stripe of the invalidation log, which
   * another instance's invalidation of the key waits for on Lettuce's event loop (review 7). Written before the entry
   * is put, in the putting thread, which is the thread Caffeine weighs it in.
   */
  int weight = 1;
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

  private L1Entry(V value, Tags tags, long stamp) {
    this.value = value;
    this.tags = tags;
    this.stamp = stamp;
  }

  /**
   * An entry; one that never expires, never refreshes and took no measured load is the plain kind.
   *
   * @param expiresAt when it stops being fresh, or {@link #NEVER}
   * @param refreshAt when a read should start reloading it in the background, or {@link #NEVER}
   * @param loadNanos how long the load that produced it took, 0 if not measured
   * @param staleSince when the value first stopped being fresh
   */
  static <V> L1Entry<V> of(
      V value, Tags tags, long stamp, long expiresAt, long refreshAt, long loadNanos, long staleSince) {
    if (expiresAt == NEVER && refreshAt == NEVER && loadNanos == 0 && staleSince == NEVER) {
      return new L1Entry<>(value, tags, stamp);
    }
    return new Timed<>(value, tags, stamp, expiresAt, refreshAt, loadNanos, staleSince);
  }

  /** An entry whose first expiry is its expiry ({@link #staleSince()} equals {@link #expiresAt()}). */
  static <V> L1Entry<V> of(V value, Tags tags, long stamp, long expiresAt, long refreshAt, long loadNanos) {
    return of(value, tags, stamp, expiresAt, refreshAt, loadNanos, expiresAt);
  }

  /**
   * When the entry stops being fresh. The L1 may keep it a while longer for fail-safe, but a read after this time
   * is a miss.
   */
  long expiresAt() {
    return NEVER;
  }

  /**
   * When the value first stopped being fresh (its first expiry): fail-safe serves it at most its window past this,
   * however often it serves it again.
   */
  long staleSince() {
    return NEVER;
  }

  /** When a read should start reloading it in the background, or {@link #NEVER}. */
  long refreshAt() {
    return NEVER;
  }

  /** How long the load that produced it took; XFetch refreshes earlier for entries that are slow to load. */
  long loadNanos() {
    return 0;
  }

  boolean isAbsent() {
    return value == null;
  }

  /** The value of what the L1 holds for a key, an entry or a raw value ({@link L1Tier}): null for a cached absence. */
  @SuppressWarnings("unchecked")
  static <V> V value(Object stored) {
    return stored instanceof L1Entry ? ((L1Entry<V>) stored).value : (V) stored;
  }

  /** Whether what the L1 holds for a key is a cached absence. */
  static boolean isAbsent(Object stored) {
    return stored instanceof L1Entry && ((L1Entry<?>) stored).isAbsent();
  }

  /** The tags of what the L1 holds for a key (a raw value has none). */
  static Tags tags(Object stored) {
    return stored instanceof L1Entry ? ((L1Entry<?>) stored).tags : Tags.empty();
  }

  boolean isFresh(long now) {
    long expiresAt = expiresAt();
    return expiresAt == NEVER || now - expiresAt < 0;
  }

  /** An entry with times: one that expires, refreshes, or whose load was timed for XFetch. */
  private static final class Timed<V> extends L1Entry<V> {
    private final long expiresAt;
    private final long staleSince;
    private final long refreshAt;
    private final long loadNanos;

    Timed(V value, Tags tags, long stamp, long expiresAt, long refreshAt, long loadNanos, long staleSince) {
      super(value, tags, stamp);
      this.expiresAt = expiresAt;
      this.staleSince = staleSince;
      this.refreshAt = refreshAt;
      this.loadNanos = loadNanos;
    }

    @Override
    long expiresAt() {
      return expiresAt;
    }

    @Override
    long staleSince() {
      return staleSince;
    }

    @Override
    long refreshAt() {
      return refreshAt;
    }

    @Override
    long loadNanos() {
      return loadNanos;
    }
  }
}
