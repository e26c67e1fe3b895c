package dev.tiercache;

import dev.tiercache.codec.ValueCodec;
import dev.tiercache.spi.InvalidationMessage;
import dev.tiercache.spi.L2Entry;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import dev.tiercache.spi.L2Read;
import dev.tiercache.spi.L2Store;
import dev.tiercache.spi.L2Write;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The cache's side of the L2: bounds every call by the L2 timeout, turns values into entries and back, applies TTL
 * jitter, and reports failures as metrics and rate-limited log lines (never with a value in them).
 */
final class L2Tier<V> {

  private static final Logger LOG = LoggerFactory.getLogger(TieredCache.class);

  /** What a decoded L2 hit holds: the value, or null for a cached absence. */
  record Hit<V>(V value, Tags tags) {}

  private final String cache;
  private final L2Store store;
  private final ValueCodec<V> codec;
  private final CacheMetrics metrics;
  private final long timeoutNanos;
  private final Duration ttl;
  private final Duration negativeTtl;
  private final double jitter;
  private final RateLimitedLog warnings = new RateLimitedLog(LOG);
  private final CircuitBreaker breaker;
  private final int maxValueBytes;
  /** The breaker state last logged: one line per transition, not one per request. */
  private final AtomicReference<CircuitBreaker.State> loggedState =
      new AtomicReference<>(CircuitBreaker.State.CLOSED);

  L2Tier(TieredCacheBuilder<?, V> settings, CacheMetrics metrics) {
    this.cache = settings.name;
    this.store = settings.l2;
    this.codec = settings.valueCodec;
    this.metrics = metrics;
    this.timeoutNanos = settings.l2Timeout.toNanos();
    this.ttl = settings.effectiveL2Ttl();
    this.negativeTtl = settings.negativeTtl;
    this.jitter = settings.ttlJitter;
    this.maxValueBytes = settings.maxValueBytes;
    // No event consumer is registered: with one, Resilience4j allocates an event (and reads the wall clock) on
    // every call. Transitions are logged by polling the state instead (logTransition).
    this.breaker = CircuitBreaker.of(cache + ".l2", settings.l2CircuitBreaker);
    metrics.bindL2Circuit(() -> circuitLevel(breaker.getState()));
  }

  /** The {@code cache.l2.circuit} gauge: 0 closed, 1 half-open, 2 open (forced or not), -1 disabled. */
  private static int circuitLevel(CircuitBreaker.State state) {
    return switch (state) {
      case CLOSED, METRICS_ONLY -> 0;
      case HALF_OPEN -> 1;
      case OPEN, FORCED_OPEN -> 2;
      case DISABLED -> -1;
    };
  }

  /** The breaker's state as {@link CacheStatus#l2Circuit()} names it. */
  String circuitState() {
    return switch (circuitLevel(breaker.getState())) {
      case 0 -> "closed";
      case 1 -> "half-open";
      case 2 -> "open";
      default -> "disabled";
    };
  }

  /** Reads one key; null if the L2 failed or was too slow, which the caller treats as a miss it cannot write back. */
  L2Read get(String key) {
    L2Read read = attempt("get", () -> store.get(cache, key), null);
    if (read == null) {
      metrics.miss(CacheMetrics.Tier.L2);
    }
    return read;
  }

  /**
   * Reads keys in one call, {@code reads[i]} for {@code keys[i]}; null if the L2 failed or was too slow (each key
   * counted as a miss).
   */
  L2Read[] getAll(String[] keys) {
    L2Read[] reads = attempt("getAll", () -> store.getAll(cache, keys), null);
    if (reads != null && !wellFormed(reads, keys.length)) {
      // A store's answer that is not a read per key (the SPI's own contract) is a failed read, never an exception
      // to the caller (DESIGN.md invariant 3, review 10): the map the cache used to take a missing key for a miss.
      metrics.l2Error("getAll");
      warn("the L2 store answered a bulk read of cache '{}' with other than one read per key ({} for {} keys, or"
          + " nulls); treated as failed", cache, reads.length, keys.length);
      reads = null;
    }
    if (reads == null) {
      for (int i = 0; i < keys.length; i++) {
        metrics.miss(CacheMetrics.Tier.L2);
      }
    }
    return reads;
  }

  private static boolean wellFormed(L2Read[] reads, int keys) {
    if (reads.length != keys) {
      return false;
    }
    for (L2Read read : reads) {
      if (read == null) {
        return false;
      }
    }
    return true;
  }

  /** Decodes a read; null on a miss, and on an entry this codec cannot read (counted as an error). */
  Hit<V> decode(L2Read read) {
    Object value = valueOf(read);
    return value == MISS ? null : new Hit<>(value == ABSENT ? null : codecValue(value), read.entry().tags());
  }

  /** What {@link #valueOf} answers for a read that serves nothing. */
  static final Object MISS = new Object();
  /** What {@link #valueOf} answers for a cached absence. */
  static final Object ABSENT = new Object();

