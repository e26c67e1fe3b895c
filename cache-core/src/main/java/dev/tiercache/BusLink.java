package dev.tiercache;

import dev.tiercache.spi.InvalidationBus;
import dev.tiercache.spi.InvalidationMessage;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One cache instance's link to the bus: sends what the L2 store does not announce itself, turns what it receives into
 * local invalidations (or an L1 clear when something may have been missed), and keeps the proof that decides whether
 * the L1 may be served ({@link DeliveryProof}).
 */
final class BusLink implements InvalidationBus.Listener {

  private static final Logger LOG = LoggerFactory.getLogger(TieredCache.class);

  private final String cache;
  private final InvalidationBus bus;
  private final Map<String, InvalidationStrategy> strategies;
  private final CacheMetrics metrics;
  private final Consumer<Invalidation> applyRemote;
  private final Consumer<String> clearL1;
  private final String nodeId;
  private final DeliveryProof proof;
  private final Outbox outbox;
  private final InvalidationBus.Subscription subscription;
  private final long closeTimeoutNanos;

  BusLink(
      TieredCacheBuilder<?, ?> settings,
      String nodeId,
      InvalidationBus bus,
      CacheMetrics metrics,
      Consumer<Invalidation> applyRemote,
      Consumer<String> clearL1) {
    this.cache = settings.name;
    this.nodeId = nodeId;
    this.bus = bus;
    this.strategies = Map.copyOf(settings.strategies);
    this.metrics = metrics;
    this.applyRemote = applyRemote;
    this.clearL1 = clearL1;
    this.proof = new DeliveryProof(cache, bus, settings.maxStaleness);
    this.outbox = new Outbox(cache, bus, metrics, settings.l2RetryInterval, settings.l2Timeout);
    this.closeTimeoutNanos = settings.l2Timeout.toNanos();
    this.subscription = bus.subscribe(cache, this);
    proof.start();
  }

  /**
   * Sends a message the L2 store did not announce itself. It is retried until the bus takes it; the returned future
   * tells whether the first attempt succeeded. An Error the bus throws reaches the caller, after the message was kept
   * for the retries.
   */
  CompletableFuture<Void> publish(InvalidationMessage message) {
    return outbox.send(message);
  }

  /** As {@link #publish}, for a caller that does not wait: an Error the bus throws is logged, not thrown. */
  void publishInBackground(InvalidationMessage message) {
    outbox.sendInBackground(message);
  }

  @Override
  public void onMessage(InvalidationMessage message) {
    if (message.origin().equals(nodeId)) {
      return;
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
        clearL1.accept("an invalidation this instance cannot apply (strategy '" + LogSafe.text(item.strategy()) + "')");
      } else {
        applyRemote.accept(invalidation);
      }
    }
  }

  @Override
  public void onSuspect(String reason) {
    metrics.busGap();
    clearL1.accept(reason);
  }

  @Override
  public void onConnectionLost(String reason) {
    if (proof.withdraw()) {
      LOG.warn("cache '{}' lost its bus ({}); it reads past its L1 until the bus proves delivery again", cache,
          LogSafe.text(reason));
    }
  }

  @Override
  public void onConnectionRestored() {
    LOG.info("cache '{}' has its bus back", cache);
    proof.request();
  }

  /**
   * Whether the L1 may be served: only while a heartbeat that came back proves that every invalidation published
   * more than {@code maxStaleness} ago has been applied here (DESIGN.md invariant 2).
   */
  boolean l1Servable() {
    return proof.holds();
  }

  /** As {@link #l1Servable()}, at a reading of {@link System#nanoTime()} the caller has just made. */
  boolean l1Servable(long nanoTime) {
    return proof.holds(nanoTime);
  }

  void close() {
    proof.stop();
    int unsent = outbox.close(closeTimeoutNanos);
    if (unsent > 0) {
      LOG.warn("cache '{}' is closed with {} invalidation messages the bus never took; other instances may serve what"
          + " they cover until it expires", cache, unsent);
    }
    subscription.close();
  }
}
