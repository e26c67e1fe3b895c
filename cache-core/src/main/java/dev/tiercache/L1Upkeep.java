package dev.tiercache;

import java.util.concurrent.Executor;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.RejectedExecutionException;

/**
 * Where Caffeine's upkeep (draining its read and write buffers, eviction) runs. After an L1 fill by a read it runs on
 * the reading thread: handing it to a pool woke a thread on every fill, about 15 us of an L2 hit on two cores
 * (benchmarks, suite 2). So it does after the removal of a key another instance invalidated, on the bus's delivering
 * thread: a pool thread woken for every delivered key was part of the cross-node invalidation latency (suite 5).
 * So it does after a put or a local removal in a cache with an L2, which waits for a round trip anyway (suite 4's
 * mixed load); these three only while the upkeep is bounded (no expiry, no weigher). Otherwise (a hit whose read
 * buffer filled up, a write in an L1-only cache) it runs on the library's common pool, Caffeine's own default:
 * inline, hits and L1-only puts paid for draining everyone's buffers, one drain per write where Caffeine batches
 * many. The task is short, and when it is late Caffeine drops read-buffer entries and
 * has writers drain a full write buffer themselves, so a busy pool costs recency information, never correctness.
 */
final class L1Upkeep {

  private L1Upkeep() {}

  /** Whether the current thread is inside an L1 fill by a read. */
  private static final ThreadLocal<boolean[]> WRITING = ThreadLocal.withInitial(() -> new boolean[1]);

  /** The executor every L1 gives Caffeine. */
  static final Executor EXECUTOR =
      task -> {
        if (WRITING.get()[0]) {
          task.run();
          return;
        }
        try {
          ForkJoinPool.commonPool().execute(task);
        } catch (RejectedExecutionException e) {
          task.run();
        }
      };

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
