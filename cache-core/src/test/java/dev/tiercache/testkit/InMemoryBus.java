package dev.tiercache.testkit;

import dev.tiercache.spi.InvalidationBus;
import dev.tiercache.spi.InvalidationMessage;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An in-process bus for tests: delivers each message to every subscriber of the cache, synchronously in the
 * publisher's thread, in publication order, and proves delivery at once. It can also misbehave as a real one does:
 * freeze (hold messages and heartbeats, as a frozen Redis does, and deliver them in order on thaw), drop its
 * connection (heartbeats fail).
 */
public final class InMemoryBus implements InvalidationBus {

  private final Map<String, List<Listener>> listeners = new ConcurrentHashMap<>();

  /** How many messages were published. */
  public final AtomicInteger published = new AtomicInteger();

  private boolean frozen;
  private boolean down;
  /** What a frozen bus holds, in order: messages to deliver and heartbeats to complete. */
  private final List<Runnable> held = new ArrayList<>();

  @Override
  public synchronized CompletableFuture<Void> publish(String cache, InvalidationMessage message) {
    published.incrementAndGet();
    if (down) {
      return CompletableFuture.failedFuture(new IllegalStateException("test: bus down"));
    }
    Runnable delivery = () -> listeners.getOrDefault(cache, List.of()).forEach(l -> l.onMessage(message));
    if (frozen) {
      held.add(delivery);
    } else {
      delivery.run();
    }
    return CompletableFuture.completedFuture(null);
  }

  /** Holds every message and heartbeat from now on, as a frozen (SIGSTOPped) server does. */
  public synchronized void freeze() {
    frozen = true;
  }

  /** Delivers what was held, in order, heartbeats included, and delivers at once again. */
  public synchronized void thaw() {
    frozen = false;
    held.forEach(Runnable::run);
    held.clear();
  }

  /** Everything published before this call has been delivered: delivery is synchronous, under the same lock. */
  @Override
  public synchronized CompletableFuture<Long> heartbeat(String cache) {
    heartbeats.incrementAndGet();
    long sentAt = System.nanoTime();
    if (down) {
      return CompletableFuture.failedFuture(new IllegalStateException("test: bus down"));
    }
    if (frozen) {
      CompletableFuture<Long> echo = new CompletableFuture<>();
      held.add(() -> echo.complete(sentAt));
      return echo;
    }
    return CompletableFuture.completedFuture(sentAt);
  }

  /** How many heartbeats were asked for. */
  public final AtomicInteger heartbeats = new AtomicInteger();

  @Override
  public Subscription subscribe(String cache, Listener listener) {
    List<Listener> list = listeners.computeIfAbsent(cache, c -> new CopyOnWriteArrayList<>());
    list.add(listener);
    return () -> list.remove(listener);
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
    synchronized (this) {
      down = true;
    }
    listeners.getOrDefault(cache, List.of()).forEach(l -> l.onConnectionLost("test: connection dropped"));
  }

  /**
   * Tells every subscriber of a cache that the bus receives again, after telling it that messages may be lost.
   *
   * @param cache the cache name
   */
  public void connectionRestored(String cache) {
    synchronized (this) {
      down = false;
    }
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
