package dev.tiercache;

import dev.tiercache.spi.InvalidationMessage;
import dev.tiercache.spi.L2Entry;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Everything that removes or replaces values: invalidations made here (in the L1 at once, then in the L2 and on the
 * bus, or queued when they cannot get there), writes, and invalidations that arrive from other instances.
 *
 * <p>An invalidation that returns normally has reached the L2 and the bus: with a store that announces invalidations,
 * the bus message leaves in the same atomic step that changes the L2; otherwise this instance publishes it and waits
 * for the bus to take it. One that cannot get there within the L2 timeout throws {@link InvalidationPendingException}
 * after taking effect here; it waits in the pending queue (and the L2 is not trusted meanwhile) or in the bus outbox,
 * and is retried until it gets through. One whose L2 call throws an {@link Error} waits in the pending queue too, and
 * one whose bus publish throws one waits in the outbox; either way the Error reaches the caller as it was thrown.
 */
final class Invalidator {

  private static final Logger LOG = LoggerFactory.getLogger(TieredCache.class);

  /** Covers every key: what a node that lost track of what it invalidated applies. */
  static final Invalidation EVERYTHING = Invalidation.all();

  private final String name;
  private final String origin;
  private final InvalidationLog log;
  private final L1Tier<?> l1;
  private final L2Tier<?> l2;
  private final Flights<?> flights;
  private final CacheMetrics metrics;
  private final PendingInvalidations pending;
  private final long retryNanos;
  private final long timeoutNanos;
  private final Executor executor;
  private final KeyLocks keyLocks = new KeyLocks();
  /** Detaches one key's load in flight; made once, so that a local put allocates nothing for it. */
  private final Consumer<String> detachKey;
  private final AtomicBoolean draining = new AtomicBoolean();
  private final AtomicInteger failedDrains = new AtomicInteger();
  private final AtomicLong sequence = new AtomicLong();
  private final RateLimitedLog clears = new RateLimitedLog(LOG);
  /** Set once the bus link exists; null for a cache without a bus. */
  private volatile BusLink bus;
  /** Whether the L2 store publishes built-in invalidations on the bus this cache listens to. */
  private volatile boolean storeAnnounces;
  private volatile boolean closed;

  Invalidator(
      TieredCacheBuilder<?, ?> settings,
      String origin,
      InvalidationLog log,
      L1Tier<?> l1,
      L2Tier<?> l2,
      Flights<?> flights,
      CacheMetrics metrics) {
    this.name = settings.name;
    this.origin = origin;
    this.log = log;
    this.l1 = l1;
    this.l2 = l2;
    this.flights = flights;
    this.detachKey = flights::detachKey;
    this.metrics = metrics;
    this.pending = new PendingInvalidations(settings.pendingInvalidations);
    this.retryNanos = settings.l2RetryInterval.toNanos();
    this.timeoutNanos = settings.l2Timeout.toNanos();
    this.executor = settings.executor;
    if (l2 != null) {
      metrics.bindPendingInvalidations(pending::size);
    }
  }

  void connect(BusLink link, boolean announcedByStore) {
    this.bus = link;
    this.storeAnnounces = announcedByStore;
  }

  int pendingCount() {
    return pending.size();
  }

  /** Whether the L2 may be read and written: there is one, and no invalidation waits to be applied to it. */
  boolean l2Trusted() {
    return l2 != null && pending.isEmpty();
  }

  // ---- invalidations made here ----

  void invalidate(Invalidation invalidation) {
    complete(invalidation, start(invalidation));
  }

  /** The part of an invalidation that happens on the caller's thread, even for {@code invalidateAsync}: the L1. */
  InvalidationLog.Entry start(Invalidation invalidation) {
    metrics.invalidation(invalidation.strategy().name());
    return begin(invalidation);
  }

  /** The rest: the L2 and the bus, then the end in the log. */
  void complete(Invalidation invalidation, InvalidationLog.Entry running) {
    Throwable failure;
    try {
      failure = propagate(invalidation);
    } finally {
      end(running);
    }
    if (failure != null) {
      throw new InvalidationPendingException(name, invalidation, failure);
    }
  }

  /**
   * Takes an invalidation to the L2 and the bus.
   *
   * @return null when both have it, else why not (it is then queued or in the outbox)
   */
  private Throwable propagate(Invalidation invalidation) {
    if (l2 == null) {
      return publishAndWait(invalidation);
    }
    // Tried even while earlier ones wait in the queue: invalidations only remove, so their order in the L2 does not
    // matter, and one applied later than a put only costs that put's entry (a miss), never a stale read.
    Throwable failure;
    try {
      failure = l2.invalidate(invalidation, announcement(invalidation));
    } catch (Error bug) {
      throw deferred(invalidation, bug);
    }
    if (failure != null) {
      defer(invalidation);
      return failure;
    }
    return announcedByStore(invalidation) ? null : publishAndWait(invalidation);
  }

