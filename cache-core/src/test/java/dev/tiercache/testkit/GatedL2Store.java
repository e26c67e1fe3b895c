package dev.tiercache.testkit;

import dev.tiercache.spi.L2Entry;
import dev.tiercache.spi.L2Read;
import dev.tiercache.spi.L2Store;
import dev.tiercache.spi.L2Write;
import java.time.Duration;
import java.util.Collection;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Wraps a store so a test can hold one read between the moment it got its answer and the moment the cache sees it:
 * the window of the L2-read-then-L1-fill race. Everything else passes straight through.
 */
public final class GatedL2Store implements L2Store {

  private final L2Store delegate;
  private volatile CountDownLatch reached;
  private volatile CountDownLatch release;

  /**
   * Wraps a store.
   *
   * @param delegate the real store
   */
  public GatedL2Store(L2Store delegate) {
    this.delegate = delegate;
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

  @Override
  public CompletableFuture<L2Read> get(String cache, String key) {
    CountDownLatch gateReached = reached;
    CountDownLatch gate = release;
    if (gateReached == null) {
      return delegate.get(cache, key);
    }
    reached = null;
    L2Read answer = delegate.get(cache, key).join();
    gateReached.countDown();
    try {
      if (!gate.await(10, TimeUnit.SECONDS)) {
        throw new IllegalStateException("test never released the held read");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return CompletableFuture.completedFuture(answer);
  }

  @Override
  public CompletableFuture<Map<String, L2Read>> getAll(String cache, Collection<String> keys) {
    return delegate.getAll(cache, keys);
  }

  @Override
  public CompletableFuture<Collection<String>> putIfCurrent(
      String cache, Map<String, L2Write> writes, Duration ttl) {
    return delegate.putIfCurrent(cache, writes, ttl);
  }

  @Override
  public CompletableFuture<Void> put(String cache, String key, L2Entry entry, Duration ttl) {
    return delegate.put(cache, key, entry, ttl);
  }

  @Override
  public CompletableFuture<Void> invalidateKey(String cache, String key) {
    return delegate.invalidateKey(cache, key);
  }

  @Override
  public CompletableFuture<Void> invalidatePrefix(String cache, String prefix) {
    return delegate.invalidatePrefix(cache, prefix);
  }

  @Override
  public CompletableFuture<Void> invalidateTag(String cache, String tag) {
    return delegate.invalidateTag(cache, tag);
  }

  @Override
  public CompletableFuture<Void> invalidatePattern(String cache, String glob) {
    return delegate.invalidatePattern(cache, glob);
  }
}
