package dev.tiercache.testkit;

import dev.tiercache.spi.L2Read;
import dev.tiercache.spi.L2Store;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Wraps a store so a test can hold one read between the moment it got its answer and the moment the cache sees it:
 * the window of the L2-read-then-L1-fill race. Everything else passes straight through.
 */
public final class GatedL2Store extends ForwardingL2Store {

  private volatile CountDownLatch reached;
  private volatile CountDownLatch release;
  private volatile CountDownLatch reachedAll;
  private volatile CountDownLatch releaseAll;

  /**
   * Wraps a store.
   *
   * @param delegate the real store
   */
  public GatedL2Store(L2Store delegate) {
    super(delegate);
  }

  /**
   * Holds the next {@code get}'s answer until {@link #release()}.
   *
   * @return a latch that opens when the held read has its answer
   */
  public CountDownLatch holdNextGet() {
    reached = new CountDownLatch(1);
    release = new CountDownLatch(1);
    return reached;
  }

  /** Lets the held read go on. */
  public void release() {
    release.countDown();
  }

  /**
   * Holds the next {@code getAll}'s answer until {@link #releaseAll()}.
   *
   * @return a latch that opens when the held read has its answer
   */
  public CountDownLatch holdNextGetAll() {
    reachedAll = new CountDownLatch(1);
    releaseAll = new CountDownLatch(1);
    return reachedAll;
  }

  /** Lets the held bulk read go on. */
  public void releaseAll() {
    releaseAll.countDown();
  }

  @Override
  public CompletableFuture<L2Read[]> getAll(String cache, String[] keys) {
    CountDownLatch gateReached = reachedAll;
    CountDownLatch gate = releaseAll;
    if (gateReached == null) {
      return super.getAll(cache, keys);
    }
    reachedAll = null;
    L2Read[] answer = super.getAll(cache, keys).join();
    gateReached.countDown();
    await(gate);
    return CompletableFuture.completedFuture(answer);
  }

  private static void await(CountDownLatch gate) {
    try {
      if (!gate.await(10, TimeUnit.SECONDS)) {
        throw new IllegalStateException("test never released the held read");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public CompletableFuture<L2Read> get(String cache, String key) {
    CountDownLatch gateReached = reached;
    CountDownLatch gate = release;
    if (gateReached == null) {
      return super.get(cache, key);
    }
    reached = null;
    L2Read answer = super.get(cache, key).join();
    gateReached.countDown();
    await(gate);
    return CompletableFuture.completedFuture(answer);
  }
}