  /**
   * Writes a value: one key's invalidation (which loads in flight and other instances see) and a new value in the L2
   * and the L1. Writes of one key are serialized here, so the L1 keeps the value the L2 ended with.
   */
  <V> void put(String key, V value, Tags tags, L2Entry entry, L1Tier<V> l1Tier) {
    if (l2 == null && bus == null) {
      // Nothing to propagate: the stripe of the key serializes its writes, and the keyLock is not needed. The load in
      // flight is detached under the stripe, as the write takes its stamp: detached later, it could be a load that
      // began after the write (and read what it wrote), and a reader that missed then would load a second time.
      l1Tier.writeLocally(key, value, tags, detachKey);
      return;
    }
    Invalidation supersede = Invalidation.key(key);
    ReentrantLock lock = keyLocks.of(key);
    lock.lock();
    Throwable failure = null;
    boolean replaced = false;
    try {
      // The old value stays in the L1 until the new one replaces it (one L1 write, not a removal and then a write):
      // a read concurrent with the put may return either. Loads that began before are refused all the same.
      InvalidationLog.Entry running = begin(supersede, true, false);
      boolean stored = true;
      try {
        if (l2 != null) {
          try {
            failure = l2.put(key, entry, announcement(supersede), () -> landedLate(supersede));
          } catch (Error bug) {
            throw deferred(supersede, bug);
          }
          if (failure != null) {
            // The L2 may still hold the old value: it is removed there once the L2 is back.
            stored = false;
            defer(supersede);
          } else if (!announcedByStore(supersede)) {
            failure = publishAndWait(supersede);
          }
        } else {
          failure = publishAndWait(supersede);
        }
      } finally {
        end(running);
      }
      // Stamped at the write's end: loads that began before it cannot be installed over it. Refused when an
      // invalidation of the key overlapped (and removed it from the L1), and always in an L1 that keeps nothing.
      replaced = stored && l1Tier.installWritten(key, value, tags, running.end);
    } finally {
      if (!replaced) {
        // Not replaced (the L2 may still hold the old value, or the write failed half way): the old one must go.
        l1.remove(key);
      }
      lock.unlock();
    }
    if (failure != null) {
      throw new InvalidationPendingException(name, supersede, failure);
    }
  }

  /**
   * A put that was reported failed took effect after all, maybe after its key's invalidation was retried and after a
   * later put: the key is invalidated in the L2 again. Runs on the store's completion thread, so it only queues.
   */
  private void landedLate(Invalidation supersede) {
    if (pending.add(supersede)) {
      clearL1("more invalidations are waiting for the L2 than the pending queue holds");
    }
    scheduleDrain();
  }

  private boolean announcedByStore(Invalidation invalidation) {
    return storeAnnounces && invalidation.isBuiltIn();
  }

  /**
   * The message the L2 store publishes with the change, or null when the store does not announce on this cache's bus
   * (then the cache publishes itself, and the store must not publish a second copy elsewhere).
   */
  private InvalidationMessage announcement(Invalidation invalidation) {
    return announcedByStore(invalidation) ? message(invalidation) : null;
  }

  private InvalidationMessage message(Invalidation invalidation) {
    return new InvalidationMessage(
        origin,
        sequence.incrementAndGet(),
        System.currentTimeMillis(),
        List.of(new InvalidationMessage.Item(invalidation.strategy().name(), invalidation.argument())));
  }

  /**
   * Publishes through this instance's outbox and waits for the bus to take it, at most the L2 timeout. A message the
   * bus refuses stays in the outbox and is retried.
   */
  private Throwable publishAndWait(Invalidation invalidation) {
    BusLink link = bus;
    if (link == null) {
      return null;
    }
    CompletableFuture<Void> sent = link.publish(message(invalidation));
    try {
      sent.get(timeoutNanos, TimeUnit.NANOSECONDS);
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return e;
    } catch (ExecutionException e) {
      return e.getCause() != null ? e.getCause() : e;
    } catch (TimeoutException e) {
      return e;
    }
  }

  /**
   * Queues an invalidation the L2 could not take, in order behind any already waiting, and schedules a retry. From
   * now until the queue is empty this instance does not trust the L2.
   */
  private void defer(Invalidation invalidation) {
    if (pending.add(invalidation)) {
      clearL1("more invalidations are waiting for the L2 than the pending queue holds");
    }
    if (closed) {
      // No more retries after close: one last attempt now, and a line in the log if it fails too.
      drainOrWarn();
    } else {
      scheduleDrain();
    }
  }

  /**
   * Defers an invalidation whose L2 call threw an Error (a store's or a codec's bug) instead of failing: the L2 may
   * lack it just the same, and trusted meanwhile it would serve what the invalidation covered, here and to the other
   * instances, which the retry also tells. The Error is returned unchanged, for the caller to throw.
   */
  private Error deferred(Invalidation invalidation, Error bug) {
    defer(invalidation);
    return bug;
  }

