package dev.tiercache;

import dev.tiercache.spi.InvalidationBus;
import dev.tiercache.spi.InvalidationMessage;
import java.time.Duration;
import java.util.Objects;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The messages this instance publishes itself (those its L2 store does not announce atomically): a message the bus
 * refuses is kept and retried until it goes out, never dropped. Invalidations commute, so a retried message may
 * arrive after a later one.
 *
 * <p>A bus that throws an {@link Error} instead of returning a future (its bug), returns none, or does not answer
 * within the L2 timeout is treated as one that refuses: the message is kept and retried all the same, since the other
 * instances need it whatever went wrong here.
 */
final class Outbox {

  private static final Logger LOG = LoggerFactory.getLogger(TieredCache.class);

  private final String cache;
  private final InvalidationBus bus;
  private final CacheMetrics metrics;
  private final long retryNanos;
  /** How long an attempt may go unanswered before it counts as refused (the L2 timeout the caller waits too). */
  private final long timeoutNanos;
  private final Queue<InvalidationMessage> unsent = new ConcurrentLinkedQueue<>();
  private final AtomicBoolean retryScheduled = new AtomicBoolean();
  private final RateLimitedLog errors = new RateLimitedLog(LOG);
  private volatile boolean closed;

  Outbox(String cache, InvalidationBus bus, CacheMetrics metrics, Duration retryInterval, Duration timeout) {
    this.cache = cache;
    this.bus = bus;
    this.metrics = metrics;
    this.retryNanos = retryInterval.toNanos();
    this.timeoutNanos = timeout.toNanos();
  }

  /**
   * Publishes; if the bus refuses, keeps the message for the retries. The future is the first attempt's outcome.
   *
   * @throws Error what the bus threw, unchanged, after the message was kept for the retries
   */
  CompletableFuture<Void> send(InvalidationMessage message) {
    CompletableFuture<Void> sent;
    try {
      sent = attempt(message);
    } catch (Error bug) {
      keep(message);
      throw bug;
    }
    return sent.whenComplete(
        (ok, failure) -> {
          if (failure != null) {
            keep(message);
          }
        });
  }

  /**
   * As {@link #send}, for a caller nobody waits on (a retried invalidation's announcement): an Error the bus throws is
   * logged instead, the message kept all the same.
   */
  void sendInBackground(InvalidationMessage message) {
    try {
      send(message);
    } catch (Error bug) {
      logError(bug);
    }
  }

  private void keep(InvalidationMessage message) {
    unsent.add(message);
    scheduleRetry();
  }

  /** By class only: an Error's message may quote what the bus was sending. */
  private void logError(Error bug) {
    errors.warn("cache '{}': the bus threw {} on publish; the message is kept and retried", cache,
        bug.getClass().getName());
  }

  /**
   * Publishes once. The returned future fails when the bus refuses, and when it has not answered within the timeout:
   * the caller has been told the message is retried, and a bus with no timeout of its own (a connection gone silent)
   * may never answer. The bus's own future is left alone; if it succeeds later after all, that takes the message out
   * of the outbox (or a retry publishes it twice, which changes nothing), so a bus slower than the timeout does not
   * have it published again for as long as it stays slow.
   */
  private CompletableFuture<Void> attempt(InvalidationMessage message) {
    CompletableFuture<Void> published;
    try {
      // No future at all is a refusal too (the bus's bug), as DeliveryProof takes a heartbeat that returns none.
      published = Objects.requireNonNull(bus.publish(cache, message), "the bus returned no future");
    } catch (RuntimeException e) {
      published = CompletableFuture.failedFuture(e);
    } catch (Error bug) {
      metrics.l2Error("publish");
      throw bug;
    }
    published.whenComplete(
        (ok, failure) -> {
          if (failure == null) {
            metrics.busSent();
            unsent.remove(message);
          } else {
            metrics.l2Error("publish");
          }
        });
    return published.copy().orTimeout(timeoutNanos, TimeUnit.NANOSECONDS);
  }

  private void scheduleRetry() {
    if (!closed && retryScheduled.compareAndSet(false, true)) {
      Background.TIMER.schedule(this::retry, retryNanos, TimeUnit.NANOSECONDS);
    }
  }

  /** Sends what waits, oldest first, and stops at the first refusal: the bus is still unwell. */
  private void retry() {
    retryScheduled.set(false);
    InvalidationMessage next = unsent.peek();
    if (next == null || closed) {
      return;
    }
    CompletableFuture<Void> sent;
    try {
      sent = attempt(next);
    } catch (Error bug) {
      // A failed attempt like any other: thrown on the timer's thread it would end the retries for good.
      logError(bug);
      scheduleRetry();
      return;
    }
    sent.whenComplete(
        (ok, failure) -> {
          if (failure == null) {
            unsent.remove(next);
            if (retryScheduled.compareAndSet(false, true)) {
              Background.TIMER.execute(this::retry);
            }
          } else {
            scheduleRetry();
          }
        });
  }

  /**
   * Stops retrying, after one last attempt to send what waits (at most {@code timeoutNanos} in all), so that other
   * instances do not keep serving what this one invalidated.
   *
   * @return how many messages could not be sent
   */
  int close(long timeoutNanos) {
    closed = true;
    long deadline = System.nanoTime() + timeoutNanos;
    for (InvalidationMessage next; (next = unsent.peek()) != null; ) {
      try {
        attempt(next).get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        unsent.remove(next);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
        break;
      } catch (Error bug) {
        // Counted as unsent and reported by the caller; thrown, it would leave the cache's subscription open.
        logError(bug);
        break;
      }
    }
    return unsent.size();
  }
}
