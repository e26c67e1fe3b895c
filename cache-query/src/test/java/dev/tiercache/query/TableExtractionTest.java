package dev.tiercache.query;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tiercache.TieredCache;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Which tables a statement reads or writes, as JSqlParser finds them, and the tags that follow. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class TableExtractionTest {

  private static final TieredCache<String, QueryResult> CACHE =
      TieredCache.<String, QueryResult>builder("tables").build();
  private static final CachedQueryExecutor EXECUTOR = CachedQueryExecutor.builder(CACHE).build();

  @AfterAll
  static void close() {
    CACHE.close();
  }

  private static final QueryPlanner PLANNER = new QueryPlanner(TableDependencies.NONE);

  private static Set<String> reads(String sql) {
    return tables(PLANNER.readTags(Query.sql(sql)));
  }

  private static Set<String> writes(String sql) {
    return tables(PLANNER.writeTags(Query.sql(sql)));
  }

  private static Set<String> tables(dev.tiercache.Tags tags) {
    Set<String> tables = new java.util.TreeSet<>();
    tags.forEach(t -> tables.add(t.substring("table:".length())));
    return tables;
  }

  @Test
  void joinsOfEveryKindReportEveryTable() {
    assertThat(reads("SELECT u.name, o.total FROM users u JOIN orders o ON o.user_id = u.id"))
        .containsExactlyInAnyOrder("users", "orders");
    assertThat(reads("SELECT * FROM users u LEFT OUTER JOIN orders o ON o.user_id = u.id"
            + " RIGHT JOIN items i ON i.order_id = o.id CROSS JOIN regions, tenants t"))
        .containsExactlyInAnyOrder("users", "orders", "items", "regions", "tenants");
    assertThat(reads("SELECT * FROM users u LEFT JOIN LATERAL (SELECT * FROM orders o WHERE o.user_id = u.id"
            + " LIMIT 1) last_order ON true"))
        .containsExactlyInAnyOrder("users", "orders");
  }

  @Test
  void subqueriesAnywhereAreFound() {
    assertThat(reads("SELECT * FROM users WHERE id IN (SELECT user_id FROM orders WHERE total > ?)"
            + " AND EXISTS (SELECT 1 FROM audit a WHERE a.user_id = users.id)"))
        .containsExactlyInAnyOrder("users", "orders", "audit");
    assertThat(reads("SELECT u.id, (SELECT count(*) FROM orders o WHERE o.user_id = u.id) FROM users u"))
        .containsExactlyInAnyOrder("users", "orders");
    assertThat(reads("SELECT * FROM (SELECT * FROM (SELECT id FROM deep) d1) d2"))
        .containsExactly("deep");
    assertThat(reads("SELECT id FROM a UNION SELECT id FROM b EXCEPT SELECT id FROM c"))
        .containsExactlyInAnyOrder("a", "b", "c");
  }

  /** Issue 12 item 1: every clause, including those JSqlParser's TablesNamesFinder skips. */
  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "SELECT u.id FROM users u ORDER BY (SELECT MAX(total) FROM orders o WHERE o.user_id = u.id)",
        "SELECT COUNT(*) FILTER (WHERE id IN (SELECT user_id FROM orders)) FROM users",
        "SELECT id FROM users GROUP BY id, (SELECT MAX(total) FROM orders)",
        "SELECT id, SUM(id) OVER (PARTITION BY (SELECT MAX(total) FROM orders)) FROM users",
        "SELECT DISTINCT ON ((SELECT MAX(total) FROM orders)) id FROM users",
        "SELECT id FROM users OFFSET (SELECT COUNT(*) FROM orders) ROWS FETCH NEXT 5 ROWS ONLY",
        "SELECT id FROM users QUALIFY ROW_NUMBER() OVER (ORDER BY id) < (SELECT COUNT(*) FROM orders)",
        "SELECT id FROM users UNION SELECT id FROM users ORDER BY (SELECT MAX(total) FROM orders)",
        "SELECT id FROM users HAVING COUNT(*) > (SELECT COUNT(*) FROM orders)",
      })
  void aTableNamedInAnyClauseIsTagged(String sql) {
    assertThat(reads(sql)).contains("users", "orders");
  }

  @Test
  void aSubqueryAliasedLikeATableDoesNotHideTheTable() {
    // JSqlParser's own finder drops every name used as an alias, so this would lose table:users.
    assertThat(reads("SELECT * FROM (SELECT * FROM users WHERE active) users")).containsExactly("users");
  }

  // CTE names may come out as extra tags (harmless: more invalidation, never less); every real table must.
  @Test
  void everyRealTableBehindACteIsTagged() {
    assertThat(reads("WITH recent AS (SELECT * FROM orders WHERE created > ?)"
            + " SELECT * FROM recent r JOIN users u ON r.user_id = u.id"))
        .contains("orders", "users");
    assertThat(reads("WITH Recent AS (SELECT * FROM orders) SELECT * FROM RECENT")).contains("orders");
    assertThat(reads("WITH a AS (SELECT * FROM t1), b AS (SELECT * FROM a JOIN t2 ON a.id = t2.id)"
            + " SELECT * FROM b"))
        .contains("t1", "t2");
    assertThat(reads("WITH RECURSIVE tree(id, parent) AS (SELECT id, parent FROM nodes WHERE parent IS NULL"
            + " UNION ALL SELECT n.id, n.parent FROM nodes n JOIN tree ON n.parent = tree.id) SELECT * FROM tree"))
        .contains("nodes");
  }

  @Test
  void aCteIsOnlyInScopeWhereSqlSaysSo() {
    // A non-recursive CTE does not see itself: the inner users is the real table.
    assertThat(reads("WITH users AS (SELECT * FROM users WHERE active) SELECT * FROM users"))
        .contains("users");
    // A later CTE is not visible in an earlier one.
    assertThat(reads("WITH a AS (SELECT * FROM b), b AS (SELECT * FROM t) SELECT * FROM a, b"))
        .contains("b", "t");
    // A CTE of a subquery is not visible outside it.
    assertThat(reads("SELECT * FROM (WITH x AS (SELECT * FROM t) SELECT * FROM x) sub, x"))
        .contains("t", "x");
    // A schema-qualified name is never a CTE.
    assertThat(reads("WITH users AS (SELECT 1 AS id) SELECT * FROM users, app.users"))
        .contains("users");
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "SELECT * FROM \"Users\"|users",
        "SELECT * FROM \"order items\"|order items",
        "SELECT * FROM `Backtick`|backtick",
        "SELECT * FROM public.users|users",
        "SELECT * FROM \"Public\".\"Users\"|users",
        "SELECT * FROM app.\"Weird\"\"Name\"|weird\"name",
        "SELECT * FROM USERS|users",
        "SELECT * FROM catalog1.schema1.Users|users",
        "SELECT * FROM \"my.table\" t|my.table",
        "SELECT * FROM app.\"my.table\"|my.table",
      })
  void quotedAndQualifiedNamesAreNormalised(String sql, String table) {
    // "my.table" is one name (JSqlParser itself splits it at the dot): tagged as invalidateTables tags it.
    assertThat(reads(sql)).containsExactly(table);
  }

  @Test
  void writesReportTheTablesTheyWriteOnly() {
    assertThat(writes("INSERT INTO users (id, name) VALUES (?, ?)")).containsExactly("users");
    assertThat(writes("INSERT INTO archive SELECT * FROM users WHERE id = ?")).containsExactly("archive");
    assertThat(writes("UPDATE users SET name = ? WHERE id IN (SELECT user_id FROM orders)"))
        .containsExactly("users");
    assertThat(writes("UPDATE \"App\".\"Users\" SET name = ? WHERE id = ?")).containsExactly("users");
    assertThat(writes("DELETE FROM users WHERE id = ?")).containsExactly("users");
    assertThat(writes("MERGE INTO users u USING staging s ON (u.id = s.id)"
            + " WHEN MATCHED THEN UPDATE SET u.name = s.name"
            + " WHEN NOT MATCHED THEN INSERT (id, name) VALUES (s.id, s.name)"))
        .containsExactly("users");
    assertThat(writes("TRUNCATE TABLE users")).containsExactly("users");
    assertThat(writes("INSERT INTO users (id) VALUES (?) ON CONFLICT (id) DO UPDATE SET name = excluded.name"))
        .containsExactly("users");
  }

  @Test
  void aWriteWithAWithClauseCountsEveryTableItNames() {
    assertThat(writes("WITH gone AS (SELECT id FROM users WHERE active = false)"
            + " DELETE FROM sessions WHERE user_id IN (SELECT id FROM gone)"))
        .contains("sessions");
    assertThat(writes("WITH src AS (SELECT * FROM staging) INSERT INTO users SELECT * FROM src"))
        .contains("users", "staging");
  }

  @Test
  void tagsAreTableTagsPlusExtraTags() {
    assertThat(EXECUTOR.tagsOf(Query.sql("SELECT * FROM Users u JOIN public.\"ORDERS\" o ON o.uid = u.id"))
            .asSet())
        .containsExactlyInAnyOrder("table:users", "table:orders");
    assertThat(EXECUTOR.tagsOf(Query.sql("SELECT * FROM users").tags("tenant:7")).asSet())
        .containsExactlyInAnyOrder("table:users", "tenant:7");
    assertThat(EXECUTOR.tagsOf(Query.named("report", 1)).isEmpty()).isTrue();
    assertThat(EXECUTOR.tagsOf(Query.named("report").tables("App.\"Users\"", "orders")).asSet())
        .containsExactlyInAnyOrder("table:users", "table:orders");
  }

  @Test
  void explicitTablesReplaceParsingAndRescueSqlTheParserCannotRead() {
    String vendorSql = "SELECT * FROM users CONNECT WITH MAGIC ?";
    assertThatThrownBy(() -> EXECUTOR.tagsOf(Query.sql(vendorSql, 1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("cannot tell which tables this SQL reads")
        .hasMessageContaining(".tables(");
    assertThat(EXECUTOR.tagsOf(Query.sql(vendorSql, 1).tables("users")).asSet()).containsExactly("table:users");
    // Explicit tables win over parsing: a view's base table, say.
    assertThat(EXECUTOR.tagsOf(Query.sql("SELECT * FROM active_users_view").tables("users")).asSet())
        .containsExactly("table:users");
  }

  @Test
  void aReadMustBeAQueryAndAWriteMustBeAWrite() {
    assertThatThrownBy(() -> EXECUTOR.tagsOf(Query.sql("DELETE FROM users")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("it writes");
    assertThatThrownBy(() -> writes("SELECT * FROM users"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("it is a query");
    assertThatThrownBy(() -> writes("CREATE TABLE t (id INT)"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("CreateTable");
    assertThatThrownBy(() -> reads("SELECT 1 FROM a; DELETE FROM b"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("not exactly one SQL statement");
  }

  @Test
  void aTrailingSemicolonIsStillOneStatement() {
    assertThat(reads("SELECT * FROM users;")).containsExactly("users");
  }

  @Test
  void aQueryWithoutTablesHasNoTags() {
    assertThat(reads("SELECT 1")).isEmpty();
    assertThat(EXECUTOR.tagsOf(Query.sql("SELECT CURRENT_DATE")).isEmpty()).isTrue();
  }
}
