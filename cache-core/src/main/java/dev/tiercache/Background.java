package dev.tiercache;

import java.util.concurrent.Executor;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The library's own daemon threads, shared by every cache of the JVM: a timer for heartbeats and retries, and a small
 * pool for L1 sweeps. Kept apart from the caches' executors (the common pool by default), so that a burst of remote
 * invalidations cannot starve the application's asynchronous loads, nor the other way round.
 */
final class Background {

  /** Heartbeats and retries: short tasks that only start asynchronous calls. */
  static final ScheduledThreadPoolExecutor TIMER = timer();

  /** L1 sweeps: at most two threads, however many caches and invalidations there are. */
  static final Executor SWEEPS = pool(2, "tiercache-sweep");

  /**
   * Caffeine's upkeep after the fills of loads that readers joined ({@link L1Upkeep#offThread}): threads of the
   * library's own, so that it never waits behind user tasks (or the joined readers' callbacks) in the common pool, and
   * a thread per drain, so that one cache's slow drain never holds back another's (Caffeine schedules no other drain
   * of a cache while one is pending, and that cache would stop evicting). At most one per cache is busy at a time
   * (Caffeine runs one drain of a cache at a time); idle ones end after 30 s.
   */
  static final Executor UPKEEP = elastic("tiercache-l1-upkeep");

  private Background() {}

  private static ScheduledThreadPoolExecutor timer() {
    ScheduledThreadPoolExecutor timer = new ScheduledThreadPoolExecutor(1, daemons("tiercache-timer"));
    timer.setRemoveOnCancelPolicy(true);
    return timer;
  }

  private static Executor pool(int threads, String name) {
    ThreadPoolExecutor pool =
        new ThreadPoolExecutor(
            threads, threads, 30, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), daemons(name));
    pool.allowCoreThreadTimeOut(true);
    return pool;
  }

  private static Executor elastic(String name) {
    return new ThreadPoolExecutor(
        0, Integer.MAX_VALUE, 30, TimeUnit.SECONDS, new SynchronousQueue<>(), daemons(name));
  }

  private static ThreadFactory daemons(String name) {
    AtomicInteger count = new AtomicInteger();
    return task -> {
      Thread thread = new Thread(task, name + "-" + count.incrementAndGet());
      thread.setDaemon(true);
      return thread;
    };
  }
}
