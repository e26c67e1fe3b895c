package dev.tiercache;

import dev.tiercache.codec.ValueCodec;
import dev.tiercache.spi.L2Entry;
import dev.tiercache.spi.L2Read;
import dev.tiercache.spi.L2Store;
import dev.tiercache.spi.L2Write;
import java.time.Duration;
import java.util.Collection;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The cache's side of the L2: bounds every call by the L2 timeout, turns values into entries and back, applies TTL
 * jitter, and reports failures as metrics and rate-limited log lines (never with a value in them).
 */
final class L2Tier<V> {

  private static final Logger LOG = LoggerFactory.getLogger(TieredCache.class);
  private static final long WARN_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(10);

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
  private final AtomicLong lastWarn = new AtomicLong(System.nanoTime() - WARN_INTERVAL_NANOS);

  L2Tier(TieredCacheBuilder<?, V> settings, CacheMetrics metrics) {
    this.cache = settings.name;
    this.store = settings.l2;
    this.codec = settings.valueCodec;
    this.metrics = metrics;
    this.timeoutNanos = settings.l2Timeout.toNanos();
    this.ttl = settings.effectiveL2Ttl();
    this.negativeTtl = settings.negativeTtl;
    this.jitter = settings.ttlJitter;
  }

  L2Store store() {
    return store;
  }

  /** Reads one key; null if the L2 failed or was too slow, which the caller treats as a miss it cannot write back. */
  L2Read get(String key) {
    L2Read read = awaitOrNull("get", () -> store.get(cache, key));
    if (read == null) {
      metrics.miss(CacheMetrics.Tier.L2);
    }
    return read;
  }

  /** Reads keys in one call; null if the L2 failed or was too slow. */
  Map<String, L2Read> getAll(Collection<String> keys) {
    Map<String, L2Read> reads = awaitOrNull("getAll", () -> store.getAll(cache, keys));
    if (reads == null) {
      keys.forEach(k -> metrics.miss(CacheMetrics.Tier.L2));
    }
    return reads;
  }

  /** Decodes a read; null on a miss, and on an entry this codec cannot read (counted as an error). */
  Hit<V> decode(L2Read read) {
    L2Entry entry = read.entry();
    if (entry == null) {
      metrics.miss(CacheMetrics.Tier.L2);
      return null;
    }
    if (!entry.codecId().equals(codec.id())) {
      return undecodable("foreign codec '" + entry.codecId() + "'");
    }
    if (entry.isAbsent()) {
      metrics.hit(CacheMetrics.Tier.L2);
      return new Hit<>(null, entry.tags());
    }
    try {
      V value = codec.decode(entry.value());
      metrics.hit(CacheMetrics.Tier.L2);
      return new Hit<>(value, entry.tags());
    } catch (RuntimeException e) {
      // CodecException is the contract, but a codec's bug must not reach the caller either.
      return undecodable(e.getClass().getSimpleName());
    }
  }

  private Hit<V> undecodable(String why) {
    metrics.l2Error("decode");
    metrics.miss(CacheMetrics.Tier.L2);
    warn("an L2 entry of cache '{}' could not be decoded ({}); treated as a miss", cache, why);
    return null;
  }

  /** Encodes a value (null for an absence); a codec failure reaches the caller, since nothing was stored yet. */
  L2Entry encode(V value, Tags tags) {
    return new L2Entry(codec.id(), value == null ? null : codec.encode(value), tags);
  }

  /** Writes loaded entries unless an invalidation overtook their load; failures are counted, not thrown. */
  void putIfCurrent(Map<String, L2Write> writes, boolean absent) {
    if (writes.isEmpty()) {
      return;
    }
    Collection<String> written = awaitOrNull("put", () -> store.putIfCurrent(cache, writes, ttl(absent)));
    if (written != null) {
      for (int i = 0; i < written.size(); i++) {
        metrics.put(CacheMetrics.Tier.L2);
      }
      for (int i = written.size(); i < writes.size(); i++) {
        metrics.staleWriteRefused(CacheMetrics.Tier.L2);
      }
    }
  }

  /** Writes a value unconditionally; returns false if the L2 failed. */
  boolean put(String key, L2Entry entry) {
    boolean ok = awaitOrNull("put", () -> store.put(cache, key, entry, ttl(false)).thenApply(v -> Boolean.TRUE)) != null;
    if (ok) {
      metrics.put(CacheMetrics.Tier.L2);
    }
    return ok;
  }

  /** Applies an invalidation; throws {@link CacheException} if the L2 failed or was too slow. */
  void invalidate(Invalidation invalidation) {
    CompletableFuture<Void> applied;
    try {
      applied = invalidation.strategy().applyTo(store, cache, invalidation.argument());
    } catch (RuntimeException e) {
      applied = CompletableFuture.failedFuture(e);
    }
    try {
      applied.get(timeoutNanos, TimeUnit.NANOSECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw failure("invalidate", invalidation, e);
    } catch (ExecutionException e) {
      throw failure("invalidate", invalidation, e.getCause());
    } catch (TimeoutException e) {
      throw failure("invalidate", invalidation, e);
    }
  }

  private CacheException failure(String op, Invalidation invalidation, Throwable cause) {
    metrics.l2Error(op);
    warn("L2 {} failed for cache '{}': {}", op, cache, cause.getClass().getSimpleName());
    return new CacheException(
        "the L2 could not apply a '" + invalidation.strategy().name() + "' invalidation of cache '" + cache + "'",
        cause);
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

  private <T> T awaitOrNull(String op, Supplier<CompletableFuture<T>> call) {
    try {
      return call.get().get(timeoutNanos, TimeUnit.NANOSECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      metrics.l2Error(op);
      return null;
    } catch (ExecutionException | TimeoutException | RuntimeException e) {
      Throwable cause = e instanceof ExecutionException ? e.getCause() : e;
      metrics.l2Error(op);
      warn("L2 {} failed for cache '{}': {}", op, cache, cause.getClass().getSimpleName());
      return null;
    }
  }

  /** One WARN line per interval at most, so an outage does not flood the log; every failure is still counted. */
  private void warn(String format, Object... args) {
    long now = System.nanoTime();
    long last = lastWarn.get();
    if (now - last >= WARN_INTERVAL_NANOS && lastWarn.compareAndSet(last, now)) {
      LOG.warn(format, args);
    } else if (LOG.isDebugEnabled()) {
      LOG.debug(format, args);
    }
  }
}
