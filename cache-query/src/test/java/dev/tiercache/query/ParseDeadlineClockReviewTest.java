package dev.tiercache.query;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Review (s14, round 4): the CPU-time parse deadline of {@link SqlTables} (3c1067c: "the parse deadline counts the
 * parsing thread's CPU time (ThreadMXBean), with a 10 s wall-time limit, and a CPU refusal is memoised"), on a JVM
 * where thread CPU time cannot be read.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ParseDeadlineClockReviewTest {

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
   * Breaks: "CPU time, not wall time, so that busy cores do not refuse a statement that parses in time when they are
   * idle" and "a parse that a stalled machine holds past the limit is given up too, and not remembered"
   * (SqlTables.withinDeadline's javadoc), where the JVM gives no thread CPU time (unsupported, or disabled:
   * {@code ThreadMXBean.setThreadCpuTimeEnabled(false)}, which {@code cpuNanos} does not ask about; it then returns
   * -1).
   *
   * <p>How: thread CPU time disabled; a valid statement that parses in 150-600 ms idle is analysed on a thread that
   * is stalled (Thread.suspend, standing for a GC pause or busy cores) for 1.5 s mid-parse. Deadline.run falls back
   * to wall time ("no CPU clock here") after 1 s but labels the refusal TIMED_OUT -- the CPU refusal, which analyse
   * memoises -- so the same statement is refused on every later call, idle or not, for as long as the memo keeps it.
   * Before 3c1067c such a wall-clock refusal was never remembered.
   *
   * <p>Once fixed: a refusal not measured in CPU time is not memoised; the statement parses on the next call.
   */
  @Test
  @SuppressWarnings({"deprecation", "removal"})
  void aWallClockRefusalWithoutACpuClockIsNotRemembered() throws Exception {
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    assumeTrue(threads.isThreadCpuTimeSupported(), "the test turns an existing CPU clock off");
    // A level that parses in 150-900 ms idle, long enough to be stalled mid-parse: each level about doubles the
    // time, so one lies in that window on any machine this runs on.
    int levels = 0;
    long idle = 0;
    for (int l = 4; l <= 13 && levels == 0; l++) {
      millisToAnalyse(nested(l, 1));
      idle = millisToAnalyse(nested(l, 2));
      if (idle >= 150) {
        levels = l;
      }
    }
    assertThat(levels).as("a nesting level parsing in 150-900 ms (last: %d ms)", idle).isPositive();
    assertThat(idle).as("the idle parse of %d levels", levels).isLessThan(900);
    String sql = nested(levels, System.nanoTime());
    boolean wasEnabled = threads.isThreadCpuTimeEnabled();
    threads.setThreadCpuTimeEnabled(false);
    try {
      CountDownLatch started = new CountDownLatch(1);
      AtomicReference<String> firstProblem = new AtomicReference<>("<not run>");
      Thread parsing = new Thread(() -> {
        started.countDown();
        firstProblem.set(SqlTables.analyse(sql).problem());
      }, "stalled-parse");
      parsing.setDaemon(true);
      parsing.start();
      assertThat(started.await(5, TimeUnit.SECONDS)).isTrue();
      Thread.sleep(20);
      parsing.suspend();
      try {
        Thread.sleep(1_500);
      } finally {
        parsing.resume();
      }
      parsing.join(10_000);
      assertThat(parsing.isAlive()).isFalse();
      String again = SqlTables.analyse(sql).problem();
      assertThat(again)
          .as("the statement analysed again, unstalled (parses in %d ms idle); the stalled analysis said: %s",
              idle, firstProblem.get())
          .isNull();
    } finally {
      threads.setThreadCpuTimeEnabled(wasEnabled);
    }
  }
}