  /**
   * Retries later, on the cache's executor: the shared timer only wakes it up, since a drain makes L2 calls that may
   * each take the L2 timeout, and the timer also drives every cache's heartbeats.
   */
  private void scheduleDrain() {
    if (!closed && draining.compareAndSet(false, true)) {
      Background.TIMER.schedule(
          () -> {
            try {
              executor.execute(this::drainAndReschedule);
            } catch (RuntimeException rejected) {
              draining.set(false);
              scheduleDrain();
            }
          },
          nextRetryNanos(),
          TimeUnit.NANOSECONDS);
    }
  }

  /**
   * The first retries come quickly (50 ms, doubling) and then every {@code l2RetryInterval}: one timed-out call on a
   * busy Redis queues an invalidation, and this instance does not trust its L2 until it is applied, so a short hiccup
   * should cost milliseconds of that, while an outage costs Redis one attempt per interval.
   */
  private long nextRetryNanos() {
    int failures = failedDrains.get();
    return failures >= 5 ? retryNanos : Math.min(retryNanos, TimeUnit.MILLISECONDS.toNanos(50) << failures);
  }

  private void drainAndReschedule() {
    try {
      if (drainOrFail()) {
        failedDrains.set(0);
      } else {
        failedDrains.incrementAndGet();
      }
    } finally {
      draining.set(false);
      if (!pending.isEmpty()) {
        scheduleDrain();
      }
    }
  }

  /**
   * {@link #drain}, with a store's {@link Error} counted as a failed retry: the invalidation stays first in the queue
   * and the retries back off as after any failure, instead of coming every 50 ms and throwing the Error on the
   * executor's thread each time. The caller of the first attempt saw it; here it is logged by class only (its message
   * may quote a value).
   */
  private boolean drainOrFail() {
    try {
      return drain();
    } catch (Error bug) {
      LOG.warn("cache '{}': a retry of a pending invalidation failed with {}", name, bug.getClass().getName());
      return false;
    }
  }

  /**
   * Applies pending invalidations in order, announcing each again, since other instances may have read the L2 before
   * it was cleaned. Stops at the first failure.
   *
   * @return whether nothing is pending any more
   */
  boolean drain() {
    PendingInvalidations.Next next;
    while ((next = pending.next()) != null) {
      Invalidation invalidation = next.everything() ? EVERYTHING : next.invalidation();
      if (l2.invalidate(invalidation, announcement(invalidation)) != null) {
        return false;
      }
      pending.applied(next);
      if (!announcedByStore(invalidation)) {
        BusLink link = bus;
        if (link != null) {
          // Not thrown: the outbox keeps it either way, and the invalidations behind it need not wait.
          link.publishInBackground(message(invalidation));
        }
      }
    }
    return true;
  }

  // ---- the local part, shared with remote invalidations ----

  /** Starts an invalidation made here: covered L1 entries stop being served and covered loads stop being joined. */
  InvalidationLog.Entry begin(Invalidation invalidation) {
    return begin(invalidation, true, true);
  }

  /**
   * Starts an invalidation, made here ({@code local}) or received from another instance. Installs check both kinds;
   * what a read already in flight returns depends only on local ones (see {@link InvalidationLog#coveredLocally}).
   */
  private InvalidationLog.Entry begin(Invalidation invalidation, boolean local, boolean removeFromL1) {
    InvalidationLog.Entry running =
        log.begin(
            invalidation,
            local,
            () -> {
              String single = invalidation.singleKey();
              if (single != null && removeFromL1) {
                if (local) {
                  l1.remove(single);
                } else {
                  l1.removeDelivered(single);
                }
              }
              flights.detach(invalidation);
            });
    if (invalidation.singleKey() == null) {
      l1.sweep(running);
    }
    if (LOG.isDebugEnabled()) {
      LOG.debug("cache '{}' invalidates {} '{}'", name, invalidation.strategy().name(),
          LogSafe.text(invalidation.argument()));
    }
    return running;
  }

  /** Ends an invalidation: loads that began while it ran may have read what it removed, so they are detached too. */
  void end(InvalidationLog.Entry running) {
    log.end(running, () -> flights.detach(running.invalidation));
  }

  /** Applies an invalidation that another instance already applied to the L2. */
  void applyLocally(Invalidation invalidation) {
    end(begin(invalidation, false, true));
  }

  void clearL1(String reason) {
    clears.warn("cache '{}' clears its L1: {}", name, reason);
    metrics.l1Cleared();
    applyLocally(EVERYTHING);
  }

  /**
   * Stops retrying, after one last attempt to apply what is pending, so that other instances do not keep serving
   * what this one invalidated until their TTL.
   */
  void close() {
    closed = true;
    if (l2 != null && !pending.isEmpty()) {
      drainOrWarn();
    }
  }

  private void drainOrWarn() {
    if (!drain()) {
      LOG.warn(
          "cache '{}' is closed with {} invalidations that never reached Redis; other instances may serve what they"
              + " cover until it expires",
          name, pending.size());
    }
  }
}
