package dev.tiercache;

import java.util.concurrent.Executor;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.BooleanSupplier;

/**
 * Where Caffeine's upkeep (draining its read and write buffers, eviction) runs. After an L1 fill by a read it runs on
 * the reading thread, once the fill has released the key's stripe: handing it to a pool woke a thread on every fill,
 * about 15 us of an L2 hit on two cores (benchmarks, suite 2); with an expiry, the reader whose fill finds a backlog
 * expires it, as in a Caffeine cache whose executor runs tasks on the caller's thread. So it does after the removal of a key another instance invalidated, on the bus's delivering
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

  /** Where this thread runs the upkeep Caffeine schedules. */
  private static final class Scope {
    /** Inside an L1 fill or a delivered removal: now, on this thread. */
    boolean inline;
    /** Inside a fill made under a lock: on this thread once the lock is released ({@link #fillAfterLock}). */
    boolean deferring;
    /** What was scheduled while deferring; Caffeine schedules one drain at a time, but any number is kept. */
    Runnable deferred;

    void defer(Runnable task) {
      Runnable before = deferred;
      deferred = before == null ? task : () -> {
        before.run();
        task.run();
      };
    }
  }

  private static final ThreadLocal<Scope> SCOPE = ThreadLocal.withInitial(Scope::new);

  /** The executor every L1 gives Caffeine. */
  static final Executor EXECUTOR =
      task -> {
        Scope scope = SCOPE.get();
        if (scope.deferring) {
          scope.defer(task);
          return;
        }
        if (scope.inline) {
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
    Scope scope = SCOPE.get();
    boolean outer = !scope.inline;
    scope.inline = true;
    try {
      write.run();
    } finally {
      if (outer) {
        scope.inline = false;
      }
    }
  }

  /**
   * Runs an L1 fill made under a lock (the key's stripe), then the upkeep it scheduled, on this thread once
   * {@code locked} has returned and the lock is free. With an expiry that upkeep expires every entry past it, however
   * many: run under the stripe, it kept the stripe's installs and writes, and another instance's invalidation of one
   * of its keys on the bus's delivering thread, waiting for as long. The upkeep runs even if {@code locked} throws:
   * until a drain Caffeine scheduled has run, it schedules no other.
   *
   * @return what {@code locked} returned
   */
  static boolean fillAfterLock(BooleanSupplier locked) {
    Scope scope = SCOPE.get();
    if (scope.deferring) {
      return locked.getAsBoolean();
    }
    scope.deferring = true;
    try {
      return locked.getAsBoolean();
    } finally {
      scope.deferring = false;
      Runnable deferred = scope.deferred;
      scope.deferred = null;
      if (deferred != null) {
        fill(deferred);
      }
    }
  }
}
