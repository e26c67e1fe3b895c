package dev.tiercache.query;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tiercache.TieredCache;
import java.sql.Statement;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Review (s14): README "Tags": {@code "my.table"} is tagged {@code my.table}, "the same for parsed SQL and
 * invalidateTables". Names are normalised with {@code normaliseQualified}, which keeps the last dot-separated part
 * of an unquoted name; normalising a name twice turns the already unquoted {@code my.table} into {@code table}. Two
 * paths normalise twice, so a table (or view) whose quoted name holds a dot is invalidated under the wrong tag and
 * its cached reads stay stale.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class DottedNameReviewTest {

  private static final RowMapper<String> NAME = (rs, n) -> rs.getString(1);
  private static final String READ_TABLE = "SELECT name FROM \"my.table\" WHERE id = 1";

  private static TestDatabase db;

  private TieredCache<String, QueryResult> cache;

  @BeforeAll
  static void database() {
    db = TestDatabase.create();
    db.exec(
        "CREATE TABLE \"my.table\" (id BIGINT PRIMARY KEY, name VARCHAR(100) NOT NULL)",
        "CREATE VIEW over_dotted AS SELECT name FROM \"my.table\"",
        "CREATE VIEW \"my.view\" AS SELECT name FROM \"my.table\"");
  }

  @AfterAll
  static void dropDatabase() {
    db.close();
  }

  @BeforeEach
  void setUp() {
    db.exec("DELETE FROM \"my.table\"", "INSERT INTO \"my.table\" VALUES (1, 'old')");
    cache = TieredCache.<String, QueryResult>builder(
        "dotted-" + Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 1)).build();
  }

  @AfterEach
  void close() {
    cache.close();
  }

  /**
   * {@link Transaction#invalidateOnCommit}: "invalidates these tables after the commit", for writes made on the
   * transaction's raw connection. It normalises each name ({@code "my.table"} becomes {@code my.table}) and hands
   * the result to {@code Query.tables}, which normalises again ({@code my.table} becomes {@code table}): after the
   * commit {@code table:table} is invalidated, and the cached read of {@code "my.table"} misses the committed write.
   * ({@code invalidateTables("\"my.table\"")} outside a transaction gets it right.)
   */
  @Test
  void invalidateOnCommitOfAQuotedDottedNameInvalidatesThatTable() {
    CachedQueryExecutor executor = CachedQueryExecutor.builder(cache).dataSource(db.dataSource()).build();
    assertThat(executor.queryList(READ_TABLE, NAME)).containsExactly("old");

    executor.inTransaction(
        tx -> {
          try (Statement s = tx.connection().createStatement()) {
            s.executeUpdate("UPDATE \"my.table\" SET name = 'new' WHERE id = 1");
          }
          tx.invalidateOnCommit("\"my.table\"");
          return null;
        });

    assertThat(executor.queryList(READ_TABLE, NAME)).as("the cached read after the committed, announced write")
        .containsExactly("new");
  }

  /**
   * {@code viewsFromDatabase()}: "declares every view ... with the tables its definition reads". The base tables it
   * parses are already normalised ({@code my.table}); {@code view(...)} normalises them again into {@code table}, so
   * the view is declared over a table {@code table} and a write to {@code "my.table"} does not reach the cached view.
   */
  @Test
  void aViewFromTheDatabaseOverADottedTableIsInvalidatedByWritesToIt() {
    CachedQueryExecutor executor =
        CachedQueryExecutor.builder(cache).dataSource(db.dataSource()).viewsFromDatabase().build();
    String view = "SELECT name FROM over_dotted";
    assertThat(executor.queryList(view, NAME)).containsExactly("old");

    executor.update("UPDATE \"my.table\" SET name = ? WHERE id = ?", "new", 1L);

    assertThat(executor.queryList(view, NAME)).as("the cached view after a write to its base table")
        .containsExactly("new");
  }

  /**
   * The same double normalisation for a view's own name: INFORMATION_SCHEMA gives {@code my.view}, normalised once
   * by ViewCatalog and again by {@code view(...)} into {@code view}; a query on {@code "my.view"} is tagged {@code
   * table:my.view} only (and warned about as undeclared), and a write to its base table does not reach it.
   */
  @Test
  void aDottedViewFromTheDatabaseIsInvalidatedByWritesToItsBaseTable() {
    CachedQueryExecutor executor =
        CachedQueryExecutor.builder(cache).dataSource(db.dataSource()).viewsFromDatabase().build();
    String view = "SELECT name FROM \"my.view\"";
    assertThat(executor.queryList(view, NAME)).containsExactly("old");

    executor.update("UPDATE \"my.table\" SET name = ? WHERE id = ?", "new", 1L);

    assertThat(executor.queryList(view, NAME)).as("the cached view after a write to its base table")
        .containsExactly("new");
  }
}
