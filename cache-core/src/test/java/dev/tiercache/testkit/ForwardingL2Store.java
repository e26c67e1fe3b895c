package dev.tiercache.testkit;

import dev.tiercache.spi.L2Entry;
import dev.tiercache.spi.L2Read;
import dev.tiercache.spi.L2Store;
import dev.tiercache.spi.L2Write;
import java.time.Duration;
import java.util.Collection;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/** An L2 that passes every call to another; tests override the calls they want to hold, fail or observe. */
public abstract class ForwardingL2Store implements L2Store {

  private final L2Store delegate;

  /**
   * Wraps a store.
   *
   * @param delegate the store every call goes to
   */
  protected ForwardingL2Store(L2Store delegate) {
    this.delegate = delegate;
  }

  @Override
  public CompletableFuture<L2Read> get(String cache, String key) {
    return delegate.get(cache, key);
  }

  @Override
  public CompletableFuture<L2Read[]> getAll(String cache, String[] keys) {
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

  @Override
  public CompletableFuture<Boolean> tryLease(String cache, String key, String owner, Duration ttl) {
    return delegate.tryLease(cache, key, owner, ttl);
  }

  @Override
  public CompletableFuture<Void> releaseLease(String cache, String key, String owner) {
    return delegate.releaseLease(cache, key, owner);
  }
}
