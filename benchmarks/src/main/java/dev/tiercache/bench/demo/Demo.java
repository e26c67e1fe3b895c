package dev.tiercache.bench.demo;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tiercache.TieredCache;
import dev.tiercache.bench.BenchRedis;
import dev.tiercache.codec.KeyCodec;
import dev.tiercache.query.CachedQueryExecutor;
import dev.tiercache.query.QueryResult;
import dev.tiercache.query.QueryResultCodec;
import dev.tiercache.query.RowMapper;
import dev.tiercache.redis.RedisTier;
import io.lettuce.core.RedisClient;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import org.h2.jdbcx.JdbcDataSource;

/**
 * What Tiercache does, in a few seconds and with nothing to set up: two cache nodes share a Redis (found through the
 * same chain as the tests: REDIS_URL, redis-server on the PATH, or the binary inside the embedded-redis artifact)
 * and read users from an H2 database through the cached query executor. It prints hit rates per tier, the latency
 * of a database read against an L1 hit and an L2 hit, and a cross-node invalidation. Every figure is measured here,
 * in this run.
 */
public final class Demo {

  private static final int USERS = 1_000;
  private static final int READS = 200;
  private static final String BY_ID = "SELECT id, name FROM users WHERE id = ?";

  /** A row of the demo's users table. */
  public record User(long id, String name) {}

  private Demo() {}

  /**
   * Runs the demo.
   *
   * @param args ignored
   * @throws Exception if the demo cannot start its Redis or database
   */
  public static void main(String[] args) throws Exception {
    long started = System.nanoTime();
    step("Starting a Redis (REDIS_URL, redis-server on the PATH, or the binary inside embedded-redis)");
    try (BenchRedis redis = BenchRedis.start()) {
      say("  " + redis.description());
      step("Creating an H2 database with " + USERS + " users");
      JdbcDataSource database = new JdbcDataSource();
      database.setURL("jdbc:h2:mem:tiercache-demo;DB_CLOSE_DELAY=-1");
      createUsers(database);

      step("Starting two cache nodes, A and B (each: its own Lettuce client, L1, and query executor)");
      String cacheName = "demo-users-" + Long.toHexString(System.nanoTime());
      try (Node a = new Node("A", redis, database, cacheName);
          Node b = new Node("B", redis, database, cacheName)) {
        step("Warming up the JIT on users " + (READS + 1) + " to " + 2 * READS + " (not measured)");
        for (int round = 0; round < 3; round++) {
          time(READS, id -> readDirectly(database, id));
          time(READS, id -> a.read(id));
          time(READS, id -> b.read(id));
        }
        a.mark();
        b.mark();
        step("Reading users 1 to " + READS + ": from the database directly, then through node A twice, then node B");
        long databaseNanos = time(0, id -> readDirectly(database, id));
        long coldNanos = time(0, id -> a.read(id));
        long l1Nanos = time(0, id -> a.read(id));
        long l2Nanos = time(0, id -> b.read(id));
        say(String.format("  database read (plain JDBC)       %8.1f us per read", micros(databaseNanos)));
        say(String.format("  node A, cold (L1, L2, database)  %8.1f us per read", micros(coldNanos)));
        say(String.format("  node A, warm (L1 hit)            %8.1f us per read", micros(l1Nanos)));
        say(String.format("  node B, first read (L2 hit)      %8.1f us per read", micros(l2Nanos)));
        say("  (H2 runs in this JVM: a database across a network costs far more per read than this one)");
        a.printHitRates();
        b.printHitRates();

        step("Cross-node invalidation: node A renames user 7 through its executor");
        say("  node B reads user 7: " + b.read(7).map(User::name).orElse("?"));
        long updateAt = System.nanoTime();
        a.queries.update("UPDATE users SET name = ? WHERE id = ?", "Grace Hopper", 7L);
        long deadline = updateAt + Duration.ofSeconds(5).toNanos();
        String seen = b.read(7).map(User::name).orElse("?");
        for (int polls = 0; !seen.equals("Grace Hopper") && System.nanoTime() < deadline && polls < 100_000; polls++) {
          Thread.onSpinWait();
          seen = b.read(7).map(User::name).orElse("?");
        }
        say(String.format("  node B reads user 7: %s (%.2f ms after A's update began)",
            seen, (System.nanoTime() - updateAt) / 1e6));
      }
    }
    step(String.format("Done in %.1f s", (System.nanoTime() - started) / 1e9));
  }

