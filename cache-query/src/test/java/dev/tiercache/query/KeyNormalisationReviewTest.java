package dev.tiercache.query;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import dev.tiercache.TieredCache;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
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
 * Review (s14): README "Keys": whitespace is collapsed "in code ... never inside literals, quoted identifiers or
 * comments", and "two different queries never share a key"; SqlText: "normalising must never make two different
 * statements one". SqlText knows {@code --} and non-nested {@code /* *}{@code /} comments only. The database knows
 * more: H2 has {@code //} line comments, and H2 and PostgreSQL nest block comments. A quote inside such a comment
 * makes SqlText's view of where literals start and end the opposite of the database's, so it collapses whitespace
 * inside a real string literal. The normalised text is not only the key: it is what {@code Query.name()} hands the
 * driver, so the executor runs a different query than the caller wrote (even with {@code bypass()}), and two
 * queries that differ only inside that literal share one key and one result.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class KeyNormalisationReviewTest {

  private static TestDatabase db;

  private TieredCache<String, QueryResult> cache;
  private CachedQueryExecutor executor;

  @BeforeAll
  static void database() {
    db = TestDatabase.create();
    db.exec(
        "CREATE TABLE notes (id BIGINT PRIMARY KEY, body VARCHAR(100) NOT NULL)",
        "INSERT INTO notes VALUES (1, 'a   b'), (2, 'a b')");
  }

  @AfterAll
  static void dropDatabase() {
    db.close();
  }

  @BeforeEach
  void setUp() {
    cache = TieredCache.<String, QueryResult>builder(
        "keys-" + Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 1)).build();
    executor = CachedQueryExecutor.builder(cache).dataSource(db.dataSource()).build();
  }

  @AfterEach
  void close() {
    cache.close();
  }

  private static final RowMapper<Long> ID = (rs, n) -> rs.getLong(1);

  /** What the database answers to the SQL as written, through plain JDBC. */
  private static List<Long> direct(String sql) throws SQLException {
    List<Long> ids = new ArrayList<>();
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery(sql)) {
      while (rs.next()) {
        ids.add(rs.getLong(1));
      }
    }
    return ids;
  }

  /**
   * H2 {@code //} comment holding an apostrophe: JSqlParser reads these statements (no explicit tables needed), and
   * both normalise to {@code ... body = 'a b'}; H2 finds note 1 for the first and note 2 for the second.
   */
  @Test
  void anApostropheInAnH2LineCommentDoesNotMakeTwoLiteralsOneKey() throws SQLException {
    assumeFalse(db.isPostgres(), "// is a comment in H2 only");
    String threeSpaces = "SELECT id FROM notes // the author's note\nWHERE body = 'a   b'";
    String oneSpace = "SELECT id FROM notes // the author's note\nWHERE body = 'a b'";

    assertThat(direct(threeSpaces)).as("H2's answer").containsExactly(1L);
    assertThat(direct(oneSpace)).as("H2's answer").containsExactly(2L);
    assertThat(executor.queryList(Query.sql(threeSpaces).bypass(), ID)).as("the executor's bypass of the first")
        .containsExactly(1L);

    assertThat(executor.keyOf(Query.sql(threeSpaces))).as("two different queries")
        .isNotEqualTo(executor.keyOf(Query.sql(oneSpace)));
    assertThat(executor.queryList(threeSpaces, ID)).containsExactly(1L);
    assertThat(executor.queryList(oneSpace, ID)).as("the second query, after the first was cached")
        .containsExactly(2L);
  }

  /**
   * Nested block comment holding an apostrophe (H2 and PostgreSQL nest them; JSqlParser cannot read it, so the
   * tables are named, which README allows for SQL the parser cannot read).
   */
  @Test
  void anApostropheInANestedBlockCommentDoesNotMakeTwoLiteralsOneKey() throws SQLException {
    String threeSpaces = "SELECT id FROM notes /* outer /* inner */ the author's note */ WHERE body = 'a   b'";
    String oneSpace = "SELECT id FROM notes /* outer /* inner */ the author's note */ WHERE body = 'a b'";

    assertThat(direct(threeSpaces)).as("the database's answer").containsExactly(1L);
    assertThat(direct(oneSpace)).as("the database's answer").containsExactly(2L);
    assertThat(executor.queryList(Query.sql(threeSpaces).tables("notes").bypass(), ID))
        .as("the executor's bypass of the first").containsExactly(1L);

    assertThat(executor.keyOf(Query.sql(threeSpaces).tables("notes"))).as("two different queries")
        .isNotEqualTo(executor.keyOf(Query.sql(oneSpace).tables("notes")));
    assertThat(executor.queryList(Query.sql(threeSpaces).tables("notes"), ID)).containsExactly(1L);
    assertThat(executor.queryList(Query.sql(oneSpace).tables("notes"), ID))
        .as("the second query, after the first was cached").containsExactly(2L);
  }
}
