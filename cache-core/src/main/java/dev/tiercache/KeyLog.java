package dev.tiercache;

import java.util.HashMap;
import java.util.Iterator;
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
 * <p>Bounded like the log's indexes: each stripe remembers at most its share of the capacity; past it, the stripe
 * forgets every ended invalidation at once and raises its own horizon to the newest end it forgot, so that a load of
 * any of its keys that began before is refused (conservatively: never an install the log could not vouch for).
 */
final class KeyLog {

  /**
   * 1,024 stripes: writing threads rarely meet on one, and each stripe's map stays small (a capacity of 65,536 keys
   * is 64 per stripe), which matters because keys like {@code "user:" + n} spread poorly over a HashMap's buckets.
   */
  private static final int STRIPE_BITS = 10;
  private static final int STRIPES = 1 << STRIPE_BITS;

  private final Stripe[] stripes = new Stripe[STRIPES];
  private final int capacityPerStripe;

  KeyLog(int capacity) {
    this.capacityPerStripe = Math.max(1, capacity / STRIPES);
    for (int i = 0; i < STRIPES; i++) {
      stripes[i] = new Stripe();
    }
  }

  /** One stripe: its monitor guards every field, and the states of its keys. */
  static final class Stripe {
    private final HashMap<String, State> states = new HashMap<>();
    /** A load of one of this stripe's keys that began before this is refused: the stripe forgot what happened. */
    private long horizon;
    private long localHorizon;
  }

  /** What is known of one key: how many invalidations of it run, and when the newest one ended (0 if none). */
  private static final class State {
    int running;
    int localRunning;
    long end;
    long localEnd;
  }

  /**
   * The stripe of a key, by the high bits of a multiplicative hash: the stripe's own HashMap indexes by the low bits
   * of the spread hash, so striping by those too would put all of a stripe's keys in one bucket.
   */
  Stripe stripe(String key) {
    return stripes[(key.hashCode() * 0x9E3779B9) >>> (Integer.SIZE - STRIPE_BITS)];
  }

  /** Begins an invalidation of {@code key}; {@code whileExclusive} runs before any install of the key can. */
  InvalidationLog.Entry begin(
      String key, Invalidation invalidation, boolean local, AtomicLong clock, Runnable whileExclusive) {
    Stripe stripe = stripe(key);
    synchronized (stripe) {
      InvalidationLog.Entry entry = new InvalidationLog.Entry(invalidation, clock.incrementAndGet(), local, key);
      State state = stripe.states.computeIfAbsent(key, k -> new State());
      state.running++;
      if (local) {
        state.localRunning++;
      }
      whileExclusive.run();
      return entry;
    }
  }

  /** Ends an invalidation begun by {@link #begin}; its end stamp is taken under the stripe, so ends only grow. */
  void end(InvalidationLog.Entry entry, AtomicLong clock, Runnable whileExclusive) {
    Stripe stripe = stripe(entry.key);
    synchronized (stripe) {
      entry.end = clock.incrementAndGet();
      // Present: a running invalidation keeps its key's state from being forgotten.
      State state = stripe.states.get(entry.key);
      state.running--;
      state.end = entry.end;
      if (entry.local) {
        state.localRunning--;
        state.localEnd = entry.end;
      }
      if (stripe.states.size() > capacityPerStripe) {
        forget(stripe);
      }
      whileExclusive.run();
    }
  }

  private static void forget(Stripe stripe) {
    for (Iterator<State> it = stripe.states.values().iterator(); it.hasNext(); ) {
      State state = it.next();
      if (state.running == 0) {
        stripe.horizon = Math.max(stripe.horizon, state.end);
        stripe.localHorizon = Math.max(stripe.localHorizon, state.localEnd);
        it.remove();
      }
    }
  }

  /**
   * Whether an invalidation of {@code key} runs or ended after {@code stamp}, or the stripe can no longer tell. Call
   * while holding {@code stripe}'s monitor.
   */
  static boolean covers(Stripe stripe, String key, long stamp) {
    State state = stripe.states.get(key);
    return stamp < stripe.horizon || (state != null && (state.running > 0 || state.end > stamp));
  }

  /** As {@link #covers}, counting only invalidations made on this instance. */
  boolean coversLocally(String key, long stamp) {
    Stripe stripe = stripe(key);
    synchronized (stripe) {
      State state = stripe.states.get(key);
      return stamp < stripe.localHorizon || (state != null && (state.localRunning > 0 || state.localEnd > stamp));
    }
  }
}
