package dev.tiercache;

import dev.tiercache.spi.InvalidationBus;
import dev.tiercache.spi.InvalidationMessage;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One cache instance's link to the bus: numbers what it sends so that receivers can see gaps, ignores its own
 * messages, and turns what it receives into local invalidations, or into an L1 clear when something may have been
 * missed.
 */
final class BusLink implements InvalidationBus.Listener {

  private static final Logger LOG = LoggerFactory.getLogger(TieredCache.class);

  private final String cache;
  private final InvalidationBus bus;
  private final Map<String, InvalidationStrategy> strategies;
  private final CacheMetrics metrics;
  private final Consumer<Invalidation> applyRemote;
  private final Consumer<String> clearL1;
  private final String nodeId = UUID.randomUUID().toString();
  private final Map<String, Long> lastSequenceByOrigin = new ConcurrentHashMap<>();
  private final Object sendLock = new Object();
  private long sequence;
  private final InvalidationBus.Subscription subscription;

  BusLink(
      String cache,
      InvalidationBus bus,
      Map<String, InvalidationStrategy> strategies,
      CacheMetrics metrics,
      Consumer<Invalidation> applyRemote,
      Consumer<String> clearL1) {
    this.cache = cache;
    this.bus = bus;
    this.strategies = Map.copyOf(strategies);
    this.metrics = metrics;
    this.applyRemote = applyRemote;
    this.clearL1 = clearL1;
    this.subscription = bus.subscribe(cache, this);
  }

  String nodeId() {
    return nodeId;
  }

  /**
   * Sends invalidations to the other instances. Numbering and handing to the bus happen under one lock so that
   * messages leave in sequence order; the bus call itself does not wait for the network.
   */
  void publish(List<Invalidation> invalidations) {
    List<InvalidationMessage.Item> items =
        invalidations.stream()
            .map(i -> new InvalidationMessage.Item(i.strategy().name(), i.argument()))
            .toList();
    try {
      synchronized (sendLock) {
        InvalidationMessage message =
            new InvalidationMessage(nodeId, ++sequence, System.currentTimeMillis(), items);
        bus.publish(cache, message)
            .whenComplete(
                (ok, failure) -> {
                  if (failure != null) {
                    publishFailed(failure);
                  } else {
                    metrics.busSent();
                  }
                });
      }
    } catch (RuntimeException e) {
      publishFailed(e);
    }
  }

  private void publishFailed(Throwable failure) {
    metrics.l2Error("publish");
    LOG.warn("cache '{}' could not publish an invalidation: {}", cache, failure.getClass().getSimpleName());
  }

  @Override
  public void onMessage(InvalidationMessage message) {
    if (message.origin().equals(nodeId)) {
      return;
    }
    Long last = lastSequenceByOrigin.put(message.origin(), message.sequence());
    // A first message that is not its sender's first may follow lost ones; it may also just mean this instance
    // subscribed late. Clearing is right in the first case and cheap in the second: it happens once per peer.
    long expected = last == null ? 1 : last + 1;
    if (message.sequence() != expected) {
      if (last != null && message.sequence() <= last) {
        // A redelivery of something already applied: keep the higher mark, apply nothing twice.
        lastSequenceByOrigin.merge(message.origin(), last, Math::max);
        return;
      }
      metrics.busGap();
      clearL1.accept("gap in the messages of another instance");
    }
    metrics.busReceived(System.currentTimeMillis() - message.sentAtMillis());
    for (InvalidationMessage.Item item : message.invalidations()) {
      InvalidationStrategy strategy = strategies.get(item.strategy());
      Invalidation invalidation;
      try {
        invalidation = strategy == null ? null : Invalidation.of(strategy, item.argument());
      } catch (RuntimeException e) {
        invalidation = null;
      }
      if (invalidation == null) {
        clearL1.accept("an invalidation this instance cannot apply (strategy '" + item.strategy() + "')");
      } else {
        applyRemote.accept(invalidation);
      }
    }
  }

  @Override
  public void onSuspect(String reason) {
    clearL1.accept(reason);
  }

  void close() {
    subscription.close();
  }
}
