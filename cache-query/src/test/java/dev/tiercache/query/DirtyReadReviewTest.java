package dev.tiercache.query;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import dev.tiercache.TieredCache;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Review (s14): README "What is read without the cache": every read inside a transaction, because "it may see
 * uncommitted rows"; the executor's rule is that what it caches is committed (so that the invalidation after the
 * commit, or no invalidation after a rollback, keeps the cache right). A connection at {@code READ UNCOMMITTED}
 * (a pool setting some applications use) sees other transactions' uncommitted rows even in auto-commit mode, and
 * the executor caches what it reads there: when the writer rolls back, nothing is invalidated (correctly, nothing
 * changed), and the cache serves rows that never existed until its TTL.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class DirtyReadReviewTest {

  private static TestDatabase db;

  private TieredCache<String, QueryResult> cache;
  private ExecutorService writerThread;

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
    db.exec("DELETE FROM users", "INSERT INTO users VALUES (1, 'alice')");
    cache = TieredCache.<String, QueryResult>builder(
        "dirty-" + Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 1)).build();
    writerThread = Executors.newSingleThreadExecutor();
  }

  @AfterEach
  void close() {
    writerThread.shutdownNow();
    cache.close();
  }

  /** The test database's connections, at READ UNCOMMITTED (as a pool's transactionIsolation setting does). */
  private static DataSource readUncommitted(DataSource target) {
    return (DataSource)
        Proxy.newProxyInstance(
            DataSource.class.getClassLoader(),
            new Class<?>[] {DataSource.class},
            (p, method, args) -> {
              Object result;
              try {
                result = method.invoke(target, args);
              } catch (InvocationTargetException e) {
                throw e.getCause();
              }
              if (method.getName().equals("getConnection")) {
                ((Connection) result).setTransactionIsolation(Connection.TRANSACTION_READ_UNCOMMITTED);
              }
              return result;
            });
  }

  private static void awaitQuietly(CountDownLatch latch) {
    try {
      latch.await(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Test
  void aRowThatARolledBackTransactionWroteIsNotCached() throws Exception {
    assumeFalse(db.isPostgres(), "PostgreSQL runs READ UNCOMMITTED as READ COMMITTED: no dirty reads");
    CachedQueryExecutor executor =
        CachedQueryExecutor.builder(cache).dataSource(readUncommitted(db.dataSource())).build();
    String sql = "SELECT name FROM users WHERE id = 1";
    RowMapper<String> name = (rs, n) -> rs.getString(1);

    CountDownLatch written = new CountDownLatch(1);
    CountDownLatch readDone = new CountDownLatch(1);
    Future<?> writer =
        writerThread.submit(
            () ->
                executor.inTransaction(
                    tx -> {
                      tx.update("UPDATE users SET name = ? WHERE id = ?", "mallory", 1L);
                      written.countDown();
                      awaitQuietly(readDone);
                      throw new IllegalStateException("the writer rolls back");
                    }));
    assertThat(written.await(10, TimeUnit.SECONDS)).isTrue();
    List<String> duringTheTransaction = executor.queryList(sql, name); // an auto-commit read, on another thread
    readDone.countDown();
    try {
      writer.get(10, TimeUnit.SECONDS);
    } catch (java.util.concurrent.ExecutionException expected) {
      assertThat(expected.getCause()).hasMessage("the writer rolls back");
    }
    assertThat(duringTheTransaction).as("the dirty read itself (READ UNCOMMITTED)").containsExactly("mallory");

    assertThat(executor.queryList(Query.sql(sql).bypass(), name)).as("the database after the rollback")
        .containsExactly("alice");
    assertThat(executor.queryList(sql, name)).as("the cached read after the rollback").containsExactly("alice");
  }
}
