package dev.tiercache;

import dev.tiercache.spi.InvalidationBus;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The staleness bound of DESIGN.md invariant 2, kept by this instance alone. A heartbeat that was sent at local time
 * {@code t} and came back proves that every invalidation published before {@code t} has been applied here, because
 * the bus delivers in order ({@link InvalidationBus#heartbeat}). The L1 may then be served until
 * {@code t + maxStaleness}: whatever another instance finished invalidating more than {@code maxStaleness} before a
 * read has reached this instance before that read. Silence proves nothing: a frozen, slow or unreachable Redis stops
 * the heartbeats, and the L1 stops being served within the bound. Only {@link System#nanoTime()} of this JVM is read;
 * no two machines' clocks are compared.
 *
 * <p>Heartbeats go out every quarter of the bound, and on demand when a read finds the proof expired (a bus that
 * delivers synchronously proves at once).
 */
final class DeliveryProof {

  private static final Logger LOG = LoggerFactory.getLogger(TieredCache.class);

  private final String cache;
  private final InvalidationBus bus;
  private final long boundNanos;
  private final long intervalNanos;
  /**
   * The {@link System#nanoTime()} until which the L1 may be served. A field, not an AtomicLong: every hit reads it,
   * and the writers ({@link #advance}, {@link #withdraw}) hold this object's lock.
   */
  private volatile long validUntil = System.nanoTime() - 1;
  /** The start of the heartbeat in flight, or {@link #IDLE}. */
  private final AtomicLong inFlightSince = new AtomicLong(IDLE);
  private final AtomicLong lastAttempt = new AtomicLong(System.nanoTime() - Long.MAX_VALUE / 2);
  /** Moves on when the bus drops: a heartbeat sent before must not prove anything after. */
  private final AtomicInteger generation = new AtomicInteger();
  private volatile boolean unsupportedLogged;
  private final RateLimitedLog errors = new RateLimitedLog(LOG);
  private volatile ScheduledFuture<?> schedule;
  private volatile boolean stopped;

  private static final long IDLE = Long.MIN_VALUE;

  DeliveryProof(String cache, InvalidationBus bus, Duration bound) {
    this.cache = cache;
    this.bus = bus;
    this.boundNanos = bound.toNanos();
    this.intervalNanos = Math.max(TimeUnit.MILLISECONDS.toNanos(1), boundNanos / 4);
  }

  void start() {
    request();
    schedule =
        Background.TIMER.scheduleAtFixedRate(this::request, intervalNanos, intervalNanos, TimeUnit.NANOSECONDS);
  }

  /** Whether the L1 may be served now; asks for a heartbeat when the proof has expired. */
  boolean holds() {
    return holds(System.nanoTime());
  }

  /** As {@link #holds()}, at {@code now}, a reading of {@link System#nanoTime()} the caller has just made. */
  boolean holds(long now) {
    if (now - validUntil < 0) {
      return true;
    }
    request();
    return System.nanoTime() - validUntil < 0;
  }

  /**
   * Sends a heartbeat unless one is in flight (one that has not come back within the bound no longer counts as in
   * flight) or one was attempted very recently (a bus that fails at once must not be called on every read).
   */
  void request() {
    long now = System.nanoTime();
    long since = inFlightSince.get();
    if (stopped
        || (since != IDLE && now - since < boundNanos)
        || now - lastAttempt.get() < intervalNanos / 8
        || !inFlightSince.compareAndSet(since, now)) {
      return;
    }
    lastAttempt.set(now);
    int sentIn = generation.get();
    CompletableFuture<Long> heartbeat;
    try {
      heartbeat = Objects.requireNonNull(bus.heartbeat(cache), "the bus returned no heartbeat");
    } catch (RuntimeException e) {
      heartbeat = CompletableFuture.failedFuture(e);
    } catch (Error bug) {
      // A heartbeat that failed like any other. Thrown, it would end the periodic heartbeats for good and reach
      // whoever asked: a reader, or the bus's own thread telling its listeners the connection is back.
      errors.warn("cache '{}': the bus threw {} on heartbeat; the L1 is not served until one comes back", cache,
          bug.getClass().getName());
      heartbeat = CompletableFuture.failedFuture(bug);
    }
    heartbeat.whenComplete(
        (sentAt, failure) -> {
          inFlightSince.compareAndSet(now, IDLE);
          if (failure == null && sentAt != null) {
            advance(sentIn, sentAt + boundNanos);
          } else if (failure instanceof UnsupportedOperationException && !unsupportedLogged) {
            unsupportedLogged = true;
            LOG.warn("cache '{}': its bus cannot prove delivery, so its L1 is never served", cache);
          }
        });
  }

  /**
   * Stops serving the L1 at once (the bus dropped: what is published now may never arrive).
   *
   * @return whether the proof held until now
   */
  boolean withdraw() {
    synchronized (this) {
      generation.incrementAndGet();
      inFlightSince.set(IDLE);
      long now = System.nanoTime();
      long before = validUntil;
      validUntil = now - 1;
      return now - before < 0;
    }
  }

  /**
   * Extends the proof, unless the bus dropped since the heartbeat was sent. Shares a lock with {@link #withdraw()}:
   * a check then an extension that a withdraw slips between would undo the withdraw.
   */
  private synchronized void advance(int sentIn, long until) {
    if (sentIn == generation.get()) {
      if (until - validUntil > 0) {
        validUntil = until;
      }
    }
  }

  void stop() {
    stopped = true;
    ScheduledFuture<?> scheduled = schedule;
    if (scheduled != null) {
      scheduled.cancel(false);
    }
  }
}
