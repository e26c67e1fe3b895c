package dev.tiercache.query;

import com.fasterxml.jackson.databind.ObjectMapper;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.core.type.TypeReference;
import dev.tiercache.TieredCache;
import dev.tiercache.codec.JsonCodec;
import dev.tiercache.redis.RedisTier;
import dev.tiercache.redis.testing.RedisExtension;
import io.lettuce.core.RedisClient;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Two application nodes, each with its own Redis client, RedisTier, TieredCache and executor, share one real Redis
 * and one database. A write through one node's executor reaches the other node's cached results.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class TwoNodeInvalidationTest {

  @RegisterExtension static final RedisExtension REDIS = RedisExtension.standalone();

  private static final Duration BUS_DELAY = Duration.ofSeconds(5);
  private static final String ACTIVE = "SELECT id, name FROM users WHERE active = ? ORDER BY id";

  record User(long id, String name) {
    static User from(ResultSet rs, int rowNum) throws SQLException {
      return from(rs);
    }

    static User from(ResultSet rs) throws SQLException {
      return new User(rs.getLong("id"), rs.getString("name"));
    }
  }

  /** One application instance. */
  static final class Node implements AutoCloseable {
    final RedisClient client = RedisClient.create(REDIS.uri());
    final RedisTier tier = RedisTier.create(client);
    final TestDatabase.CountingDataSource database = db.countingDataSource();
    final TieredCache<String, QueryResult> cache;
    final CachedQueryExecutor executor;

    Node(String cacheName) {
      cache =
          TieredCache.<String, QueryResult>builder(cacheName)
              .l2(tier)
              .valueCodec(QueryResultCodec.json(new ObjectMapper(), User.class))
              .build();
      executor = CachedQueryExecutor.builder(cache).dataSource(database.proxy).build();
    }

    List<String> activeNames() {
      return executor.queryList(ACTIVE, User::from, true).stream().map(User::name).toList();
    }

    @Override
    public void close() {
      cache.close();
      tier.close();
      client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
  }

  private static TestDatabase db;
  private final List<Node> nodes = new ArrayList<>();
  private Node a;
  private Node b;

  @BeforeAll
  static void database() {
    db = TestDatabase.create();
    db.exec("CREATE TABLE users (id BIGINT PRIMARY KEY, name VARCHAR(100) NOT NULL, active BOOLEAN NOT NULL)");
  }

  @AfterAll
  static void dropDatabase() {
    db.close();
  }

  @BeforeEach
  void nodes() {
    db.exec("DELETE FROM users", "INSERT INTO users VALUES (1, 'alice', TRUE), (2, 'bob', TRUE)");
    String name = "query-" + Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 1);
    a = new Node(name);
    nodes.add(a);
    b = new Node(name);
    nodes.add(b);
  }

  @AfterEach
  void closeNodes() {
    nodes.forEach(Node::close);
  }

  @Test
  void nodeBSeesTheRowNodeAWroteWithinTheBusDelay() {
    assertThat(a.activeNames()).containsExactly("alice", "bob");
    assertThat(b.activeNames()).containsExactly("alice", "bob");
    assertThat(b.database.connections()).as("B found A's result in Redis").isZero();
    assertThat(b.activeNames()).containsExactly("alice", "bob");
    assertThat(b.database.connections()).as("and then in its own L1").isZero();

    a.executor.update("INSERT INTO users (id, name, active) VALUES (?, ?, ?)", 3L, "carol", true);

    assertThat(a.activeNames()).containsExactly("alice", "bob", "carol");
    await()
        .atMost(BUS_DELAY)
        .untilAsserted(() -> assertThat(b.activeNames()).containsExactly("alice", "bob", "carol"));
  }

  @Test
  void aCommittedTransactionOnNodeAReachesNodeBAndARolledBackOneDoesNot() {
    assertThat(b.activeNames()).containsExactly("alice", "bob");

    assertThatThrownBy(
            () ->
                a.executor.inTransaction(
                    tx -> {
                      tx.update("UPDATE users SET name = ? WHERE id = ?", "mallory", 1L);
                      throw new IllegalStateException("rolled back");
                    }))
        .hasMessage("rolled back");
    // Nothing was invalidated, so B keeps serving its cached result without touching the database.
    int before = b.database.connections();
    assertThat(b.activeNames()).containsExactly("alice", "bob");
    assertThat(b.database.connections()).isEqualTo(before);

    a.executor.inTransaction(tx -> tx.update("UPDATE users SET name = ? WHERE id = ?", "alicia", 1L));
    await()
        .atMost(BUS_DELAY)
        .untilAsserted(() -> assertThat(b.activeNames()).containsExactly("alicia", "bob"));
  }

  @Test
  void bulkEntriesOnNodeBAreInvalidatedByAWriteOnNodeA() {
    Query byIds = Query.sql("SELECT id, name FROM users WHERE id IN (?)").tables("users");
    AtomicInteger loads = new AtomicInteger();
    assertThat(b.executor.executeAll(byIds, List.of(1L, 2L, 3L), ids -> {
          loads.incrementAndGet();
          return findByIds(ids);
        }))
        .containsOnlyKeys(1L, 2L);

    a.executor.update("INSERT INTO users VALUES (?, ?, ?)", 3L, "carol", false);

    await()
        .atMost(BUS_DELAY)
        .untilAsserted(
            () ->
                assertThat(b.executor.executeAll(byIds, List.of(1L, 2L, 3L), ids -> {
                      loads.incrementAndGet();
                      return findByIds(ids);
                    }))
                    .containsOnlyKeys(1L, 2L, 3L));
    assertThat(loads.get()).isGreaterThanOrEqualTo(2);
  }

  private static Map<Long, User> findByIds(Set<Long> ids) {
    Map<Long, User> found = new HashMap<>();
    for (Long id : ids) {
      try (var c = db.dataSource().getConnection();
          var ps = c.prepareStatement("SELECT id, name FROM users WHERE id = ?")) {
        ps.setLong(1, id);
        try (ResultSet rs = ps.executeQuery()) {
          if (rs.next()) {
            found.put(id, User.from(rs));
          }
        }
      } catch (SQLException e) {
        throw new UncheckedSQLException("findByIds", e);
      }
    }
    return found;
  }
}
