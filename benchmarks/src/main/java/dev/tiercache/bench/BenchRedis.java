package dev.tiercache.bench;

import dev.tiercache.redis.testing.RedisExtension;
import io.lettuce.core.KeyScanCursor;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.ScanArgs;
import io.lettuce.core.ScanCursor;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * The Redis the benchmarks talk to, from the same provider chain as the tests ({@code REDIS_URL}, Testcontainers
 * when Docker is there, {@code redis-server} on {@code PATH}, the binary inside {@code embedded-redis}).
 *
 * <p>{@link BenchMain} starts one server for the whole run and hands its address to every JMH fork in the system
 * property {@value #URI_PROPERTY}, so all suites and all forks measure against the same server. A benchmark started
 * some other way (JMH's own main, an IDE) starts a server through the chain itself.
 *
 * <p>The chain is the test fixture {@link RedisExtension}, driven here outside JUnit through a minimal
 * {@link ExtensionContext}: the fixture only asks it for an id, a class and a display name.
 */
public final class BenchRedis implements AutoCloseable {

  /** The system property that carries the server's URI to JMH forks. */
  public static final String URI_PROPERTY = "tiercache.bench.redis";

  /** Set to {@code true} in forks when the server is one this run started (and so may flush). */
  public static final String OWNED_PROPERTY = "tiercache.bench.redis.owned";

  private static BenchRedis shared;

  private final RedisExtension fixture;
  private final ExtensionContext context;
  private final RedisURI uri;
  private final String description;
  private final boolean owned;

  private BenchRedis(RedisExtension fixture, ExtensionContext context, RedisURI uri, String description,
      boolean owned) {
    this.fixture = fixture;
    this.context = context;
    this.uri = uri;
    this.description = description;
    this.owned = owned;
  }

  /** Starts (or finds) a server through the provider chain. */
  public static BenchRedis start() {
    RedisExtension fixture = RedisExtension.standalone();
    ExtensionContext context = context();
    fixture.beforeAll(context);
    String description = "provider " + fixture.provider();
    return new BenchRedis(fixture, context, fixture.uri(), description, fixture.provider().ownsProcess());
  }

  /** Makes {@code redis} the server of this JVM, for the scenarios that run in {@link BenchMain}'s own JVM. */
  public static synchronized void useShared(BenchRedis redis) {
    shared = redis;
  }

  /**
   * The server of this JVM: the one given to {@link #useShared}, the one named by {@value #URI_PROPERTY}, or one
   * started through the chain on first use (and stopped when the JVM exits).
   */
  public static synchronized BenchRedis shared() {
    if (shared == null) {
      String given = System.getProperty(URI_PROPERTY);
      if (given != null && !given.isBlank()) {
        shared = new BenchRedis(null, null, RedisURI.create(given), "given by " + URI_PROPERTY,
            Boolean.getBoolean(OWNED_PROPERTY));
      } else {
        shared = start();
        BenchRedis started = shared;
        Runtime.getRuntime().addShutdownHook(new Thread(started::close, "bench-redis-stop"));
      }
    }
    return shared;
  }

  /** A fresh copy of the server's URI (RedisURI is mutable), with a command timeout suited to bulk work. */
  public RedisURI uri() {
    RedisURI copy = RedisURI.create(uri.toURI().toString());
    copy.setTimeout(Duration.ofSeconds(30));
    return copy;
  }

  /** The URI as a string, for {@value #URI_PROPERTY}. */
  public String uriString() {
    return uri.toURI().toString();
  }

  /** Whether this run started the server itself. */
  public boolean owned() {
    return owned;
  }

  /** Where the server came from and its version, e.g. "EMBEDDED_BINARY, Redis 6.2.6". */
  public String description() {
    return description;
  }

  /** The server's version as INFO reports it. */
  public String version() {
    return withCommands(c -> c.info("server").lines()
        .filter(l -> l.startsWith("redis_version:"))
        .map(l -> l.substring("redis_version:".length()).trim())
        .findFirst()
        .orElse("unknown"));
  }

  /** A namespace no earlier run used, so suites never see each other's keys. */
  public static String namespace(String suite) {
    return "tcbench-" + suite + "-" + Long.toHexString(ThreadLocalRandom.current().nextLong() & 0xffffffL);
  }

  /**
   * Deletes a namespace's keys with SCAN and UNLINK (never KEYS); a run's own server is simply flushed.
   *
   * @return how many keys were deleted (-1 when flushed)
   */
  public long deleteNamespace(String namespace) {
    if (owned) {
      withCommands(RedisCommands::flushall);
      return -1;
    }
    return withCommands(c -> {
      long deleted = 0;
      ScanArgs match = ScanArgs.Builder.matches(namespace + ":*").limit(1000);
      KeyScanCursor<String> cursor = c.scan(ScanCursor.INITIAL, match);
      while (true) {
        if (!cursor.getKeys().isEmpty()) {
          deleted += c.unlink(cursor.getKeys().toArray(String[]::new));
        }
        if (cursor.isFinished()) {
          return deleted;
        }
        cursor = c.scan(cursor, match);
      }
    });
  }

  /** Runs commands on a short-lived connection of a short-lived client. */
  public <T> T withCommands(java.util.function.Function<RedisCommands<String, String>, T> commands) {
    RedisClient client = RedisClient.create(uri());
    try (StatefulRedisConnection<String, String> connection = client.connect()) {
      return commands.apply(connection.sync());
    } finally {
      client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
  }

  /** Stops the server if this object started it. */
  @Override
  public void close() {
    if (fixture != null) {
      fixture.afterAll(context);
    }
  }

  /** A minimal JUnit context for driving the test fixtures outside JUnit (a cluster of its own, see suite 8). */
  static ExtensionContext context() {
    InvocationHandler handler = (proxy, method, args) -> {
      switch (method.getName()) {
        case "getUniqueId":
          return "[engine:tiercache-benchmarks]";
        case "getDisplayName":
          return "Tiercache benchmarks";
        case "getRequiredTestClass":
          return BenchMain.class;
        case "getTestClass":
          return Optional.of(BenchMain.class);
        case "toString":
          return "BenchRedis context";
        case "hashCode":
          return System.identityHashCode(proxy);
        case "equals":
          return proxy == args[0];
        default:
          throw new UnsupportedOperationException("the benchmark context does not support " + method.getName());
      }
    };
    return (ExtensionContext) Proxy.newProxyInstance(
        BenchRedis.class.getClassLoader(), new Class<?>[] {ExtensionContext.class}, handler);
  }
}
