package dev.tiercache;

import java.util.concurrent.Executor;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledThreadPoolExecutor;
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
  static final Executor SWEEPS = pool();

  private Background() {}

  private static ScheduledThreadPoolExecutor timer() {
    ScheduledThreadPoolExecutor timer = new ScheduledThreadPoolExecutor(1, daemons("tiercache-timer"));
    timer.setRemoveOnCancelPolicy(true);
    return timer;
  }

  private static Executor pool() {
    ThreadPoolExecutor pool =
        new ThreadPoolExecutor(
            2, 2, 30, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), daemons("tiercache-sweep"));
    pool.allowCoreThreadTimeOut(true);
    return pool;
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
