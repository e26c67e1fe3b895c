package dev.tiercache;

import com.github.benmanes.caffeine.cache.Ticker;
import dev.tiercache.spi.InvalidationBus;
import dev.tiercache.spi.InvalidationMessage;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
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

  private final RateLimitedLog warnings = new RateLimitedLog(LOG);

  /** The most invalidations one message carries. */
  static final int MAX_BATCH = 512;

  private final String cache;
  private final InvalidationBus bus;
  private final Map<String, InvalidationStrategy> strategies;
  private final CacheMetrics metrics;
  private final Consumer<Invalidation> applyRemote;
  private final Consumer<String> clearL1;
  private final String nodeId;
  private final Map<String, Long> lastSequenceByOrigin = new ConcurrentHashMap<>();
  private final Queue<InvalidationMessage.Item> outbox = new ConcurrentLinkedQueue<>();
  private final AtomicBoolean sending = new AtomicBoolean();
  /** Written only by the thread that holds {@code sending}; the flag's handover orders the writes. */
  private long sequence;
  private final InvalidationBus.Subscription subscription;
  private final Ticker ticker;
  private final Duration grace;
  private final long graceNanos;
  /** The ticker time when the bus went down, or {@link #UP}. */
  private volatile long downSince = UP;

  private static final long UP = Long.MIN_VALUE;

  BusLink(
      TieredCacheBuilder<?, ?> settings,
      String nodeId,
      InvalidationBus bus,
      CacheMetrics metrics,
      Consumer<Invalidation> applyRemote,
      Consumer<String> clearL1) {
    this.cache = settings.name;
    this.nodeId = nodeId;
    this.ticker = settings.ticker;
    this.grace = settings.busGracePeriod;
    this.graceNanos = saturatedNanos(settings.busGracePeriod);
    this.bus = bus;
    this.strategies = Map.copyOf(settings.strategies);
    this.metrics = metrics;
    this.applyRemote = applyRemote;
    this.clearL1 = clearL1;
    this.subscription = bus.subscribe(cache, this);
  }

  private static long saturatedNanos(Duration duration) {
    try {
      return duration.toNanos();
    } catch (ArithmeticException e) {
      return Long.MAX_VALUE;
    }
  }

  /**
   * Sends invalidations to the other instances. One message is in flight at a time; what arrives meanwhile waits in
   * the outbox and leaves in the next message, so a burst of invalidations costs a few messages, not one each. Only
   * the thread holding {@code sending} numbers and sends, so messages leave in sequence order. A message the bus
   * fails to send has still used its number: receivers see the gap and clear their L1.
   */
  void publish(List<Invalidation> invalidations) {
    for (Invalidation invalidation : invalidations) {
      outbox.add(new InvalidationMessage.Item(invalidation.strategy().name(), invalidation.argument()));
    }
    drain();
  }

  private void drain() {
    while (sending.compareAndSet(false, true)) {
      List<InvalidationMessage.Item> batch = new ArrayList<>();
      for (InvalidationMessage.Item item; batch.size() < MAX_BATCH && (item = outbox.poll()) != null; ) {
        batch.add(item);
      }
      if (batch.isEmpty()) {
        sending.set(false);
        if (outbox.isEmpty()) {
          return;
        }
        continue;
      }
      CompletableFuture<Void> sent = send(batch);
      if (!sent.isDone()) {
        sent.whenComplete((ok, failure) -> {
          sent(failure);
          sending.set(false);
          drain();
        });
        return;
      }
      // Sent at once (an in-process bus): loop instead of recursing.
      sent(sent.isCompletedExceptionally() ? failureOf(sent) : null);
      sending.set(false);
    }
  }

  private CompletableFuture<Void> send(List<InvalidationMessage.Item> batch) {
    try {
      return bus.publish(
          cache, new InvalidationMessage(nodeId, ++sequence, System.currentTimeMillis(), batch));
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  private void sent(Throwable failure) {
    if (failure == null) {
      metrics.busSent();
    } else {
      publishFailed(failure);
    }
  }

  private static Throwable failureOf(CompletableFuture<?> future) {
    try {
      future.join();
      return null;
    } catch (RuntimeException e) {
      return e.getCause() != null ? e.getCause() : e;
    }
  }

  private void publishFailed(Throwable failure) {
    metrics.l2Error("publish");
    warnings.warn("cache '{}' could not publish an invalidation: {}", cache, failure.getClass().getSimpleName());
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

  @Override
  public void onConnectionLost(String reason) {
    if (downSince == UP) {
      LOG.warn("cache '{}' lost its bus ({}); its L1 is served for {} more", cache, reason, grace);
      downSince = ticker.read();
    }
  }

  @Override
  public void onConnectionRestored() {
    if (downSince != UP) {
      LOG.info("cache '{}' has its bus back", cache);
      downSince = UP;
    }
  }

  /**
   * Whether the L1 may be served: always while the bus is up, and for the grace period after it went down (DESIGN.md
   * invariant 2). One volatile read on the hit path.
   */
  boolean l1Servable() {
    long since = downSince;
    return since == UP || ticker.read() - since < graceNanos;
  }

  void close() {
    subscription.close();
  }
}
