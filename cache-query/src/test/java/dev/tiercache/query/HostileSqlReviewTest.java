package dev.tiercache.query;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import dev.tiercache.TieredCache;
import java.time.Duration;
import java.util.HexFormat;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Review (s14): SQL the analysis gets wrong or cannot bound. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class HostileSqlReviewTest {

  private static TestDatabase db;

  private TieredCache<String, QueryResult> cache;
  private CachedQueryExecutor executor;

  @BeforeAll
  static void database() {
    db = TestDatabase.create();
    db.exec("CREATE TABLE users (id BIGINT PRIMARY KEY, name VARCHAR(100) NOT NULL)",
        "INSERT INTO users VALUES (1, 'alice')");
  }

  @AfterAll
  static void dropDatabase() {
    db.close();
  }

  @BeforeEach
  void setUp() {
    cache = TieredCache.<String, QueryResult>builder(
        "hostile-" + Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 1)).build();
    executor = CachedQueryExecutor.builder(cache).dataSource(db.dataSource()).build();
  }

  @AfterEach
  void close() {
    cache.close();
  }

  /**
   * README "What is read without the cache": "reads that call a volatile function: ... random values ({@code RAND},
   * {@code RANDOM}, {@code UUID}, {@code gen_random_uuid}...)". H2's built-in {@code SECURE_RAND(n)} (random bytes)
   * is not in the deny-list, so {@code SELECT SECURE_RAND(16) FROM users} is cached: every caller gets the first
   * caller's "random" bytes. (PostgreSQL's {@code uuid_generate_v4()} of uuid-ossp is missing the same way.)
   */
  @Test
  void aReadCallingH2sSecureRandIsNotCached() {
    assumeFalse(db.isPostgres(), "SECURE_RAND is H2's");
    String sql = "SELECT SECURE_RAND(16) FROM users WHERE id = 1";
    RowMapper<String> hex = (rs, n) -> HexFormat.of().formatHex(rs.getBytes(1));

    String first = executor.queryList(sql, hex).get(0);
    String second = executor.queryList(sql, hex).get(0);

    assertThat(cache.getIfPresent(executor.keyOf(Query.sql(sql)))).as("the cached result of a random read").isNull();
    assertThat(second).as("a second call of a 16-byte random read").isNotEqualTo(first);
  }

  /**
   * DESIGN invariant 3 ("never less available than the database") and 6 (nothing a caller passes makes the JVM do
   * super-linear work). The executor parses SQL with JSqlParser on the caller's thread, without the parse timeout
   * JSqlParser's own helpers apply, and retries in "complex" mode when the fast parse fails. Parsing nested {@code IN
   * (SELECT ...)} subqueries costs about twice as much per level (measured here: 10 levels 1 s, 13 levels 3 s, 15
   * levels 10 s, 17 levels 44 s), all of it before the database sees the query, which the database answers in
   * milliseconds. With 14 levels the first {@code tagsOf} (what every read does first) takes several seconds; the
   * test expects the analysis to give up (refuse the SQL, or read past the cache) within 2 s.
   */
  @Test
  void analysingDeeplyNestedSubqueriesIsBoundedInTime() {
    executor.tagsOf(Query.sql("SELECT id FROM users WHERE id IN (SELECT id FROM users)")); // load the parser first
    int levels = 14;
    String sql = "SELECT id FROM users WHERE id IN (" + "SELECT id FROM users WHERE id IN (".repeat(levels) + "1"
        + ")".repeat(levels + 1);
    assertThat(executor.queryList(Query.sql(sql).tables("users").bypass(), (rs, n) -> rs.getLong(1)))
        .as("the database answers it").containsExactly(1L);

    // The bound is on the analysing thread's CPU time (SqlTables.PARSE_TIMEOUT, 1 s), so that busy cores do not
    // refuse what parses in time when they are idle; the wall time is bounded by SqlTables.PARSE_WALL_LIMIT.
    java.lang.management.ThreadMXBean threads = java.lang.management.ManagementFactory.getThreadMXBean();
    long cpuStart = threads.getCurrentThreadCpuTime();
    long start = System.nanoTime();
    Throwable thrown = catchThrowable(() -> executor.tagsOf(Query.sql(sql)));
    Duration took = Duration.ofNanos(System.nanoTime() - start);
    Duration cpu = Duration.ofNanos(threads.getCurrentThreadCpuTime() - cpuStart);

    if (thrown != null) {
      assertThat(thrown).as("a refusal, if any, is the documented one").isInstanceOf(IllegalArgumentException.class);
    }
    assertThat(cpu).as("the CPU time of the analysis of %d nested subqueries", levels)
        .isLessThan(Duration.ofSeconds(2));
    assertThat(took).as("the analysis of %d nested subqueries", levels)
        .isLessThan(SqlTables.PARSE_WALL_LIMIT.plusSeconds(2));
  }
}
