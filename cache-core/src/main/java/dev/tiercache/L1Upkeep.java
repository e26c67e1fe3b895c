package dev.tiercache;

import com.github.benmanes.caffeine.cache.Ticker;
import java.util.concurrent.Executor;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * Where Caffeine's upkeep (draining its read and write buffers, eviction) runs. After an L1 fill by a read it runs on
 * the reading thread: handing it to a pool woke a thread on every fill, about 15 us of an L2 hit on two cores
 * (benchmarks, suite 2). So it does after the removal of a key another instance invalidated, on the bus's delivering
 * thread: a pool thread woken for every delivered key was part of the cross-node invalidation latency (suite 5).
 * Otherwise (a hit whose read buffer filled up, a put, a local removal) it runs on the library's common pool,
 * Caffeine's own default: inline, hits and puts paid for draining everyone's buffers, one drain per write where
 * Caffeine batches many. The task is short, and when it is late Caffeine drops read-buffer entries and has writers
 * drain a full write buffer themselves, so a busy pool costs recency information, never correctness.
 *
 * <p>Except in a quiet cache whose upkeep is bounded ({@link #executor}): when no upkeep was asked for (or ended in
 * the pool) in the last {@link #QUIET_NANOS}, there is nothing to batch (the buffers hold the one write and a few
 * reads), and the pool's worker has gone to sleep, so waking it costs more than the upkeep itself. That is the usual case of a cache in
 * front of Redis, where each write waits for a round trip: a common-pool worker woken per local put, removal and
 * write-back was about a tenth of the calling thread's time in the mixed load of suite 4.
 */
final class L1Upkeep {

  /** How long without upkeep makes a cache quiet. */
  static final long QUIET_NANOS = TimeUnit.MICROSECONDS.toNanos(100);

  private L1Upkeep() {}

  /** Whether the current thread is inside an L1 fill by a read. */
  private static final ThreadLocal<boolean[]> WRITING = ThreadLocal.withInitial(() -> new boolean[1]);

  /**
   * The executor for one L1's Caffeine.
   *
   * @param ticker the cache's clock, which tells how long ago upkeep was last asked for
   * @param bounded whether one upkeep does bounded work (no expiry, no weights: each pending write evicts at most one
   *     entry); only then may it run on the thread that asked for it when the cache is quiet
   */
  static Executor executor(Ticker ticker, boolean bounded) {
    return bounded ? new QuietInline(ticker) : L1Upkeep::execute;
  }

  private static void execute(Runnable task) {
    if (WRITING.get()[0]) {
      task.run();
      return;
    }
    try {
      ForkJoinPool.commonPool().execute(task);
    } catch (RejectedExecutionException e) {
      task.run();
    }
  }

  /** Runs the upkeep of a quiet cache on the calling thread; otherwise as {@link #execute}. */
  private static final class QuietInline implements Executor {
    private final Ticker ticker;
    /**
     * When upkeep was last asked for, or {@link #asked} false before the first request; a race between two callers
     * only picks which of them runs it where.
     */
    private volatile long last;
    private volatile boolean asked;

    QuietInline(Ticker ticker) {
      // Not read here: a cache with no expiry had no use for its ticker before, and one that cannot be read must not
      // fail the build.
      this.ticker = ticker;
    }

    @Override
    public void execute(Runnable task) {
      long now;
      try {
        now = ticker.read();
      } catch (RuntimeException e) {
        // A ticker that cannot be read tells nothing about quiet: the pool, as without this executor.
        L1Upkeep.execute(task);
        return;
      }
      long previous = last;
      boolean first = !asked;
      last = now;
      asked = true;
      if (first || now - previous > QUIET_NANOS) {
        task.run();
      } else {
        // Caffeine asks for nothing while this upkeep is pending or running: its end counts as a request, or the
        // first write after a pool run slower than QUIET_NANOS would find the cache quiet in the middle of a burst.
        L1Upkeep.execute(() -> {
          try {
            task.run();
          } finally {
            ran();
          }
        });
      }
    }

    private void ran() {
      try {
        last = ticker.read();
      } catch (RuntimeException e) {
        // as in execute: no reading, no judgement
      }
    }
  }

  /** Runs an L1 fill (or the removal of a delivered invalidation) with Caffeine's upkeep on this thread. */
  static void fill(Runnable write) {
    boolean[] writing = WRITING.get();
    boolean outer = !writing[0];
    writing[0] = true;
    try {
      write.run();
    } finally {
      if (outer) {
        writing[0] = false;
      }
    }
  }
}