  /**
   * Decodes a read without a {@link Hit} (the tags are the read's entry's): the value, {@link #ABSENT} for a cached
   * absence, or {@link #MISS} on a miss and on an entry this codec cannot read (counted as an error). A bulk read
   * decodes a hundred of these at a time.
   */
  Object valueOf(L2Read read) {
    L2Entry entry = read.entry();
    if (entry == null) {
      metrics.miss(CacheMetrics.Tier.L2);
      return MISS;
    }
    if (!entry.codecId().equals(codec.id())) {
      return undecodable("foreign codec '" + entry.codecId() + "'");
    }
    if (entry.isAbsent()) {
      if (negativeTtl == null) {
        // Cached by an instance with a negative TTL; this one caches no absences (its L1 would keep it with no expiry).
        metrics.miss(CacheMetrics.Tier.L2);
        return MISS;
      }
      metrics.hit(CacheMetrics.Tier.L2);
      return ABSENT;
    }
    try {
      V value = codec.decode(entry.value());
      metrics.hit(CacheMetrics.Tier.L2);
      return value;
    } catch (RuntimeException e) {
      // CodecException is the contract, but a codec's bug must not reach the caller either.
      return undecodable(e.getClass().getSimpleName());
    }
  }

  /** A value {@link #valueOf} answered, as the cache's type. */
  @SuppressWarnings("unchecked")
  static <V> V codecValue(Object value) {
    return (V) value;
  }

  private Object undecodable(String why) {
    metrics.l2Error("decode");
    metrics.miss(CacheMetrics.Tier.L2);
    warn("an L2 entry of cache '{}' could not be decoded ({}); treated as a miss", cache, why);
    return MISS;
  }

  /** Encodes a value (null for an absence); a codec failure reaches the caller, since nothing was stored yet. */
  L2Entry encode(V value, Tags tags) {
    return new L2Entry(codec.id(), value == null ? null : codec.encode(value), tags);
  }

  /** Whether a loaded entry may be written to the L2: not larger than {@code maxValueBytes} (else counted). */
  boolean fits(L2Entry entry) {
    if (entry.value() == null || entry.value().length <= maxValueBytes) {
      return true;
    }
    metrics.l2Error("size");
    return false;
  }

  /** Refuses a value to put that is larger than {@code maxValueBytes}, before anything changes. */
  void requireFits(L2Entry entry) {
    if (entry.value() != null && entry.value().length > maxValueBytes) {
      throw new IllegalArgumentException(
          "cache '" + cache + "': the encoded value is " + entry.value().length + " bytes, more than maxValueBytes ("
              + maxValueBytes + ")");
    }
  }

  /**
   * Writes loaded entries unless a change overtook their load's read; failures are counted, not thrown.
   *
   * @return the keys written, or null if the L2 failed (the writes may or may not have landed)
   */
  Collection<String> putIfCurrent(Map<String, L2Write> writes, boolean absent) {
    if (writes.isEmpty()) {
      return List.of();
    }
    Collection<String> written = attempt("put", () -> store.putIfCurrent(cache, writes, ttl(absent)), null);
    if (written != null) {
      for (int i = 0; i < written.size(); i++) {
        metrics.put(CacheMetrics.Tier.L2);
      }
      for (int i = written.size(); i < writes.size(); i++) {
        metrics.staleWriteRefused(CacheMetrics.Tier.L2);
      }
    }
    return written;
  }

  /** Takes a load lease; an L2 that fails grants it (the caller loads, as it would without leases). */
  boolean tryLease(String key, String owner, Duration ttl) {
    return attempt("lease", () -> store.tryLease(cache, key, owner, ttl), Boolean.TRUE);
  }

  /**
   * Sends a load lease's release now, past the breaker, and returns what waits for it as every other call is waited
   * for (bounded by the L2 timeout, counted by the breaker), or not at all while the breaker is open. A lease left
   * held keeps every other instance waiting out its whole length before it may load, while a release that fails
   * costs nothing (the lease expires by itself): so it is sent even when the breaker would refuse a call.
   */
  Runnable sendReleaseLease(String key, String owner) {
    CompletableFuture<Void> sent;
    try {
      sent = store.releaseLease(cache, key, owner);
    } catch (RuntimeException | Error failedAtOnce) {
      return () -> run("lease", () -> {
        throw failedAtOnce;
      });
    }
    return () -> run("lease", () -> sent);
  }

  /**
   * Writes a value (or a cached absence, which lives for the negative TTL) unconditionally; a store that announces
   * invalidations publishes {@code announcement} with it.
   *
   * @param landedLate run (on whatever thread completes the store's future; it must not block) if the store reports
   *     the write done after this call gave up on it: a store that cannot bound when a write takes effect let it land
   *     after the caller was told it failed, maybe after the key's invalidation was retried
   * @return null if written, else why not
   */
  Throwable put(String key, L2Entry entry, InvalidationMessage announcement, Runnable landedLate) {
    AtomicReference<CompletableFuture<Void>> sent = new AtomicReference<>();
    Throwable failure =
        call(
            "put",
            () -> {
              CompletableFuture<Void> write =
                  store.put(cache, key, entry, ttl(entry.isAbsent()), announcement, Duration.ofNanos(timeoutNanos));
              sent.set(write);
              return write.thenApply(v -> Boolean.TRUE);
            });
    if (failure == null) {
      metrics.put(CacheMetrics.Tier.L2);
    } else {
      CompletableFuture<Void> write = sent.get();
      if (write != null) {
        write.whenComplete(
            (done, refused) -> {
              if (refused == null) {
                landedLate.run();
              }
            });
      }
    }
    return failure;
  }

