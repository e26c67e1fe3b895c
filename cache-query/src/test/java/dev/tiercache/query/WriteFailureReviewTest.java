package dev.tiercache.query;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tiercache.TieredCache;
import dev.tiercache.testkit.InMemoryL2Store;
import java.sql.SQLException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Review (s14, round 3): 282fac2 made a write on an auto-commit connection invalidate its tables in a
 * {@code finally}, "whatever it did" ({@code Transactions.autoCommitted}).
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class WriteFailureReviewTest {

  private static TestDatabase db;

  private final InMemoryL2Store l2 = new InMemoryL2Store();
  private TieredCache<String, QueryResult> cache;
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
    db.exec("DELETE FROM users", "INSERT INTO users VALUES (1, 'alice')");
    cache = TieredCache.<String, QueryResult>builder(
            "write-failure-" + Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 1))
        .l2(l2).valueCodec(QueryResultCodec.json(new ObjectMapper())).build();
    executor = CachedQueryExecutor.builder(cache).dataSource(db.dataSource()).build();
  }

  @AfterEach
  void close() {
    l2.setDown(false);
    cache.close();
  }

  private static Throwable sqlCause(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof SQLException e) {
        return e;
      }
    }
    return null;
  }

  /**
   * Breaks: the caller learns why its write failed; invariant 3 (Redis down must not change what the application
   * sees of its database). README: an invalidation Redis could not take is reported with InvalidationPendingException
   * -- but here it replaces the database's own error.
   *
   * <p>How: with the L2 down, an INSERT that violates the primary key fails in the database. The invalidation that
   * {@code autoCommitted} runs in its {@code finally} throws InvalidationPendingException, and Java's {@code finally}
   * discards the pending SQL exception: the caller gets "invalidation pending" with no trace of the constraint
   * violation (not as cause, not as suppressed), so code that handles a duplicate key (retry as UPDATE, answer 409)
   * sees a cache error instead, only while Redis is down. With the L2 up the same INSERT reports the SQLException.
   *
   * <p>Once fixed: the SQL failure is thrown (the invalidation's exception at most suppressed on it).
   */
  @Test
  void aFailedAutoCommitWriteReportsTheDatabasesErrorAlsoWhenTheInvalidationFails() {
    Throwable up = catchThrowable(() -> executor.update("INSERT INTO users VALUES (1, 'duplicate')"));
    assertThat(sqlCause(up)).as("with the L2 up: the database's error (%s)", up).isNotNull();

    l2.setDown(true);
    Throwable down = catchThrowable(() -> executor.update("INSERT INTO users VALUES (1, 'duplicate')"));

    assertThat(down).as("with the L2 down, the failed INSERT throws").isNotNull();
    assertThat(sqlCause(down))
        .as("with the L2 down, the database's error is still what the caller gets (got %s)", down)
        .isNotNull();
  }
}
