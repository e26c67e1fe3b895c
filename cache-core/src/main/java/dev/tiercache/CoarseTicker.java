package dev.tiercache;

import com.github.benmanes.caffeine.cache.Ticker;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.TimeUnit;

/**
 * Caffeine's clock when the L1 judges expiry itself: the last {@link System#nanoTime()} that the cache read anyway
 * (for the delivery proof or an install), so that an L1 hit costs one clock read, not two (each about 26 ns on a
 * kvm-clock VM, as much as the rest of a hit). Caffeine then only cleans up: it may be late by as long as nobody
 * reads the clock, and it is never early by more than {@link #GRANULARITY_NANOS}, which the expiry Caffeine is given
 * exceeds the cache's own by {@link #SLACK_NANOS}. Whether an entry is fresh is decided from a precise reading
 * ({@link L1Entry#isFresh}), never from this one. A raw value (one kept without an entry, see {@link L1Tier}) is
 * Caffeine's to expire on this clock, at the TTL itself, which every read first brings to within the granularity of
 * its own reading: such a value is served at most {@link #GRANULARITY_NANOS} past its TTL.
 */
final class CoarseTicker implements Ticker {

  /** How far behind a reading this clock may stay after {@link #advance} with it. */
  static final long GRANULARITY_NANOS = TimeUnit.MILLISECONDS.toNanos(1);
  /** How much longer than the cache's own expiry Caffeine is told to keep an entry. */
  static final long SLACK_NANOS = 10 * GRANULARITY_NANOS;

  @SuppressWarnings("unused") // through NOW
  private volatile long now = System.nanoTime();

  private static final VarHandle NOW;

  static {
    try {
      NOW = MethodHandles.lookup().findVarHandle(CoarseTicker.class, "now", long.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  @Override
  public long read() {
    return now;
  }

  /**
   * Moves the clock to a reading of {@link System#nanoTime()} if it is more than the granularity behind it. Writes
   * rarely (once per granularity), so that readers on every core keep the line cached; never moves backwards.
   */
  void advance(long reading) {
    long seen;
    while (reading - (seen = now) > GRANULARITY_NANOS) {
      if (NOW.compareAndSet(this, seen, reading)) {
        return;
      }
    }
  }
}
