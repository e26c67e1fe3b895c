package dev.tiercache;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where Caffeine's upkeep (draining its read and write buffers, eviction, expiry) runs.
 * <ul>
 *   <li>After an L1 fill by a read, on the reading thread once the fill has released the key's stripe: handing it to
 *       a pool woke a thread on every fill, about 15 us of an L2 hit on two cores (benchmarks, suite 2). With an
 *       expiry, a reader whose fill finds a backlog expires it, as in a Caffeine cache whose executor runs tasks on
 *       the caller's thread; under the stripe it kept the stripe's installs and writes waiting as long. A load runs
 *       it after its flight completed, so the readers that joined the load (waiting in {@code get} or {@code getAll})
 *       do not wait for it; a {@code getAsync} caller's future completes after it ({@link #afterUpkeep}), and a load
 *       nested in another's loader runs its upkeep before the outer load completes.
 *   <li>After a put in a cache with an L2, likewise after the stripe; after a local removal in such a cache, and
 *       after the removal of a key another instance invalidated (on the bus's delivering thread, where a pool thread
 *       woken for every delivered key was part of the cross-node invalidation latency, suite 5), inline. These three
 *       only while the upkeep is bounded (no expiry, no weigher); a put waits for a round trip anyway (suite 4).
 *   <li>Otherwise (a read whose read buffer filled up, or that missed while a drain was due or found an expired key;
 *       a write in an L1-only cache) on the library's common pool, Caffeine's own default: inline, hits and L1-only
 *       puts paid for draining everyone's buffers, one drain per write where Caffeine batches many.
 * </ul>
 * The task is short, and when it is late Caffeine drops read-buffer entries and has writers drain a full write buffer
 * themselves, so a busy pool costs recency information, never correctness. A writer that meets a full write buffer
 * while another thread's upkeep expires a backlog waits for it inside Caffeine, under its key's stripe (Caffeine's
 * back-pressure; not fixed).
 */
final class L1Upkeep {

  private L1Upkeep() {}

  private static final Logger LOG = LoggerFactory.getLogger(TieredCache.class);

  /** Where this thread runs the upkeep Caffeine schedules. */
  private static final class Scope {
    /** Inside an L1 fill or a delivered removal: now, on this thread. */
    boolean inline;
    /** Inside a fill made under a lock: on this thread once the lock is released ({@link #fillAfterLock}). */
    boolean deferring;
    /** What was scheduled first while deferring; Caffeine schedules one drain at a time. */
    Runnable deferred;
    /**
     * What was scheduled after it (another cache's drain, from a fill nested in user code), each run on its own: one
     * that throws must not keep the others from running, or their caches would schedule no drain again.
     */
    List<Runnable> more;
    /** What {@link #afterUpkeep} queued while deferring: run once the deferred upkeep has. */
    List<Runnable> after;

    void defer(Runnable task) {
      if (deferred == null) {
        deferred = task;
      } else {
        if (more == null) {
          more = new ArrayList<>(2);
        }
        more.add(task);
      }
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
   * until a drain Caffeine scheduled has run, it schedules no other. What a task throws is logged ({@link #runLogged}),
   * so it neither fails the fill nor keeps the tasks after it from running, nor hides what {@code locked} threw.
   *
   * @return what {@code locked} returned
   */
  static boolean fillAfterLock(BooleanSupplier locked) {
    boolean opened = holdUpkeep();
    try {
      return locked.getAsBoolean();
    } finally {
      runHeldUpkeep(opened);
    }
  }

  /**
   * Opens the scope of {@link #fillAfterLock} on this thread, unless one is open: the upkeep Caffeine schedules waits
   * until {@link #runHeldUpkeep}. For hot paths, where a lambda would be allocated per call.
   *
   * @return whether this call opened it, and must hand that to {@link #runHeldUpkeep} in a finally block
   */
  static boolean holdUpkeep() {
    Scope scope = SCOPE.get();
    if (scope.deferring) {
      return false;
    }
    scope.deferring = true;
    return true;
  }

  /**
   * Closes the scope {@link #holdUpkeep} opened, if {@code opened}: runs the upkeep it held on this thread, then what
   * {@link #afterUpkeep} queued.
   */
  static void runHeldUpkeep(boolean opened) {
    if (!opened) {
      return;
    }
    Scope scope = SCOPE.get();
    scope.deferring = false;
    Runnable deferred = scope.deferred;
    List<Runnable> after = scope.after;
    scope.after = null;
    if (deferred != null) {
      List<Runnable> more = scope.more;
      scope.deferred = null;
      scope.more = null;
      // Inline: a drain the task schedules again runs here too.
      fill(() -> {
        runLogged(deferred);
        if (more != null) {
          more.forEach(L1Upkeep::runLogged);
        }
      });
    }
    if (after != null) {
      after.forEach(L1Upkeep::runLogged);
    }
  }

  /**
   * Runs {@code task} (what hands a load's result to user code: a {@code getAsync} caller's future, whose callbacks
   * run on the completing thread) where no upkeep waits for it to end: now outside a {@link #fillAfterLock} scope,
   * and inside one on this thread once the scope's deferred upkeep has run. Run inside the scope, a callback would
   * hold back the upkeep Caffeine scheduled, and until that has run Caffeine schedules no other: the L1 would neither
   * evict nor expire for as long as it ran.
   */
  static void afterUpkeep(Runnable task) {
    Scope scope = SCOPE.get();
    if (!scope.deferring) {
      task.run();
      return;
    }
    if (scope.after == null) {
      scope.after = new ArrayList<>(2);
    }
    scope.after.add(task);
  }

  /**
   * Runs a task Caffeine scheduled, logging what it throws: a failure of the upkeep is not the fill's, which has
   * installed its value. Caffeine does the same when it runs the upkeep itself (on its pool, or inline when its
   * executor runs the task on the caller's thread).
   */
  private static void runLogged(Runnable task) {
    try {
      task.run();
    } catch (Throwable t) {
      LOG.warn("Exception thrown by the L1's upkeep", t);
    }
  }
}
