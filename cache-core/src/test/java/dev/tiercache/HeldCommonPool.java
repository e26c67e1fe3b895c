package dev.tiercache;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.TimeUnit;

/**
 * Every worker of the common pool held busy until {@link #close}: whatever the code under test hands to the pool
 * stays queued, where a test can count it, and work the caller's thread does shows in its timing.
 */
final class HeldCommonPool implements AutoCloseable {

  private final ForkJoinPool pool = ForkJoinPool.commonPool();
  private final CountDownLatch release = new CountDownLatch(1);

  /** Holds every worker; returns once all of them are held (at most 10 s). */
  HeldCommonPool() throws InterruptedException {
    CountDownLatch held = new CountDownLatch(pool.getParallelism());
    for (int i = 0; i < pool.getParallelism(); i++) {
      pool.execute(() -> {
        held.countDown();
        try {
          release.await(60, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      });
    }
    assertThat(held.await(10, TimeUnit.SECONDS)).as("every common-pool worker held").isTrue();
  }

  /** Tasks waiting in the pool. */
  long queued() {
    return pool.getQueuedSubmissionCount() + pool.getQueuedTaskCount();
  }

  @Override
  public void close() {
    release.countDown();
  }
}
