package dev.tiercache.query;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.tiercache.TieredCache;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Review (s14, round 3): the 1 s parse deadline of {@link SqlTables} (eebc057) is wall-clock time on the caller's
 * thread, and a statement past it is refused (IllegalArgumentException, "cannot tell which tables this SQL reads").
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class ParseDeadlineReviewTest {

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
        "deadline-" + Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 1)).build();
    executor = CachedQueryExecutor.builder(cache).dataSource(db.dataSource()).build();
    executor.tagsOf(Query.sql("SELECT id FROM users WHERE id IN (SELECT id FROM users)")); // load the parser first
  }

  @AfterEach
  void close() {
    cache.close();
  }

  /** {@code levels} nested {@code IN (SELECT ...)}; {@code variant} makes the text (and so the memo entry) new. */
  private static String nested(int levels, long variant) {
    return "SELECT id FROM users WHERE id IN (" + "SELECT id FROM users WHERE id IN (".repeat(levels) + "1"
        + ")".repeat(levels + 1) + " AND " + variant + " = " + variant;
  }

  private static long millisToAnalyse(String sql) {
    long start = System.nanoTime();
    SqlTables.analyse(sql);
    return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
  }

  /**
   * Breaks: DESIGN invariant 3 ("the cache never makes the application less available than the database") -- a
   * valid read is refused or not depending on how busy the machine is.
   *
   * <p>How: a read with nested subqueries, as many as this machine analyses in a quarter to a half of the deadline
   * when idle and warm (measured first: 9 or 10 levels here; skipped if no level fits), is run while eight threads
   * keep both cores busy (as a burst of requests or a GC would). Its parse then takes longer than 1 s of wall-clock time, the deadline
   * raises the parser's interrupted flag, and {@code queryList} throws IllegalArgumentException ("cannot tell which
   * tables this SQL reads: ... parsing took longer than its deadline") although the database answers the query in
   * milliseconds. Not memoising the timeout only means that the next call may pass. Reliability: depends on the
   * machine's speed relative to the 1 s deadline (the idle pre-check keeps it meaningful); red on every run here.
   *
   * <p>Once fixed: a statement whose analysis ran out of time is read past the cache (or the deadline counts CPU
   * time), never refused for the machine's load.
   */
  @Test
  void aReadThatParsesWellWithinTheDeadlineIsNotRefusedWhenTheCpusAreBusy() throws Exception {
    // The level that takes a quarter to a half of the deadline here, idle and warm (JIT state varies by run).
    // Never skipped: the deepest level under 500 ms idle (each level about doubles the time, so one lies in 250-500
    // ms on most machines; on a faster one the test is weaker, never absent).
    int levels = 4;
    long idle = 0;
    for (int l = 4; l <= 12; l++) {
      millisToAnalyse(nested(l, 1)); // warm up
      long took = millisToAnalyse(nested(l, 2));
      if (took >= 500) {
        break;
      }
      levels = l;
      idle = took;
      if (took >= 250) {
        break;
      }
    }
    int level = levels;

    AtomicBoolean stop = new AtomicBoolean();
    List<Thread> hogs = new ArrayList<>();
    long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    for (int i = 0; i < 8; i++) {
      Thread hog = new Thread(() -> {
        long x = 0;
        while (!stop.get() && System.nanoTime() - until < 0) {
          x += ThreadLocalRandom.current().nextInt();
        }
        if (x == 42) {
          System.out.print("");
        }
      }, "cpu-hog-" + i);
      hog.setDaemon(true);
      hog.start();
      hogs.add(hog);
    }
    Throwable thrown;
    long took;
    try {
      String sql = nested(level, System.nanoTime());
      long start = System.nanoTime();
      thrown = catchThrowable(() -> executor.queryList(sql, (rs, n) -> rs.getLong(1)));
      took = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
    } finally {
      stop.set(true);
      for (Thread hog : hogs) {
        hog.join(5_000);
      }
    }
    assertThat(thrown)
        .as("a valid read of %d nested subqueries (analysed in %d ms idle) run while the CPUs are busy (took %d ms)",
            level, idle, took)
        .isNull();
  }

  /**
   * Breaks: DESIGN invariant 6 in spirit ("nothing a caller passes can make ... the JVM do super-linear work") -- a
   * pathological regression: before eebc057 a slow statement was analysed once and memoised; now an analysis that
   * timed out is never memoised, so every call of such a statement (13 nested subqueries: refused every time, on any
   * machine) burns the full deadline of CPU on the caller's thread (up to twice: the fast parse, then the complex
   * one) before it is refused. A client that repeats it costs a CPU-second per request.
   *
   * <p>How: analyse the same 13-level statement three times; the second and third analyses together take about
   * 2 s. Once fixed (a timed-out analysis remembered for a while, or retried only after a back-off): they are cheap.
   */
  @Test
  void aStatementThatAlwaysTimesOutDoesNotCostTheFullDeadlineOnEveryCall() {
    String sql = nested(13, 13);
    long first = millisToAnalyse(sql);
    assertThat(SqlTables.analyse(sql).problem()).as("13 levels time out").contains("deadline");
    long again = millisToAnalyse(sql) + millisToAnalyse(sql);
    assertThat(again)
        .as("ms for two more analyses of a statement whose first analysis ran %d ms and timed out", first)
        .isLessThan(Duration.ofMillis(500).toMillis());
  }
}
