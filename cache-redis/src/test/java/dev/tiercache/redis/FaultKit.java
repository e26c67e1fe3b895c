package dev.tiercache.redis;

import dev.tiercache.TieredCache;
import dev.tiercache.TieredCacheBuilder;
import dev.tiercache.codec.ValueCodecs;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
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
      Counter counter =
          registry.find("cache.gets").tag("cache", cacheName).tag("tier", "l2").tag("result", "hit").counter();
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
  static String ms(long nanos) {
    return String.format("%.1f ms", nanos / 1e6);
  }

  static long elapsedSince(long startNanos) {
    return System.nanoTime() - startNanos;
  }

  /**
   * A loopback TCP proxy in front of Redis, so that one node can lose Redis while the others keep it. {@link #cut()}
   * closes every proxied connection and the listening socket (new connections are refused, as with a stopped
   * server); {@link #heal()} listens again on the same port.
   */
  static final class Proxy implements AutoCloseable {
    private final String targetHost;
    private final int targetPort;
    private final int port;
    private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();
    private ServerSocket server;

    Proxy(RedisURI target) {
      this.targetHost = target.getHost();
      this.targetPort = target.getPort();
      this.server = listen(0);
      this.port = server.getLocalPort();
      acceptLoop(server);
    }

    RedisURI uri() {
      return RedisURI.builder().withHost("127.0.0.1").withPort(port).withTimeout(Duration.ofSeconds(5)).build();
    }

    /** Drops every connection and refuses new ones. */
    synchronized void cut() {
      closeQuietly(server);
      for (Socket socket : sockets) {
        closeQuietly(socket);
      }
      sockets.clear();
    }

    /** Accepts connections again, on the same port. */
    synchronized void heal() {
      if (!server.isClosed()) {
        return;
      }
      server = listen(port);
      acceptLoop(server);
    }

    private static ServerSocket listen(int port) {
      try {
        ServerSocket socket = new ServerSocket();
        socket.setReuseAddress(true);
        socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
        return socket;
      } catch (IOException e) {
        throw new UncheckedIOException("cannot listen on 127.0.0.1:" + port, e);
      }
    }

    private void acceptLoop(ServerSocket listening) {
      daemon("proxy-accept-" + port, () -> {
        while (!listening.isClosed()) {
          Socket client;
          try {
            client = listening.accept();
          } catch (IOException e) {
            return; // closed by cut() or close()
          }
          Socket upstream;
          try {
            upstream = new Socket(targetHost, targetPort);
          } catch (IOException e) {
            closeQuietly(client);
            continue;
          }
          synchronized (this) {
            if (listening.isClosed()) {
              closeQuietly(client);
              closeQuietly(upstream);
              return;
            }
            sockets.add(client);
            sockets.add(upstream);
          }
          pump(client, upstream);
          pump(upstream, client);
        }
      });
    }

    private void pump(Socket from, Socket to) {
      daemon("proxy-pump-" + port, () -> {
        byte[] buffer = new byte[16 * 1024];
        try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
          for (int n; (n = in.read(buffer)) >= 0; ) {
            out.write(buffer, 0, n);
            out.flush();
          }
        } catch (IOException e) {
          // one side went away: drop the pair below
        } finally {
          closeQuietly(from);
          closeQuietly(to);
          sockets.remove(from);
          sockets.remove(to);
        }
      });
    }

    private static void daemon(String name, Runnable body) {
      Thread thread = new Thread(body, name);
      thread.setDaemon(true);
      thread.start();
    }

    private static void closeQuietly(AutoCloseable closeable) {
      try {
        closeable.close();
      } catch (Exception e) {
        // already closed
      }
    }

    @Override
    public void close() {
      cut();
    }
  }

  /** Waits for a thread, at most {@code timeout}; true if it ended. */
  static boolean join(Thread thread, Duration timeout) throws InterruptedException {
    thread.join(timeout.toMillis());
    return !thread.isAlive();
  }
}
