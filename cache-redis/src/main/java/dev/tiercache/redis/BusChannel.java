package dev.tiercache.redis;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * One channel of the bus and what the bus knows of it: its subscribers, whether Redis confirmed the subscription on
 * the current connection (and when), and when a SUBSCRIBE was last asked for, so a retry does not flood Redis.
 */
final class BusChannel {

  final String name;
  /** The cache whose invalidations it carries; null for the heartbeat channel. */
  final String cache;
  final List<BusSubscriber> subscribers = new CopyOnWriteArrayList<>();
  /**
   * The {@code RedisBus} arrival number up to which a clear of this channel's caches started after the frame arrived:
   * a malformed frame numbered at or below it is covered by that clear (written and read on the delivery thread).
   */
  long clearedThrough;
  volatile boolean confirmed;
  /** The {@link System#nanoTime()} of the last confirmation; a heartbeat sent before it proves nothing. */
  volatile long confirmedAt;
  private CompletableFuture<Void> confirmation = new CompletableFuture<>();
  private boolean requested;
  private long requestedAt;

  BusChannel(String name, String cache) {
    this.name = name;
    this.cache = cache;
  }

  /** Completes when Redis confirms the subscription; exceptionally if it refuses it. */
  synchronized CompletableFuture<Void> confirmation() {
    return confirmation;
  }

  synchronized void confirm() {
    confirmedAt = System.nanoTime();
    confirmed = true;
    confirmation.complete(null);
  }

  /** The connection dropped: the subscription must be confirmed again, and may be asked for at once. */
  synchronized void unconfirm() {
    confirmed = false;
    requested = false;
    if (confirmation.isDone()) {
      confirmation = new CompletableFuture<>();
    }
  }

  /**
   * The subscription cannot be made now (Redis unreachable) or at all (an ACL without the channel): whoever waits
   * learns why at once instead of waiting out the probe timeout.
   */
  synchronized void fail(Throwable failure) {
    if (confirmed) {
      return;
    }
    CompletableFuture<Void> waiting = confirmation;
    confirmation = new CompletableFuture<>();
    waiting.completeExceptionally(failure);
  }

  /** Whether to send a SUBSCRIBE now: never asked on this connection, or asked longer than {@code patience} ago. */
  synchronized boolean shouldRequest(long now, Duration patience) {
    if (requested && now - requestedAt < patience.toNanos()) {
      return false;
    }
    requested = true;
    requestedAt = now;
    return true;
  }
}