  /** One application instance. */
  private static final class Node implements AutoCloseable {
    final String name;
    final RedisClient client;
    final RedisTier tier;
    final TieredCache<String, QueryResult> cache;
    final CachedQueryExecutor queries;
    final SimpleMeterRegistry registry = new SimpleMeterRegistry();

    Node(String name, BenchRedis redis, JdbcDataSource database, String cacheName) {
      this.name = name;
      client = RedisClient.create(redis.uri());
      client.setOptions(RedisTier.recommendedClientOptions());
      tier = RedisTier.create(client);
      cache =
          TieredCache.<String, QueryResult>builder(cacheName)
              .keyCodec(KeyCodec.identity())
              .l1(l1 -> l1.maximumSize(10_000).expireAfterWrite(Duration.ofMinutes(5)))
              .l2(tier)
              .valueCodec(QueryResultCodec.json(new ObjectMapper(), User.class))
              .meterRegistry(registry)
              .build();
      queries = CachedQueryExecutor.builder(cache).dataSource(database).build();
    }

    Optional<User> read(long id) {
      return queries.queryOne(BY_ID, RowMapper.record(User.class), id);
    }

    /** Counts at the end of the warm-up, so that the printed rates cover the measured reads only. */
    private final double[] baseline = new double[5];

    void mark() {
      double[] now = counts();
      System.arraycopy(now, 0, baseline, 0, now.length);
    }

    private double[] counts() {
      return new double[] {
        count("hit", "l1"), count("miss", "l1"), count("hit", "l2"), count("miss", "l2"),
        registry.find("cache.loads").timers().stream().mapToDouble(t -> t.count()).sum()
      };
    }

    void printHitRates() {
      double[] c = counts();
      for (int i = 0; i < c.length; i++) {
        c[i] -= baseline[i];
      }
      say(String.format(
          "  node %s: L1 %.0f hits / %.0f misses (%.0f%%), L2 %.0f hits / %.0f misses, %.0f database loads",
          name, c[0], c[1], 100 * c[0] / Math.max(1, c[0] + c[1]), c[2], c[3], c[4]));
    }

    private double count(String result, String tier) {
      return registry.find("cache.gets").tag("result", result).tag("tier", tier).counters().stream()
          .mapToDouble(c -> c.count())
          .sum();
    }

    @Override
    public void close() {
      cache.close();
      tier.close();
      client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
  }

  private interface Read {
    Object read(long id) throws Exception;
  }

  /** Mean nanoseconds per read over ids offset+1 .. offset+READS. */
  private static long time(int offset, Read read) throws Exception {
    long start = System.nanoTime();
    for (long id = offset + 1; id <= offset + READS; id++) {
      if (read.read(id) == null) {
        throw new IllegalStateException("no result for user " + id);
      }
    }
    return (System.nanoTime() - start) / READS;
  }

  private static Optional<User> readDirectly(JdbcDataSource database, long id) throws SQLException {
    try (Connection c = database.getConnection();
        PreparedStatement s = c.prepareStatement(BY_ID)) {
      s.setLong(1, id);
      try (ResultSet row = s.executeQuery()) {
        return row.next() ? Optional.of(new User(row.getLong(1), row.getString(2))) : Optional.empty();
      }
    }
  }

  private static void createUsers(JdbcDataSource database) throws SQLException {
    try (Connection c = database.getConnection();
        Statement s = c.createStatement()) {
      s.execute("CREATE TABLE users (id BIGINT PRIMARY KEY, name VARCHAR(100))");
      try (PreparedStatement insert = c.prepareStatement("INSERT INTO users VALUES (?, ?)")) {
        List<String> names = Arrays.asList("Ada", "Alan", "Barbara", "Edsger", "Frances", "Grace", "Ken", "Tony");
        for (long id = 1; id <= USERS; id++) {
          insert.setLong(1, id);
          insert.setString(2, names.get((int) (id % names.size())) + " #" + id);
          insert.addBatch();
        }
        insert.executeBatch();
      }
    }
  }

  private static double micros(long nanos) {
    return nanos / 1_000.0;
  }

  private static void step(String what) {
    say("==> " + what);
  }

  private static void say(String line) {
    System.out.println(line);
    System.out.flush();
  }
}
