package dev.tiercache.spi;

import java.util.concurrent.CompletableFuture;

/**
 * Carries invalidations between the nodes (application instances) that share an L2, so that each node can drop
 * covered entries from its own L1. Redis Pub/Sub in production.
 *
 * <p>A bus delivers to a subscriber every message published on the cache's channel, its own included; the cache
 * ignores messages of its own origin. Messages reach a subscriber in the order the bus accepted them (per shard, on a
 * sharded bus). A bus that may have lost messages (a dropped subscription, a server restart, a heartbeat that never
 * came back while a later one did) must say so through {@link Listener#onSuspect(String)}: the cache then clears its
 * L1.
 *
 * <h2>Proof of delivery</h2>
 * A cache serves its L1 only while it can prove that it has received every invalidation published more than its
 * {@code maxStaleness} ago: silence is never taken for health. It proves it with {@link #heartbeat(String)}: a
 * heartbeat sent at local time {@code t} that came back proves that everything published before {@code t} has been
 * delivered, because the bus delivers in order. No clocks of two machines are ever compared.
 *
 * <p>The caller that creates a bus closes it; a cache only closes its own subscription.
 */
public interface InvalidationBus extends AutoCloseable {

  /**
   * Publishes a message on the cache's channel.
   *
   * @param cache the cache name
   * @param message the message
   * @return completes when the bus accepted the message; exceptionally if it could not be sent. A call that throws
   *     instead, an {@link Error} included, is taken as a refusal too: the cache keeps the message and retries it;
   *     so is a null future, or one not complete within the cache's L2 timeout (a late success is then published
   *     twice)
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

  /**
   * Sends a heartbeat that comes back to this bus only, behind every message published on the cache's channel before
   * it (on every shard that carries the channel), and completes with the {@link System#nanoTime()} read just before
   * it was sent, once it has come back and every message published before it has been handed to the listeners
   * (their {@link Listener#onMessage} returned). A bus may let concurrent callers share one heartbeat: the time it
   * completes with is that of the heartbeat actually sent, which may be earlier than the call.
   *
   * <p>The default fails: a bus that cannot prove delivery leaves the caches on it reading past their L1.
   *
   * @param cache the cache name
   * @return the send time of a heartbeat that came back; exceptionally if none could be sent
   */
  default CompletableFuture<Long> heartbeat(String cache) {
    return CompletableFuture.failedFuture(
        new UnsupportedOperationException(getClass().getName() + " cannot prove delivery"));
  }

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
     * Called when the bus stops receiving, for example when its connection dropped. The cache stops serving its L1 at
     * once, and serves it again once a heartbeat sent after {@link #onConnectionRestored()} has come back.
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
