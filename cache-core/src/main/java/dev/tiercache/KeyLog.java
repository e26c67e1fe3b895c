package dev.tiercache;

import java.util.concurrent.atomic.AtomicLong;

/**
 * The {@link InvalidationLog}'s memory of invalidations that cover exactly one key ({@code put}, {@code invalidateKey},
 * and custom strategies that name a single key), striped by key so that writes of different keys share no lock: the
 * 6:2 read/write benchmark spent most of its time on the single lock the log used to take for every write.
 *
 * <p>Everything about one key happens under its stripe's monitor: the start of an invalidation (with the L1 removal of
 * the key), its end, and every install check of that key. So an install of a key either happens entirely before an
 * invalidation of it, whose removal then sees it, or entirely after, when its check sees the invalidation running or
 * ended after the load's stamp. Keys of other stripes are never waited for.
 *
 * <p>Within a stripe, keys share a fixed number of slots by hash, and a slot remembers how many invalidations of its
 * keys run and when the newest ended. That is conservative, never lenient: a load is refused when any key of its slot
 * was invalidated after it began, so a false refusal costs one L1 fill (or, for a read of the L2, one load), never a
 * stale install. A map per key was exact but cost cache misses on every write (a node, a state object, and a bounded
 * memory that had to forget and refuse everything older once full); the slots stay small and hot, need no forgetting,
 * and are allocated per stripe on its first write. With {@value #SLOTS} slots, a 5 ms load is refused falsely with a
 * probability of about writes-per-second x 0.005 / {@value #SLOTS} (0.6 % at 10,000 writes of other keys a second).
 */
final class KeyLog {

  /** 64 stripes: writing threads rarely meet on one. */
  private static final int STRIPE_BITS = 6;
  private static final int STRIPES = 1 << STRIPE_BITS;
  /** Slots per stripe. */
  private static final int SLOT_BITS = 7;
  static final int SLOTS = STRIPES << SLOT_BITS;

  private final Stripe[] stripes = new Stripe[STRIPES];

  KeyLog() {
    for (int i = 0; i < STRIPES; i++) {
      stripes[i] = new Stripe();
    }
  }

  /**
   * One stripe: its monitor guards its slots. Padded to two cache lines: the stripes are allocated together, and
   * unpadded several monitors shared a line, so writers of keys in different stripes invalidated each other's line on
   * every lock and unlock.
   */
  @SuppressWarnings("unused") // the padding
  static final class Stripe {
    /** Per slot: the newest end of an invalidation of its keys, then of a local one (0 if none). */
    private long[] ends;
    /** Per slot: how many invalidations of its keys run, then how many local ones. */
    private int[] running;

    private long p0, p1, p2, p3, p4, p5, p6, p7, p8, p9, p10, p11, p12, p13;

    private void allocate() {
      if (ends == null) {
        ends = new long[2 << SLOT_BITS];
        running = new int[2 << SLOT_BITS];
      }
    }
  }

  /** The multiplicative hash whose high bits pick the stripe and the next bits the slot. */
  private static int mix(String key) {
    return key.hashCode() * 0x9E3779B9;
  }

  Stripe stripe(String key) {
    return stripes[mix(key) >>> (Integer.SIZE - STRIPE_BITS)];
  }

  /** The index of a key's slot pair in its stripe's arrays. */
  private static int slot(String key) {
    return ((mix(key) >>> (Integer.SIZE - STRIPE_BITS - SLOT_BITS)) & ((1 << SLOT_BITS) - 1)) << 1;
  }

  /** Begins an invalidation of {@code key}; {@code whileExclusive} runs before any install of the key can. */
  InvalidationLog.Entry begin(
      String key, Invalidation invalidation, boolean local, AtomicLong clock, Runnable whileExclusive) {
    Stripe stripe = stripe(key);
    int slot = slot(key);
    synchronized (stripe) {
      stripe.allocate();
      InvalidationLog.Entry entry = new InvalidationLog.Entry(invalidation, clock.incrementAndGet(), local, key);
      stripe.running[slot]++;
      if (local) {
        stripe.running[slot + 1]++;
      }
      whileExclusive.run();
      return entry;
    }
  }

  /** Ends an invalidation begun by {@link #begin}; its end stamp is taken under the stripe, so ends only grow. */
  void end(InvalidationLog.Entry entry, AtomicLong clock, Runnable whileExclusive) {
    Stripe stripe = stripe(entry.key);
    int slot = slot(entry.key);
    synchronized (stripe) {
      entry.end = clock.incrementAndGet();
      stripe.running[slot]--;
      stripe.ends[slot] = entry.end;
      if (entry.local) {
        stripe.running[slot + 1]--;
        stripe.ends[slot + 1] = entry.end;
      }
      whileExclusive.run();
    }
  }

  /**
   * Begins and ends a local invalidation of {@code key} in one step, for a write that has nothing to propagate between
   * the two (no L2, no bus). Call while holding {@code stripe}'s monitor, which the install that follows keeps.
   *
   * @return its end stamp
   */
  static long beginAndEnd(Stripe stripe, String key, AtomicLong clock) {
    stripe.allocate();
    int slot = slot(key);
    long end = clock.incrementAndGet();
    stripe.ends[slot] = end;
    stripe.ends[slot + 1] = end;
    return end;
  }

  /**
   * Whether an invalidation of {@code key} (or of a key sharing its slot) runs or ended after {@code stamp}. Call
   * while holding {@code stripe}'s monitor.
   */
  static boolean covers(Stripe stripe, String key, long stamp) {
    return covers(stripe, slot(key), stamp);
  }

  private static boolean covers(Stripe stripe, int at, long stamp) {
    return stripe.ends != null && (stripe.running[at] > 0 || stripe.ends[at] > stamp);
  }

  /** As {@link #covers}, counting only invalidations made on this instance. */
  boolean coversLocally(String key, long stamp) {
    Stripe stripe = stripe(key);
    synchronized (stripe) {
      return covers(stripe, slot(key) + 1, stamp);
    }
  }
}
