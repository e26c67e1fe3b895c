package dev.tiercache.query;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tiercache.TieredCache;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The executor inside a caller's transaction (issue items 10 and 11): a transaction-aware data source hands out the
 * thread's connection, and {@link TransactionSync} tells the executor about the transaction.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class TransactionSyncTest {

  record User(long id, String name) {
    static User map(ResultSet rs, int rowNum) throws SQLException {
      return new User(rs.getLong("id"), rs.getString("name"));
    }
  }

  private static final String ALL = "SELECT id, name FROM users ORDER BY id";

  private static TestDatabase db;
  private TieredCache<String, QueryResult> cache;
  private ThreadBoundTransactions transactions;
  private CachedQueryExecutor executor;

  @BeforeAll
  static void database() {
    db = TestDatabase.create();
    db.exec("CREATE TABLE users (id BIGINT PRIMARY KEY, name VARCHAR(100) NOT NULL)");
  }

  @AfterAll
  static void dropDatabase() {
    db.close();
  }

  @BeforeEach
  void setUp() {
    db.exec("DELETE FROM users", "INSERT INTO users VALUES (1, 'alice'), (2, 'bob')");
    cache = TieredCache.<String, QueryResult>builder("tx-" + Long.toHexString(ThreadLocalRandom.current().nextLong()
        >>> 1)).build();
    transactions = new ThreadBoundTransactions(db.dataSource());
    executor =
        CachedQueryExecutor.builder(cache)
            .dataSource(transactions.dataSource())
            .transactionSync(transactions.sync())
            .build();
  }

  @AfterEach
  void tearDown() {
    cache.close();
  }

  private List<String> names() {
    return executor.queryList(ALL, User::map).stream().map(User::name).toList();
  }

  private boolean cached() {
    return cache.getIfPresent(executor.keyOf(Query.sql(ALL))) != null;
  }

  private static List<String> committedNames() {
    return db.dataSource() != null ? committed() : List.of();
  }

  private static List<String> committed() {
    try (var c = db.dataSource().getConnection();
        var s = c.createStatement();
        var rs = s.executeQuery(ALL)) {
      List<String> names = new java.util.ArrayList<>();
      while (rs.next()) {
        names.add(rs.getString("name"));
      }
      return names;
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  @Test
  void insideACallersTransactionWritesAreInvalidatedOnlyAfterItCommits() throws SQLException {
    assertThat(names()).containsExactly("alice", "bob");
    assertThat(cached()).isTrue();

    transactions.begin();
    executor.update("INSERT INTO users VALUES (?, ?)", 3L, "carol");
    assertThat(cached()).as("not invalidated before the commit").isTrue();
    assertThat(names()).as("the transaction sees its own row, read past the cache").containsExactly("alice", "bob",
        "carol");
    assertThat(committedNames()).as("the executor did not commit the caller's transaction").containsExactly("alice",
        "bob");
    transactions.commit();

    assertThat(transactions.foreignCommits).hasValue(0);
    assertThat(cached()).as("invalidated after the commit").isFalse();
    assertThat(names()).containsExactly("alice", "bob", "carol");
  }

  @Test
  void aRolledBackCallersTransactionLeavesNothingCachedAndInvalidatesNothing() throws SQLException {
    transactions.begin();
    executor.update("INSERT INTO users VALUES (?, ?)", 3L, "mallory");
    assertThat(names()).contains("mallory");
    assertThat(cached()).as("a read inside a transaction is never cached").isFalse();
    transactions.rollback();

    assertThat(transactions.foreignCommits).hasValue(0);
    assertThat(transactions.foreignRollbacks).hasValue(0);
    assertThat(names()).containsExactly("alice", "bob");

    transactions.begin();
    executor.update("UPDATE users SET name = ? WHERE id = ?", "mallory", 1L);
    transactions.rollback();
    assertThat(cached()).as("nothing was invalidated by the rolled-back write").isTrue();
    assertThat(names()).containsExactly("alice", "bob");
  }

  @Test
  void inTransactionJoinsTheCallersTransactionWithoutCommittingIt() throws SQLException {
    assertThat(names()).containsExactly("alice", "bob");
    transactions.begin();
    executor.inTransaction(tx -> tx.update("UPDATE users SET name = ? WHERE id = ?", "alicia", 1L));
    assertThat(committedNames()).containsExactly("alice", "bob");
    assertThat(cached()).isTrue();
    transactions.rollback();
    assertThat(committedNames()).containsExactly("alice", "bob");
    assertThat(cached()).isTrue();

    transactions.begin();
    executor.inTransaction(tx -> tx.update("UPDATE users SET name = ? WHERE id = ?", "alicia", 1L));
    transactions.commit();
    assertThat(transactions.foreignCommits).hasValue(0);
    assertThat(names()).containsExactly("alicia", "bob");
  }

  @Test
  void withoutASyncATransactionAwareDataSourceIsNeitherCachedNorCommitted() throws SQLException {
    CachedQueryExecutor blind = CachedQueryExecutor.builder(cache).dataSource(transactions.dataSource()).build();
    transactions.begin();
    try {
      try (var c = transactions.dataSource().getConnection(); var s = c.createStatement()) {
        s.executeUpdate("INSERT INTO users VALUES (3, 'uncommitted')");
      }
      assertThat(blind.queryList(ALL, User::map)).extracting(User::name).contains("uncommitted");
      assertThat(cached()).as("a read on a manual-commit connection nobody declared is not cached").isFalse();
      assertThatThrownBy(() -> blind.update("UPDATE users SET name = ? WHERE id = ?", "x", 1L))
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("transactionSync");
      assertThat(transactions.foreignCommits).hasValue(0);
    } finally {
      transactions.rollback();
    }
    assertThat(blind.queryList(ALL, User::map)).extracting(User::name).containsExactly("alice", "bob");
  }

  @Test
  void insideInTransactionTheExecutorsOwnMethodsUseTheTransaction() {
    CachedQueryExecutor own = CachedQueryExecutor.builder(cache).dataSource(db.dataSource()).build();
    assertThat(own.queryList(ALL, User::map)).hasSize(2);
    assertThatThrownBy(
            () ->
                own.inTransaction(
                    tx -> {
                      own.update("INSERT INTO users VALUES (?, ?)", 3L, "carol");
                      assertThat(own.queryList(ALL, User::map))
                          .as("the executor's read inside the transaction sees its write, not the cached result")
                          .extracting(User::name)
                          .containsExactly("alice", "bob", "carol");
                      throw new IllegalStateException("roll back");
                    }))
        .hasMessage("roll back");
    assertThat(committedNames()).as("the executor's insert was rolled back with the transaction")
        .containsExactly("alice", "bob");
    assertThat(own.queryList(ALL, User::map)).extracting(User::name).containsExactly("alice", "bob");

    own.inTransaction(tx -> own.update("INSERT INTO users VALUES (?, ?)", 3L, "carol"));
    assertThat(own.queryList(ALL, User::map)).extracting(User::name).containsExactly("alice", "bob", "carol");
  }
}
