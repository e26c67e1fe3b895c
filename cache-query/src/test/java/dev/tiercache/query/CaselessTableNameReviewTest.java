package dev.tiercache.query;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tiercache.TieredCache;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Review (s14, round 3), found while attacking the table-name case folding of 282fac2 (the defect itself is older,
 * 745a5e4): {@code ViewCatalog.isView} builds {@code Set.of(table, table.toUpperCase(Locale.ROOT))}, and
 * {@code Set.of} throws IllegalArgumentException ("duplicate element") when the two are equal: a table name without
 * cased letters (CJK, Hebrew, Arabic..., or digits and underscores only, quoted).
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class CaselessTableNameReviewTest {

  private static TestDatabase db;

  private TieredCache<String, QueryResult> cache;
  private CachedQueryExecutor executor;

  @BeforeAll
  static void database() {
    db = TestDatabase.create();
    db.exec("CREATE TABLE \"用户\" (id BIGINT PRIMARY KEY, name VARCHAR(100) NOT NULL)",
        "INSERT INTO \"用户\" VALUES (1, 'alice')");
  }

  @AfterAll
  static void dropDatabase() {
    db.close();
  }

  @BeforeEach
  void setUp() {
    cache = TieredCache.<String, QueryResult>builder(
        "caseless-" + Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 1)).build();
    executor = CachedQueryExecutor.builder(cache).dataSource(db.dataSource()).build();
  }

  @AfterEach
  void close() {
    cache.close();
  }

  /**
   * Breaks: invariant 3 (never less available than the database): the first cached read of a table named in a
   * caseless script throws {@code IllegalArgumentException: duplicate element: 用户} from the view check (which only
   * exists to log a warning, and catches SQLException only); the database answers it. Deterministic.
   *
   * <p>Once fixed: the read returns the row.
   */
  @Test
  void aReadOfATableWhoseNameHasNoCaseIsAnswered() {
    assertThat(executor.queryList("SELECT name FROM \"用户\" WHERE id = 1", (rs, n) -> rs.getString(1)))
        .containsExactly("alice");
  }
}
