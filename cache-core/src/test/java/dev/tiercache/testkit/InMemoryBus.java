package dev.tiercache.testkit;

import dev.tiercache.spi.InvalidationBus;
import dev.tiercache.spi.InvalidationMessage;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An in-process bus for tests: delivers each message to every subscriber of the cache, synchronously in the
 * publisher's thread, in publication order. Can lose messages on purpose, to test gap detection.
 */
public final class InMemoryBus implements InvalidationBus {

  private final Map<String, List<Listener>> listeners = new ConcurrentHashMap<>();
  private final AtomicInteger toDrop = new AtomicInteger();

  /** How many messages were published. */
  public final AtomicInteger published = new AtomicInteger();

  @Override
  public synchronized CompletableFuture<Void> publish(String cache, InvalidationMessage message) {
    published.incrementAndGet();
    if (toDrop.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
      return CompletableFuture.completedFuture(null);
    }
    for (Listener listener : listeners.getOrDefault(cache, List.of())) {
      listener.onMessage(message);
    }
    return CompletableFuture.completedFuture(null);
  }

  /** Everything published before this call has been delivered: delivery is synchronous, under the same lock. */
  @Override
  public synchronized CompletableFuture<Long> heartbeat(String cache) {
    return CompletableFuture.completedFuture(System.nanoTime());
  }

  @Override
  public Subscription subscribe(String cache, Listener listener) {
    List<Listener> list = listeners.computeIfAbsent(cache, c -> new CopyOnWriteArrayList<>());
    list.add(listener);
    return () -> list.remove(listener);
  }

  /**
   * Loses the next messages, as a network that drops them would.
   *
   * @param count how many
   */
  public void dropNext(int count) {
    toDrop.set(count);
  }

  /**
   * Tells every subscriber of a cache that messages may have been lost, as a bus does after a reconnect.
   *
   * @param cache the cache name
   */
  public void suspect(String cache) {
    for (Listener listener : listeners.getOrDefault(cache, List.of())) {
      listener.onSuspect("test: subscription dropped");
    }
  }

  /**
   * Tells every subscriber of a cache that the bus stopped receiving, as a dropped connection would.
   *
   * @param cache the cache name
   */
  public void connectionLost(String cache) {
    listeners.getOrDefault(cache, List.of()).forEach(l -> l.onConnectionLost("test: connection dropped"));
  }

  /**
   * Tells every subscriber of a cache that the bus receives again, after telling it that messages may be lost.
   *
   * @param cache the cache name
   */
  public void connectionRestored(String cache) {
    for (Listener listener : listeners.getOrDefault(cache, List.of())) {
      listener.onSuspect("test: resubscribed");
      listener.onConnectionRestored();
    }
  }

  /**
   * Returns the number of subscribers of a cache.
   *
   * @param cache the cache name
   * @return the count
   */
  public int subscribers(String cache) {
    return listeners.getOrDefault(cache, List.of()).size();
  }
}
