package dev.tiercache.redis;

import java.time.Duration;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Runs an action at most once per interval, and never drops the last request: the first request runs at once, later
 * ones within the interval are folded into one run at its end. A flood of bad frames then costs one L1 clear per
 * interval, while a single bad frame is still acted on at once.
 */
final class Throttle {

  private final long intervalNanos;
  private final ScheduledExecutorService scheduler;
  private final Runnable action;
  private final AtomicLong lastRun;
  private final AtomicBoolean trailing = new AtomicBoolean();

  Throttle(Duration interval, ScheduledExecutorService scheduler, Runnable action) {
    this.intervalNanos = interval.toNanos();
    this.scheduler = scheduler;
    this.action = action;
    this.lastRun = new AtomicLong(System.nanoTime() - intervalNanos);
  }

  /** Asks for a run: now if the interval since the last one passed, else once at its end. */
  void request() {
    long now = System.nanoTime();
    long last = lastRun.get();
    if (now - last >= intervalNanos && lastRun.compareAndSet(last, now)) {
      action.run();
      return;
    }
    if (trailing.compareAndSet(false, true)) {
      long wait = Math.max(0, last + intervalNanos - now);
      try {
        scheduler.schedule(() -> {
          trailing.set(false);
          lastRun.set(System.nanoTime());
          action.run();
        }, wait, TimeUnit.NANOSECONDS);
      } catch (java.util.concurrent.RejectedExecutionException closed) {
        trailing.set(false); // the bus is closing: nobody to tell
      }
    }
  }
}