  /**
   * Applies an invalidation. With an announcement (a built-in invalidation, on a store that announces on the bus this
   * cache listens to), the store publishes it atomically with the change; otherwise the strategy applies it and the
   * cache publishes it itself.
   *
   * @return null if applied, else why not
   */
  Throwable invalidate(Invalidation invalidation, InvalidationMessage announcement) {
    return call(
        "invalidate",
        () -> (announcement != null
                ? store.invalidate(cache, announcement)
                : invalidation.strategy().applyTo(store, cache, invalidation.argument()))
            .thenApply(v -> Boolean.TRUE));
  }

  private Duration ttl(boolean absent) {
    Duration base = absent && negativeTtl != null ? negativeTtl : ttl;
    if (jitter == 0) {
      return base;
    }
    long millis = base.toMillis();
    long shortened = millis - (long) (millis * jitter * ThreadLocalRandom.current().nextDouble());
    return Duration.ofMillis(Math.max(1, shortened));
  }

  /**
   * Runs one L2 call through the circuit breaker and the timeout. While the breaker is open the call is not made and
   * {@code onFailure} comes back at once: a Redis that is down costs the caller nothing.
   */
  @SuppressWarnings("unchecked")
  private <T> T attempt(String op, Supplier<CompletableFuture<T>> call, T onFailure) {
    Object outcome = run(op, call);
    return outcome instanceof Failed ? onFailure : (T) outcome;
  }

  /** Runs one L2 call as {@link #attempt} does; null if it succeeded, else why not. */
  private Throwable call(String op, Supplier<CompletableFuture<Boolean>> call) {
    return run(op, call) instanceof Failed failed ? failed.cause() : null;
  }

  /** Why a call failed; allocated on failures only, so that a successful call allocates nothing here. */
  private record Failed(Throwable cause) {}

  /** Why a call was not made: the breaker is open. Shared: it carries no stack. */
  private static final Failed CIRCUIT_OPEN =
      new Failed(new L2UnavailableException("the L2 circuit breaker is open"));

  /** Why a call failed without an exception of its own. */
  static final class L2UnavailableException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    L2UnavailableException(String message) {
      super(message, null, false, false);
    }
  }

  /** The call's result, or a {@link Failed}. */
  private Object run(String op, Supplier<? extends CompletableFuture<?>> call) {
    if (!breaker.tryAcquirePermission()) {
      logTransition();
      return CIRCUIT_OPEN;
    }
    long start = System.nanoTime();
    try {
      Object result = call.get().get(timeoutNanos, TimeUnit.NANOSECONDS);
      breaker.onSuccess(System.nanoTime() - start, TimeUnit.NANOSECONDS);
      logTransition();
      return result;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      breaker.releasePermission();
      metrics.l2Error(op);
      return new Failed(e);
    } catch (ExecutionException | TimeoutException | RuntimeException e) {
      Throwable cause = e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
      if (refusal(cause)) {
        // The store answered: a failed call, but not a sign of an unwell store (see L2Store#isRefusal).
        breaker.releasePermission();
      } else {
        breaker.onError(System.nanoTime() - start, TimeUnit.NANOSECONDS, cause);
      }
      logTransition();
      metrics.l2Error(op);
      warn("L2 {} failed for cache '{}': {}", op, cache, cause.getClass().getSimpleName());
      return new Failed(cause);
    } catch (Error e) {
      // A store's (or a codec's) bug, thrown as it was called: still a failed call for the breaker, since the
      // permission it took is otherwise never given back, and in the half-open state, with a limited number of
      // permitted calls, the L2 would never be called again. The Error itself is the caller's to see.
      breaker.onError(System.nanoTime() - start, TimeUnit.NANOSECONDS, e);
      logTransition();
      metrics.l2Error(op);
      throw e;
    }
  }

  /** Whether the store says the failure is a refusal while healthy; a store whose answer throws says no. */
  private boolean refusal(Throwable cause) {
    try {
      return store.isRefusal(cause);
    } catch (RuntimeException e) {
      return false;
    }
  }

  /** Logs a change of the breaker's state once, whichever call sees it first (a volatile read when none). */
  private void logTransition() {
    CircuitBreaker.State now = breaker.getState();
    CircuitBreaker.State logged = loggedState.get();
    if (now != logged && loggedState.compareAndSet(logged, now)) {
      LOG.warn("cache '{}': L2 circuit from {} to {}", cache, logged, now);
    }
  }

  private void warn(String format, Object... args) {
    warnings.warn(format, args);
  }
}
