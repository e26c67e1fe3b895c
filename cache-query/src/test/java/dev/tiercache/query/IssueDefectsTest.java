package dev.tiercache.query;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tiercache.TieredCache;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.math.BigDecimal;
import java.sql.Clob;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.TimeZone;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The stale or wrongly cached results of issue 12, one test per item (items 10 and 11 are in {@link
 * TransactionSyncTest}), on a real database: H2, or PostgreSQL with {@code JDBC_URL}.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class IssueDefectsTest {

  record User(long id, String name) {
    static User map(ResultSet rs, int rowNum) throws SQLException {
      return new User(rs.getLong("id"), rs.getString("name"));
    }
  }

  record Order(long id, long userId, BigDecimal total) {}

  private static TestDatabase db;
  private final List<TieredCache<?, ?>> caches = new ArrayList<>();
  private TestDatabase.CountingDataSource counting;
  private TieredCache<String, QueryResult> cache;
  private CachedQueryExecutor executor;

  @BeforeAll
  static void database() {
    db = TestDatabase.create();
    db.exec(
        "CREATE TABLE users (id BIGINT PRIMARY KEY, name VARCHAR(100) NOT NULL)",
        "CREATE TABLE orders (id BIGINT PRIMARY KEY, user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE"
            + " CASCADE, total NUMERIC(12, 2) NOT NULL)",
        "CREATE VIEW big_spenders AS SELECT u.id, u.name FROM users u WHERE EXISTS (SELECT 1 FROM orders o WHERE"
            + " o.user_id = u.id AND o.total > 100)",
        "CREATE SEQUENCE ticket",
        "CREATE TABLE \"my.table\" (id BIGINT PRIMARY KEY, name VARCHAR(100) NOT NULL)");
  }

  @AfterAll
  static void dropDatabase() {
    db.close();
  }

  @BeforeEach
  void setUp() {
    db.exec(
        "DELETE FROM orders",
        "DELETE FROM users",
        "DELETE FROM \"my.table\"",
        "INSERT INTO users VALUES (1, 'alice'), (2, 'bob')",
        "INSERT INTO orders VALUES (10, 1, 50.00), (11, 2, 500.00)",
        "INSERT INTO \"my.table\" VALUES (1, 'one')");
    counting = db.countingDataSource();
    cache = newCache();
    executor = CachedQueryExecutor.builder(cache).dataSource(counting.proxy).build();
  }

  @AfterEach
  void closeCaches() {
    caches.forEach(TieredCache::close);
  }

  private TieredCache<String, QueryResult> newCache() {
    TieredCache<String, QueryResult> c =
        TieredCache.<String, QueryResult>builder("defects-" + Long.toHexString(ThreadLocalRandom.current().nextLong()
            >>> 1)).build();
    caches.add(c);
    return c;
  }

  private static List<String> names(List<User> users) {
    return users.stream().map(User::name).toList();
  }

  /** Item 1: a table named only in ORDER BY (and other clauses JSqlParser's finder skips) is tagged. */
  @Test
  void item1_aTableReadOnlyInOrderByIsInvalidatedByItsWrites() {
    String sql = "SELECT u.id, u.name FROM users u ORDER BY (SELECT MAX(o.total) FROM orders o WHERE o.user_id = u.id)"
        + " DESC";
    assertThat(names(executor.queryList(sql, User::map))).containsExactly("bob", "alice");

    executor.update("UPDATE orders SET total = ? WHERE id = ?", new BigDecimal("900.00"), 10L);

    assertThat(names(executor.queryList(sql, User::map))).containsExactly("alice", "bob");
  }

  /** Item 2: two executors (different row types) over one cache; a users write reaches a join cached by the other. */
  @Test
  void item2_aWriteThroughOneExecutorReachesAJoinCachedByAnother() {
    CachedQueryExecutor usersExecutor = CachedQueryExecutor.builder(cache).dataSource(counting.proxy).build();
    CachedQueryExecutor ordersExecutor = CachedQueryExecutor.builder(cache).dataSource(counting.proxy).build();
    String join = "SELECT o.id, o.user_id, o.total FROM orders o JOIN users u ON u.id = o.user_id WHERE u.name = ?";
    assertThat(ordersExecutor.queryList(join, RowMapper.record(Order.class), "alice")).hasSize(1);

    usersExecutor.update("UPDATE users SET name = ? WHERE id = ?", "alicia", 1L);

    assertThat(ordersExecutor.queryList(join, RowMapper.record(Order.class), "alice")).isEmpty();
  }

  /** Item 3: ON DELETE CASCADE changes orders, which the DELETE does not name; declared once on the builder. */
  @Test
  void item3_aDeclaredCascadeInvalidatesTheTableTheDatabaseChanges() {
    CachedQueryExecutor declared =
        CachedQueryExecutor.builder(cache).dataSource(counting.proxy).cascade("users", "orders").build();
    String orders = "SELECT id, user_id, total FROM orders ORDER BY id";
    // Cached by an executor that declares nothing; the writer's declaration alone must reach it.
    assertThat(executor.queryList(orders, RowMapper.record(Order.class))).hasSize(2);
    declared.update("DELETE FROM users WHERE id = ?", 1L);
    assertThat(executor.queryList(orders, RowMapper.record(Order.class))).extracting(Order::id).containsExactly(11L);

    // And the other way round: read through the declaring executor, write through one that declares nothing.
    assertThat(declared.queryList(orders, RowMapper.record(Order.class))).hasSize(1);
    assertThat(declared.tagsOf(Query.sql(orders)).asSet()).contains("table:users", "table:orders");
    executor.update("DELETE FROM users WHERE id = ?", 2L);
    assertThat(declared.queryList(orders, RowMapper.record(Order.class))).isEmpty();
  }

  /** Item 3: TRUNCATE ... CASCADE empties tables it does not name: without a declaration, everything goes. */
  @Test
  void item3_aTruncateCascadeWithoutDeclaredCascadesInvalidatesTheWholeCache() {
    QueryPlanner blind = new QueryPlanner(TableDependencies.NONE);
    assertThat(blind.writeTags(Query.sql("TRUNCATE TABLE users CASCADE")).asSet())
        .containsExactly(QueryPlanner.EVERYTHING);
    QueryPlanner declared = new QueryPlanner(new TableDependencies(java.util.Map.of("users", java.util.Set.of(
        "orders"))));
    assertThat(declared.writeTags(Query.sql("TRUNCATE TABLE users CASCADE")).asSet())
        .containsExactlyInAnyOrder("table:users", "table:orders");
    assertThat(blind.writeTags(Query.sql("TRUNCATE TABLE users")).asSet()).containsExactly("table:users");
  }

  /** Item 4: a query on a view is invalidated by writes to its base tables once the view is declared. */
  @Test
  void item4_aDeclaredViewIsInvalidatedByWritesToItsBaseTables() {
    CachedQueryExecutor views =
        CachedQueryExecutor.builder(cache).dataSource(counting.proxy).view("big_spenders", "users", "orders").build();
    String spenders = "SELECT id, name FROM big_spenders ORDER BY id";
    assertThat(names(views.queryList(spenders, User::map))).containsExactly("bob");

    executor.update("UPDATE orders SET total = ? WHERE id = ?", new BigDecimal("700.00"), 10L);

    assertThat(names(views.queryList(spenders, User::map))).containsExactly("alice", "bob");
  }

  /** Item 4: or resolved from INFORMATION_SCHEMA.VIEWS when the executor is built. */
  @Test
  void item4_viewsResolvedFromTheDatabaseAreInvalidatedByWritesToTheirBaseTables() {
    CachedQueryExecutor views =
        CachedQueryExecutor.builder(cache).dataSource(counting.proxy).viewsFromDatabase().build();
    assertThat(views.tagsOf(Query.sql("SELECT id FROM big_spenders")).asSet())
        .contains("table:big_spenders", "table:users", "table:orders");
    String spenders = "SELECT id, name FROM big_spenders ORDER BY id";
    assertThat(names(views.queryList(spenders, User::map))).containsExactly("bob");
    executor.update("DELETE FROM orders WHERE id = ?", 11L);
    assertThat(views.queryList(spenders, User::map)).isEmpty();
  }

  /** Item 5: MySQL's multi-table DELETE names its targets by alias; the real table is invalidated. */
  @Test
  void item5_aMultiTableDeleteByAliasInvalidatesTheRealTable() {
    QueryPlanner planner = new QueryPlanner(TableDependencies.NONE);
    assertThat(planner.writeTags(Query.sql("DELETE o FROM users u JOIN orders o ON o.user_id = u.id WHERE u.id = ?",
            1L)).asSet())
        .contains("table:orders", "table:users");
  }

  /** Item 6: a sequence, the clock or a random value is read anew every time unless the caller opts in. */
  @Test
  void item6_readsWithoutTablesOrWithVolatileFunctionsAreNotCached() {
    String next = db.isPostgres() ? "SELECT nextval('ticket')" : "SELECT NEXT VALUE FOR ticket";
    long first = executor.queryForObject(next, Long.class);
    long second = executor.queryForObject(next, Long.class);
    assertThat(second).isGreaterThan(first);

    String random = "SELECT id, name FROM users WHERE id < " + (db.isPostgres() ? "random()" : "RAND()") + " * 10";
    int before = counting.connections();
    executor.queryForObject("SELECT CURRENT_TIMESTAMP", java.time.OffsetDateTime.class);
    executor.queryForObject("SELECT CURRENT_TIMESTAMP", java.time.OffsetDateTime.class);
    executor.queryList(random, User::map);
    executor.queryList(random, User::map);
    executor.queryForObject("SELECT 1", Integer.class);
    executor.queryForObject("SELECT 1", Integer.class);
    assertThat(counting.connections()).as("every call reached the database").isEqualTo(before + 6);

    // An explicit TTL (or explicit tables) is the opt-in.
    Query opted = Query.sql("SELECT 1").ttl(Duration.ofMinutes(1));
    executor.queryForObject(opted, Integer.class);
    executor.queryForObject(opted, Integer.class);
    assertThat(counting.connections()).isEqualTo(before + 7);
  }

  /** Item 7: a locking read is never cached, not even with explicit tables. */
  @Test
  void item7_lockingReadsAreNeverCached() {
    String locking = "SELECT id, name FROM users WHERE id = ? FOR UPDATE";
    int before = counting.connections();
    executor.queryList(locking, User::map, 1L);
    executor.queryList(locking, User::map, 1L);
    executor.queryList(Query.sql(locking, 1L).tables("users").ttl(Duration.ofMinutes(1)), User::map);
    executor.queryList(Query.sql(locking, 1L).tables("users").ttl(Duration.ofMinutes(1)), User::map);
    assertThat(counting.connections()).isEqualTo(before + 4);
    assertThat(cache.estimatedL1Size()).isZero();
  }

  /** Item 8: a data-modifying CTE given as a read is an IllegalArgumentException, not a ClassCastException. */
  @Test
  void item8_aDataModifyingCteIsRefusedAsARead() {
    String sql = "WITH gone AS (DELETE FROM users WHERE id = ? RETURNING id, name) SELECT id, name FROM gone";
    assertThatThrownBy(() -> executor.tagsOf(Query.sql(sql, 1L)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("writes");
    assertThatThrownBy(() -> executor.queryList(sql, User::map, 1L)).isInstanceOf(IllegalArgumentException.class);
    assertThat(new QueryPlanner(TableDependencies.NONE).writeTags(Query.sql(sql, 1L)).asSet())
        .contains("table:users");
  }

  /** Item 9: a commit that is applied and then reports an error still invalidates. */
  @Test
  void item9_aCommitThatFailsAfterItWasAppliedStillInvalidates() {
    String all = "SELECT id, name FROM users ORDER BY id";
    assertThat(names(executor.queryList(all, User::map))).containsExactly("alice", "bob");
    CachedQueryExecutor flaky =
        CachedQueryExecutor.builder(cache).dataSource(commitAppliesThenFails(db.dataSource())).manualCommitPool(true)
            .build();

    assertThatThrownBy(() -> flaky.update("UPDATE users SET name = ? WHERE id = ?", "alicia", 1L))
        .isInstanceOf(UncheckedSQLException.class);

    assertThat(names(executor.queryList(all, User::map))).containsExactly("alicia", "bob");
  }

  record Note(long id, Clob text) {}

  record Tagged(long id, List<String> tags) {}

  /** A mutable bean, as some mappers produce. */
  static final class Bean {
    String name;
  }

  /** Item 12: LOBs inside records, mutable beans and modifiable collections are refused; size is bounded. */
  @Test
  void item12_rowsHoldingResourcesOrMutableValuesAreRefusedAndLargeResultsAreNotCached() throws Exception {
    // A JDK Clob: PostgreSQL's driver does not implement Connection.createClob().
    Clob clob = new javax.sql.rowset.serial.SerialClob("note".toCharArray());
    assertThatThrownBy(() -> executor.execute(Query.named("notes").tables("users"), () -> List.of(new Note(1, clob))))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("Clob");
    Bean bean = new Bean();
    bean.name = "alice";
    assertThatThrownBy(() -> executor.execute(Query.named("beans").tables("users"), () -> List.of(bean)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("not final");
    assertThatThrownBy(() -> executor.execute(Query.named("tagged").tables("users"),
            () -> List.of(new Tagged(1, new ArrayList<>(List.of("a"))))))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("ArrayList");
    assertThat(executor.execute(Query.named("tagged").tables("users"), () -> List.of(new Tagged(1, List.of("a")))))
        .hasSize(1);
    assertThat(cache.estimatedL1Size()).isEqualTo(1);

    CachedQueryExecutor bounded =
        CachedQueryExecutor.builder(cache).dataSource(counting.proxy).maxCachedRows(1).build();
    String all = "SELECT id, name FROM users ORDER BY id";
    int before = counting.connections();
    assertThat(bounded.queryList(all, User::map)).hasSize(2);
    assertThat(bounded.queryList(all, User::map)).hasSize(2);
    assertThat(counting.connections()).as("too large to cache: read each time").isEqualTo(before + 2);
  }

  /** Item 13: dynamic SQL (IN lists of every length) cannot grow the meter registry without bound. */
  @Test
  void item13_perQueryMetersAreBounded() {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    CachedQueryExecutor metered =
        CachedQueryExecutor.builder(cache).dataSource(counting.proxy).meterRegistry(registry).maxMeteredQueries(3)
            .build();
    for (int n = 1; n <= 20; n++) {
      List<Long> ids = IntStream.rangeClosed(1, n).mapToObj(i -> (long) i).toList();
      metered.queryList("SELECT id, name FROM users WHERE id IN (?)", User::map, ids);
      metered.queryList("SELECT id, name FROM users WHERE id IN (" + "?, ".repeat(n) + "0)", User::map,
          ids.toArray());
    }
    long labels = registry.find("cache.query.executions").counters().stream()
        .map(c -> c.getId().getTag("query")).distinct().count();
    assertThat(labels).isLessThanOrEqualTo(4);
    assertThat(registry.find("cache.query.executions").tag("query", "other").counters()).isNotEmpty();
    assertThat(registry.find("cache.query.executions")
            .tag("query", "SELECT id, name FROM users WHERE id IN (?)").counters())
        .as("IN-lists of any length share the label of the SQL as written").hasSize(1);
  }

  /** Item 14: time zones in keys, literals in normalisation, quoted names with dots. */
  @Test
  void item14_keysAndTagsAreExact() {
    Date when = new Date(1_700_000_000_000L);
    TimeZone zone = TimeZone.getDefault();
    String key;
    String elsewhere;
    try {
      TimeZone.setDefault(TimeZone.getTimeZone("UTC"));
      key = executor.keyOf(Query.sql("SELECT id FROM users WHERE created < ?", when));
      TimeZone.setDefault(TimeZone.getTimeZone("Asia/Tokyo"));
      elsewhere = executor.keyOf(Query.sql("SELECT id FROM users WHERE created < ?", when));
    } finally {
      TimeZone.setDefault(zone);
    }
    assertThat(key).as("the driver binds a different wall clock in another zone").isNotEqualTo(elsewhere);

    assertThat(executor.keyOf(Query.sql("SELECT id FROM users WHERE name = 'a  b'")))
        .isNotEqualTo(executor.keyOf(Query.sql("SELECT id FROM users WHERE name = 'a b'")));
    assertThat(executor.keyOf(Query.sql("SELECT id FROM users -- a comment\nWHERE name = 'a  b'")))
        .isNotEqualTo(executor.keyOf(Query.sql("SELECT id FROM users -- a comment\nWHERE name = 'a b'")));
    assertThat(executor.keyOf(Query.sql("SELECT id  FROM users")))
        .isEqualTo(executor.keyOf(Query.sql("SELECT id FROM users")));

    String dotted = "SELECT id, name FROM \"my.table\"";
    assertThat(executor.tagsOf(Query.sql(dotted)).asSet()).containsExactly("table:my.table");
    assertThat(names(executor.queryList(dotted, User::map))).containsExactly("one");
    db.exec("UPDATE \"my.table\" SET name = 'uno'");
    executor.invalidateTables("\"my.table\"");
    assertThat(names(executor.queryList(dotted, User::map))).containsExactly("uno");
  }

  /** Connections in manual-commit mode whose commit is applied and then reports a failure. */
  private static DataSource commitAppliesThenFails(DataSource target) {
    return (DataSource)
        Proxy.newProxyInstance(
            DataSource.class.getClassLoader(),
            new Class<?>[] {DataSource.class},
            (p, method, args) -> {
              Object result = invoke(method, target, args);
              if (!(result instanceof Connection c)) {
                return result;
              }
              c.setAutoCommit(false);
              return Proxy.newProxyInstance(
                  Connection.class.getClassLoader(),
                  new Class<?>[] {Connection.class},
                  (q, m, a) -> {
                    Object r = invoke(m, c, a);
                    if (m.getName().equals("commit")) {
                      throw new SQLException("connection reset after the commit was applied");
                    }
                    return r;
                  });
            });
  }

  private static Object invoke(java.lang.reflect.Method method, Object target, Object[] args) throws Throwable {
    try {
      return method.invoke(target, args);
    } catch (InvocationTargetException e) {
      throw e.getCause();
    }
  }
}
