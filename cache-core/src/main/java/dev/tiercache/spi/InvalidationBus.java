package dev.tiercache.spi;

import java.util.concurrent.CompletableFuture;

/**
 * Carries invalidations between the nodes (application instances) that share an L2, so that each node can drop
 * covered entries from its own L1. Redis Pub/Sub in production.
 *
 * <p>A bus delivers to a subscriber every message published on the cache's channel, its own included; the cache
 * ignores messages of its own origin. A bus that may have lost messages (a dropped subscription, a server restart)
 * must say so through {@link Listener#onSuspect(String)}: the cache then stops trusting its L1.
 *
 * <p>The caller that creates a bus closes it; a cache only closes its own subscription.
 */
public interface InvalidationBus extends AutoCloseable {

  /**
   * Publishes a message on the cache's channel.
   *
   * @param cache the cache name
   * @param message the message
   * @return completes when the bus accepted the message; exceptionally if it could not be sent
   */
  CompletableFuture<Void> publish(String cache, InvalidationMessage message);

  /**
   * Subscribes to the cache's channel.
   *
   * @param cache the cache name
   * @param listener called for every message and every suspected loss; must not block
   * @return the subscription; closing it stops delivery
   */
  Subscription subscribe(String cache, Listener listener);

  /** Releases the bus's resources. The default does nothing. */
  @Override
  default void close() {}

  /** Receives what the bus delivers. */
  interface Listener {

    /**
     * Called for each delivered message.
     *
     * @param message the message
     */
    void onMessage(InvalidationMessage message);

    /**
     * Called when messages may have been lost, for example after the subscription dropped and was restored.
     *
     * @param reason why, for the logs
     */
    void onSuspect(String reason);

    /**
     * Called when the bus stops receiving, for example when its connection dropped. The cache serves its L1 for a
     * short grace period, then reads past it until {@link #onConnectionRestored()}.
     *
     * @param reason why, for the logs
     */
    default void onConnectionLost(String reason) {}

    /**
     * Called when the bus receives again. A bus calls {@link #onSuspect(String)} first, since what was published
     * meanwhile is lost.
     */
    default void onConnectionRestored() {}
  }

  /** An active subscription. */
  interface Subscription extends AutoCloseable {

    /** Stops delivery to the listener. */
    @Override
    void close();
  }
}
