package dev.tiercache.redis;

import dev.tiercache.TieredCache;
import dev.tiercache.TieredCacheBuilder;
import dev.tiercache.codec.ValueCodecs;
import dev.tiercache.redis.testing.TcpProxy;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;

/**
 * Shared parts of the Redis fault tests: an application instance ("node") with its own Lettuce client, tier, cache
 * and meter registry; an in-memory versioned "database" to load from; and a loopback TCP proxy that cuts one node
 * off Redis while the others keep it.
 */
final class FaultKit {

  private FaultKit() {}

  /** Short enough that a fault test spends little time waiting, long enough for a loopback round trip. */
  static final Duration L2_TIMEOUT = Duration.ofMillis(100);

  static final Duration RETRY_INTERVAL = Duration.ofMillis(100);

  /** One application instance on one Redis: its own client (recommended options), tier, cache and registry. */
  static final class Node implements AutoCloseable {
    final String label;
    final String cacheName;
    final RedisClient client;
    final RedisTier tier;
    final TieredCache<String, String> cache;
    final SimpleMeterRegistry registry = new SimpleMeterRegistry();

    Node(String label, RedisURI uri, String cacheName, Consumer<TieredCacheBuilder<String, String>> settings) {
      this.label = label;
      this.cacheName = cacheName;
      client = RedisClient.create(uri);
      client.setOptions(RedisTier.recommendedClientOptions());
      tier =
          RedisTier.create(
              client, RedisTierOptions.builder().connectRetryInterval(Duration.ofMillis(100)).build());
      TieredCacheBuilder<String, String> builder =
          TieredCache.<String, String>builder(cacheName)
              .keyCodec(k -> k)
              .l2(tier)
              .valueCodec(ValueCodecs.string())
              .l2Timeout(L2_TIMEOUT)
              .l2RetryInterval(RETRY_INTERVAL)
              .meterRegistry(registry);
      settings.accept(builder);
      cache = builder.build();
    }

    /** {@code cache.l2.circuit}: 0 closed, 1 half-open, 2 open. */
    double circuit() {
      return gauge("cache.l2.circuit");
    }

    /** {@code cache.l2.pending}: invalidations waiting for the L2. */
    double pending() {
      return gauge("cache.l2.pending");
    }

    double l2Errors(String op) {
      Counter counter = registry.find("cache.l2.errors").tag("cache", cacheName).tag("op", op).counter();
      return counter == null ? 0 : counter.count();
    }

    double l2Hits() {
      FunctionCounter counter = registry.find("cache.gets").tag("cache", cacheName).tag("tier", "l2").tag("result", "hit")
          .functionCounter();
      return counter == null ? 0 : counter.count();
    }

    private double gauge(String name) {
      Gauge gauge = registry.find(name).tag("cache", cacheName).gauge();
      if (gauge == null) {
        throw new IllegalStateException(label + " has no gauge " + name);
      }
      return gauge.value();
    }

    @Override
    public void close() {
      cache.close();
      tier.close();
      client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }

    @Override
    public String toString() {
      return label;
    }
  }

  /**
   * The system of record: each key has a version that writers bump. A load reads the row first and then pays its
   * cost, as a query would, so that a load in flight can return a row that was updated meanwhile.
   */
  static final class Database {
    private final Map<String, AtomicLong> rows = new ConcurrentHashMap<>();
    private final long costNanos;
    final AtomicInteger loads = new AtomicInteger();

    Database(Duration cost) {
      this.costNanos = cost.toNanos();
    }

    String load(String key) {
      long version = row(key).get();
      loads.incrementAndGet();
      if (costNanos > 0) {
        LockSupport.parkNanos(costNanos);
      }
      return value(key, version);
    }

    /** Writes a new version of the row and returns it. */
    long update(String key) {
      return row(key).incrementAndGet();
    }

    long current(String key) {
      return row(key).get();
    }

    String currentValue(String key) {
      return value(key, current(key));
    }

    private AtomicLong row(String key) {
      return rows.computeIfAbsent(key, k -> new AtomicLong(1));
    }

    static String value(String key, long version) {
      return key + "@" + version;
    }

    static long versionOf(String value) {
      return Long.parseLong(value.substring(value.lastIndexOf('@') + 1));
    }
  }

  /** Milliseconds, with one decimal, for the figures the tests print. */
  /**
   * Runs a write that may meet an unwell Redis: true if it returned normally, false if it told its caller, as
   * documented, that its invalidation is pending (applied here, queued and retried).
   */
  static boolean completed(Runnable write) {
    try {
      write.run();
      return true;
    } catch (dev.tiercache.InvalidationPendingException e) {
      return false;
    }
  }

  static String ms(long nanos) {
    return String.format("%.1f ms", nanos / 1e6);
  }

  static long elapsedSince(long startNanos) {
    return System.nanoTime() - startNanos;
  }

  /**
   * A loopback TCP proxy in front of Redis, so that one node can lose Redis while the others keep it. {@link #cut()}
   * resets every proxied connection and every new one, as a peer that went away does; {@link #heal()} forwards
   * again. A {@link TcpProxy} in its RESET and PASS modes.
   */
  static final class Proxy implements AutoCloseable {
    private final TcpProxy proxy;

    Proxy(RedisURI target) {
      this.proxy = new TcpProxy(target.getHost(), target.getPort());
    }

    RedisURI uri() {
      return RedisURI.builder().withHost("127.0.0.1").withPort(proxy.port()).withTimeout(Duration.ofSeconds(5)).build();
    }

    /** Drops every connection and refuses new ones. */
    void cut() {
      proxy.mode(TcpProxy.Mode.RESET);
    }

    /** Accepts connections again, on the same port. */
    void heal() {
      proxy.mode(TcpProxy.Mode.PASS);
    }

    @Override
    public void close() {
      proxy.close();
    }
  }

  /** Waits for a thread, at most {@code timeout}; true if it ended. */
  static boolean join(Thread thread, Duration timeout) throws InterruptedException {
    thread.join(timeout.toMillis());
    return !thread.isAlive();
  }
}
