package dev.tiercache.query;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tiercache.TieredCache;
import dev.tiercache.testkit.InMemoryL2Store;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.ByteArrayInputStream;
import java.io.StringReader;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.sql.Blob;
import java.sql.Clob;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The executor on a real SQL database (H2, or PostgreSQL with JDBC_URL), with an L2 shared by two caches. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class CachedQueryExecutorTest {

  record User(long id, String name, boolean active) {
    static User from(ResultSet rs, int rowNum) throws SQLException {
      return from(rs);
    }

    static User from(ResultSet rs) throws SQLException {
      return new User(rs.getLong("id"), rs.getString("name"), rs.getBoolean("active"));
    }
  }

  private static final String ACTIVE = "SELECT id, name, active FROM users WHERE active = ? ORDER BY id";
  private static final String BY_ID = "SELECT id, name, active FROM users WHERE id = ?";

  private static TestDatabase db;

  private final List<TieredCache<?, ?>> caches = new ArrayList<>();
  private final InMemoryL2Store l2 = new InMemoryL2Store();
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private String name;
  private TestDatabase.CountingDataSource counting;
  private TieredCache<String, QueryResult> cache;
  private CachedQueryExecutor executor;

  @BeforeAll
  static void database() {
    db = TestDatabase.create();
    db.exec(
        "CREATE TABLE users (id BIGINT PRIMARY KEY, name VARCHAR(100) NOT NULL, active BOOLEAN NOT NULL)",
        "CREATE TABLE orders (id BIGINT PRIMARY KEY, user_id BIGINT NOT NULL, total NUMERIC(12, 2) NOT NULL)");
  }

  @AfterAll
  static void dropDatabase() {
    db.close();
  }

  @BeforeEach
  void setUp() {
    db.exec(
        "DELETE FROM users",
        "DELETE FROM orders",
        "INSERT INTO users VALUES (1, 'alice', TRUE), (2, 'bob', TRUE), (3, 'carol', FALSE)",
        "INSERT INTO orders VALUES (10, 1, 5.00), (11, 2, 7.50)");
    name = "exec-" + Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 1);
    counting = db.countingDataSource();
    cache = newCache();
    executor = CachedQueryExecutor.builder(cache).dataSource(counting.proxy).meterRegistry(registry).build();
  }

  @AfterEach
  void closeCaches() {
    caches.forEach(TieredCache::close);
  }

  /**
   * A cache on the shared in-memory L2: a second one behaves like another node without a bus. Only the first
   * publishes metrics, so that the registry holds one node's.
   */
  private TieredCache<String, QueryResult> newCache() {
    var builder =
        TieredCache.<String, QueryResult>builder(name)
            .l2(l2)
            .valueCodec(QueryResultCodec.json(new ObjectMapper(), User.class));
    if (caches.isEmpty()) {
      builder.meterRegistry(registry);
    }
    TieredCache<String, QueryResult> c = builder.build();
    caches.add(c);
    return c;
  }

  private static List<String> names(List<User> users) {
    return users.stream().map(User::name).toList();
  }

  @Test
  void aQueryIsServedFromTheCacheUntilAnUpdateThroughTheExecutorInvalidatesIt() {
    assertThat(names(executor.queryList(ACTIVE, User::from, true))).containsExactly("alice", "bob");
    assertThat(counting.connections()).isEqualTo(1);

    // A row written behind the executor's back is not seen: the result comes from the cache.
    db.exec("INSERT INTO users VALUES (4, 'dave', TRUE)");
    assertThat(names(executor.queryList(ACTIVE, User::from, true))).containsExactly("alice", "bob");
    assertThat(counting.connections()).isEqualTo(1);

    assertThat(executor.update("UPDATE users SET name = ? WHERE id = ?", "alicia", 1L)).isEqualTo(1);
    assertThat(names(executor.queryList(ACTIVE, User::from, true))).containsExactly("alicia", "bob", "dave");
    assertThat(counting.connections()).isEqualTo(3);
  }

  @Test
  void anUpdateInvalidatesTheTablesItWritesAndNoOthers() {
    CachedQueryExecutor orders = executor;
    String ordersSql = "SELECT o.id, u.name, TRUE AS active FROM orders o JOIN users u ON u.id = o.user_id"
        + " WHERE o.total > ? ORDER BY o.id";
    String unrelated = "SELECT id, CAST(total AS VARCHAR(20)) AS name, TRUE AS active FROM orders ORDER BY id";
    orders.queryList(ordersSql, User::from, 1);
    orders.queryList(unrelated, User::from);
    executor.queryList(ACTIVE, User::from, true);
    int before = counting.connections();

    executor.update("DELETE FROM users WHERE id = ?", 2L);

    assertThat(names(executor.queryList(ACTIVE, User::from, true))).containsExactly("alice");
    assertThat(names(orders.queryList(ordersSql, User::from, 1))).containsExactly("alice");
    assertThat(counting.connections()).as("two reloads: the users query and the join").isEqualTo(before + 3);
    orders.queryList(unrelated, User::from);
    assertThat(counting.connections()).as("the orders-only query stayed cached").isEqualTo(before + 3);
  }

  @Test
  void queryOneCachesAbsenceAndAnInsertInvalidatesIt() {
    assertThat(executor.queryOne(BY_ID, User::from, 7L)).isEmpty();
    assertThat(executor.queryOne(BY_ID, User::from, 7L)).isEmpty();
    assertThat(counting.connections()).isEqualTo(1);

    executor.update("INSERT INTO users (id, name, active) VALUES (?, ?, ?)", 7L, "grace", true);

    assertThat(executor.queryOne(BY_ID, User::from, 7L)).contains(new User(7, "grace", true));
  }

  @Test
  void queryOneRefusesSeveralRowsAndCachesNothing() {
    assertThatThrownBy(() -> executor.queryOne(ACTIVE, User::from, true))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("at most one row");
    assertThatThrownBy(() -> executor.queryOne(ACTIVE, User::from, true)).isInstanceOf(IllegalStateException.class);
    assertThat(counting.connections()).isEqualTo(2);
    assertThat(cache.getIfPresent(executor.keyOf(Query.sql(ACTIVE, true)))).isNull();
  }

  @Test
  void resultsAreImmutableCopiesInEveryTier() {
    List<User> mutable = new ArrayList<>(List.of(new User(1, "a", true)));
    List<User> first = executor.execute(Query.named("copy").tables("users"), () -> mutable);
    mutable.add(new User(2, "b", true));
    assertThat(first).hasSize(1);
    assertThatThrownBy(() -> first.add(new User(3, "c", true))).isInstanceOf(UnsupportedOperationException.class);

    // Another node reads the entry from the L2: the codec hands out a mutable ArrayList, the executor does not.
    CachedQueryExecutor other = CachedQueryExecutor.builder(newCache()).build();
    List<User> fromL2 = other.execute(Query.named("copy").tables("users"), () -> {
      throw new AssertionError("the L2 holds it");
    });
    assertThat(fromL2).containsExactly(new User(1, "a", true));
    assertThatThrownBy(() -> fromL2.remove(0)).isInstanceOf(UnsupportedOperationException.class);
    assertThatThrownBy(() -> fromL2.clear()).isInstanceOf(UnsupportedOperationException.class);
  }

  @Test
  void aTransactionInvalidatesAfterItCommitsAndNotBefore() {
    Query active = Query.sql(ACTIVE, true);
    executor.queryList(active, User::from);
    String key = executor.keyOf(active);

    int count =
        executor.inTransaction(
            tx -> {
              int n = tx.update("UPDATE users SET active = ? WHERE id = ?", false, 1L);
              n += tx.update(Query.sql("INSERT INTO users VALUES (?, ?, ?)", 5L, "erin", true));
              // Inside the transaction the write is visible to it, and not yet invalidated in the cache.
              assertThat(tx.queryList("SELECT name FROM users WHERE active = ? ORDER BY id", (rs, i) -> rs.getString(1),
                  true)).containsExactly("bob", "erin");
              assertThat(cache.getIfPresent(key)).isNotNull();
              return n;
            });

    assertThat(count).isEqualTo(2);
    assertThat(cache.getIfPresent(key)).isNull();
    assertThat(names(executor.queryList(active, User::from))).containsExactly("bob", "erin");
  }

  @Test
  void aRolledBackTransactionInvalidatesNothing() {
    Query active = Query.sql(ACTIVE, true);
    executor.queryList(active, User::from);
    executor.queryOne(BY_ID, User::from, 1L);
    String key = executor.keyOf(active);
    double invalidationsBefore = invalidations();

    assertThatThrownBy(
            () ->
                executor.inTransaction(
                    tx -> {
                      tx.update("UPDATE users SET name = ? WHERE id = ?", "mallory", 1L);
                      tx.invalidateOnCommit("orders");
                      throw new IllegalStateException("business rule says no");
                    }))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("business rule says no");
    assertThatThrownBy(
            () ->
                executor.inTransaction(
                    tx -> {
                      tx.update("UPDATE users SET name = ? WHERE id = ?", "mallory", 2L);
                      throw new SQLException("deadlock, say");
                    }))
        .isInstanceOf(UncheckedSQLException.class)
        .hasRootCauseMessage("deadlock, say");

    assertThat(invalidations()).isEqualTo(invalidationsBefore);
    assertThat(cache.getIfPresent(key).rows()).hasSize(2);
    int before = counting.connections();
    assertThat(names(executor.queryList(active, User::from))).containsExactly("alice", "bob");
    assertThat(counting.connections()).as("still cached").isEqualTo(before);
    // And the database agrees: the writes were rolled back.
    List<String> committed =
        executor.inTransaction(tx -> tx.queryList("SELECT name FROM users ORDER BY id", (rs, n) -> rs.getString(1)));
    assertThat(committed).containsExactly("alice", "bob", "carol");
  }

  @Test
  void aTransactionIsUnusableAfterItsCallback() {
    Transaction[] leaked = new Transaction[1];
    executor.inTransaction(tx -> leaked[0] = tx);
    assertThatThrownBy(() -> leaked[0].update("DELETE FROM users")).isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> leaked[0].connection()).isInstanceOf(IllegalStateException.class);
  }

  /**
   * On an auto-commit connection a statement that failed may have committed (a batch part way, a key mapper that
   * threw after its INSERT, a connection lost after the database committed): its tables are invalidated all the same
   * (StaleWriteReviewTest). The failure still reaches the caller, as the driver reported it.
   */
  @Test
  void aFailedAutoCommitUpdateStillInvalidatesItsTables() {
    executor.queryList(ACTIVE, User::from, true);
    double invalidationsBefore = invalidations();
    assertThatThrownBy(() -> executor.update("INSERT INTO users VALUES (?, ?, ?)", 1L, "duplicate", true))
        .isInstanceOf(UncheckedSQLException.class)
        .hasMessageContaining("INSERT INTO users")
        .cause()
        .isInstanceOf(SQLException.class);
    assertThat(invalidations()).isEqualTo(invalidationsBefore + 1);
    assertThat(cache.getIfPresent(executor.keyOf(Query.sql(ACTIVE, true)))).isNull();
  }

  @Test
  void anUpdateOnAConnectionWithoutAutoCommitIsCommittedBeforeTheInvalidation() {
    DataSource manual = withoutAutoCommit(db.dataSource());
    CachedQueryExecutor manualExecutor =
        CachedQueryExecutor.builder(cache).dataSource(manual).manualCommitPool(true).build();
    executor.queryList(ACTIVE, User::from, true);
    manualExecutor.update("UPDATE users SET name = ? WHERE id = ?", "bobby", 2L);
    // Another connection sees it, so it was committed; the cached result was invalidated.
    assertThat(names(executor.queryList(ACTIVE, User::from, true))).containsExactly("alice", "bobby");
  }

  @Test
  void executeAllLoadsOnlyWhatBothTiersMissInOneCall() {
    List<Set<Long>> calls = new CopyOnWriteArrayList<>();
    Query byIds = Query.named("users.byIds").tables("users");
    java.util.function.Function<Set<Long>, Map<Long, User>> loader = ids -> {
      calls.add(Set.copyOf(ids));
      return findByIds(ids);
    };

    Map<Long, User> first = executor.executeAll(byIds, List.of(1L, 2L, 99L), loader);
    assertThat(first.keySet()).containsExactly(1L, 2L);
    assertThat(calls).containsExactly(Set.of(1L, 2L, 99L));

    Map<Long, User> second = executor.executeAll(byIds, List.of(3L, 2L, 99L, 1L), loader);
    assertThat(second.keySet()).as("in the order asked").containsExactly(3L, 2L, 1L);
    assertThat(calls).as("only 3 was missing; 99 is cached as absent").containsExactly(Set.of(1L, 2L, 99L), Set.of(3L));

    // Another node's L1 misses them all, the shared L2 holds them all: no load.
    CachedQueryExecutor other = CachedQueryExecutor.builder(newCache()).build();
    assertThat(other.executeAll(byIds, List.of(1L, 2L, 3L, 99L), loader).keySet()).containsExactly(1L, 2L, 3L);
    assertThat(calls).hasSize(2);

    // A write to the table reaches the bulk entries too, including the cached absence.
    executor.update("INSERT INTO users VALUES (?, ?, ?)", 99L, "zed", false);
    assertThat(executor.executeAll(byIds, List.of(1L, 99L), loader).get(99L)).isEqualTo(new User(99, "zed", false));
    assertThat(calls.get(2)).isEqualTo(Set.of(1L, 99L));
    assertThat(registry.get("cache.query.executions").tags("query", "users.byIds", "result", "hit").counter().count())
        .isEqualTo(3);
  }

  @Test
  void executeAllEntriesCarryEveryTableOfTheQuery() {
    java.util.concurrent.atomic.AtomicInteger loads = new java.util.concurrent.atomic.AtomicInteger();
    Query byIds = Query.named("users.withOrders").tables("users", "orders");
    java.util.function.Function<Set<Long>, Map<Long, User>> loader =
        ids -> {
          loads.incrementAndGet();
          Map<Long, User> rows = new java.util.HashMap<>();
          ids.forEach(id -> rows.put(id, new User(id, "u" + id, true)));
          return rows;
        };
    assertThat(executor.executeAll(byIds, List.of(1L, 2L), loader)).hasSize(2);
    assertThat(executor.executeAll(byIds, List.of(1L, 2L), loader)).hasSize(2);
    assertThat(loads).hasValue(1);
    // A write to either table reaches the bulk entries.
    executor.invalidateTables("orders");
    assertThat(executor.executeAll(byIds, List.of(1L, 2L), loader)).hasSize(2);
    assertThat(loads).hasValue(2);
    executor.cache().invalidate(dev.tiercache.Invalidation.tag("table:users"));
    assertThat(executor.executeAll(byIds, List.of(1L, 2L), loader)).hasSize(2);
    assertThat(loads).hasValue(3);
    assertThatThrownBy(() -> executor.executeAll(Query.named("x"), List.of(new Object()), ids -> Map.of()))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void nonCacheableResultsAreRejectedAndNothingIsCached() throws Exception {
    Query query = Query.named("bad").tables("users");
    TieredCache<String, QueryResult> objectCache = TieredCache.<String, QueryResult>builder(name + "-o").build();
    caches.add(objectCache);
    CachedQueryExecutor objects = CachedQueryExecutor.builder(objectCache).build();
    try (Connection connection = db.dataSource().getConnection()) {
      ResultSet open = connection.createStatement().executeQuery("SELECT id FROM users");
      List<Object> rejected =
          List.of(
              open, connection, connection.createStatement(), jdbcObject(Blob.class), jdbcObject(Clob.class),
              Stream.of(1), List.of(1).iterator(), new ByteArrayInputStream(new byte[1]), new StringReader("x"),
              (Iterable<Integer>) () -> List.of(1).iterator(), List.of(Stream.empty()),
              Map.of("k", new StringReader("nested")), CompletableFuture.completedFuture(1));
      for (Object row : rejected) {
        assertThatThrownBy(() -> objects.execute(query, () -> List.of(row)))
            .as(row.getClass().getName())
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessageContaining("cannot be cached");
      }
    }
    assertThat(objectCache.estimatedL1Size()).isZero();
    assertThat(objects.execute(query, () -> List.of("fine"))).containsExactly("fine");

    // A row mapper that hands back the result set itself.
    TieredCache<String, QueryResult> rsCache = TieredCache.<String, QueryResult>builder(name + "-r").build();
    caches.add(rsCache);
    CachedQueryExecutor careless = CachedQueryExecutor.builder(rsCache).dataSource(db.dataSource()).build();
    assertThatThrownBy(() -> careless.queryList("SELECT id FROM users", (rs, n) -> rs))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("ResultSet");
  }

  /** A stand-in for a driver's LOB: only its type matters to the executor. */
  private static Object jdbcObject(Class<?> type) {
    return Proxy.newProxyInstance(
        type.getClassLoader(), new Class<?>[] {type}, (p, m, a) -> m.getName().equals("toString") ? type.getName() : null);
  }

  @Test
  void aResultTheValueCodecCannotEncodeIsRejected() {
    TieredCache<String, QueryResult> jsonCache =
        TieredCache.<String, QueryResult>builder(name + "-json")
            .l2(l2)
            .valueCodec(QueryResultCodec.json(new ObjectMapper()))
            .build();
    caches.add(jsonCache);
    CachedQueryExecutor objects = CachedQueryExecutor.builder(jsonCache).build();
    List<Integer> loads = new ArrayList<>();
    record NotRegistered(int x) {}
    assertThatThrownBy(() -> objects.execute(Query.named("opaque"), () -> {
          loads.add(1);
          return List.of(new NotRegistered(1));
        }))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("value codec cannot encode it");
    assertThat(objects.execute(Query.named("opaque"), () -> {
          loads.add(1);
          return List.of("plain");
        }))
        .containsExactly("plain");
    assertThat(loads).as("the rejected result was not cached").hasSize(2);
  }

  @Test
  void nullResultsAndRowsAreRejected() {
    assertThatThrownBy(() -> executor.execute(Query.named("n"), () -> null))
        .isInstanceOf(NullPointerException.class)
        .hasMessageContaining("List.of()");
    // A null row is a scalar query's SQL NULL: it is cached like any other value.
    List<User> withNull = new ArrayList<>();
    withNull.add(null);
    assertThat(executor.execute(Query.named("n"), () -> withNull)).containsExactly((User) null);
  }

  @Test
  void databaseErrorsAreUncheckedSqlExceptionsAndNotCached() {
    assertThatThrownBy(() -> executor.queryList("SELECT id, name, active FROM users WHERE no_such_column = ?",
            User::from, 1))
        .isInstanceOf(UncheckedSQLException.class);
    assertThatThrownBy(() -> executor.queryList(ACTIVE, (rs, n) -> {
          throw new SQLException("mapper failed");
        }, true))
        .isInstanceOf(UncheckedSQLException.class)
        .hasRootCauseMessage("mapper failed");
    assertThat(names(executor.queryList(ACTIVE, User::from, true))).containsExactly("alice", "bob");
  }

  @Test
  void explicitTablesAndTagsDriveInvalidation() {
    Query viaView = Query.sql("SELECT id, name, active FROM users WHERE id = ?", 1L).tables("app.\"USERS\"")
        .tags("tenant:7");
    executor.queryList(viaView, User::from);
    int before = counting.connections();
    executor.invalidateTags("tenant:7");
    executor.queryList(viaView, User::from);
    assertThat(counting.connections()).isEqualTo(before + 1);
    executor.invalidateTables("Users");
    executor.queryList(viaView, User::from);
    assertThat(counting.connections()).isEqualTo(before + 2);
    // A write whose tables are named by the caller.
    executor.update(Query.sql("UPDATE users SET name = ? WHERE id = ?", "al", 1L).tables("users"));
    assertThat(executor.queryList(viaView, User::from)).extracting(User::name).containsExactly("al");
  }

  @Test
  void perQueryMetricsCountHitsAndMisses() {
    executor.queryList(ACTIVE, User::from, true);
    executor.queryList(ACTIVE, User::from, true);
    executor.queryList(ACTIVE, User::from, false);
    String queryName = Query.sql(ACTIVE).name();
    assertThat(registry.get("cache.query.executions").tags("cache", name, "query", queryName, "result", "miss")
            .counter().count())
        .isEqualTo(2);
    assertThat(registry.get("cache.query.executions").tags("cache", name, "query", queryName, "result", "hit")
            .counter().count())
        .isEqualTo(1);
    assertThat(registry.get("cache.query.loads").tags("query", queryName, "result", "success").timer().count())
        .isEqualTo(2);
  }

  @Test
  void theBuilderAndTheJdbcMethodsFailFastWithClearMessages() {
    assertThatThrownBy(() -> CachedQueryExecutor.builder(null))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("cache");
    assertThatThrownBy(() -> CachedQueryExecutor.builder(cache).dataSource(null))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("dataSource");
    assertThatThrownBy(() -> CachedQueryExecutor.builder(cache).meterRegistry(null))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("registry");
    CachedQueryExecutor noJdbc = CachedQueryExecutor.builder(cache).build();
    assertThatThrownBy(() -> noJdbc.queryList(ACTIVE, User::from, true))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("dataSource(...)");
    assertThatThrownBy(() -> executor.queryList(Query.named("x"), User::from))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("Query.sql");
    assertThatThrownBy(() -> executor.update("SELECT * FROM users"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("writes");
    assertThatThrownBy(() -> executor.queryList("UPDATE users SET name = 'x'", User::from))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("reads");
    assertThat(counting.connections()).as("nothing reached the database").isZero();
  }

  private double invalidations() {
    return registry.find("cache.invalidations").tag("cache", name).counters().stream()
        .mapToDouble(c -> c.count()).sum();
  }

  private Map<Long, User> findByIds(Collection<Long> ids) {
    String marks = ids.stream().map(id -> "?").collect(Collectors.joining(", "));
    try (Connection c = db.dataSource().getConnection();
        var ps = c.prepareStatement("SELECT id, name, active FROM users WHERE id IN (" + marks + ")")) {
      int i = 1;
      for (Long id : ids) {
        ps.setLong(i++, id);
      }
      Map<Long, User> found = new HashMap<>();
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          User u = User.from(rs);
          found.put(u.id(), u);
        }
      }
      return found;
    } catch (SQLException e) {
      throw new UncheckedSQLException("findByIds", e);
    }
  }

  /** Hands out connections with auto-commit off, as some pools are configured to. */
  private static DataSource withoutAutoCommit(DataSource target) {
    return (DataSource)
        Proxy.newProxyInstance(
            DataSource.class.getClassLoader(),
            new Class<?>[] {DataSource.class},
            (p, method, args) -> {
              try {
                Object result = method.invoke(target, args);
                if (result instanceof Connection c) {
                  c.setAutoCommit(false);
                }
                return result;
              } catch (InvocationTargetException e) {
                throw e.getCause();
              }
            });
  }
}
