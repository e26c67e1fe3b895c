package dev.tiercache.redis.history;

import dev.tiercache.redis.history.Workload.Fault;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import org.assertj.core.api.SoftAssertions;

/**
 * Runs a scenario (workload, fault, check), prints its one-line summary, keeps its report for the class's table, and
 * asserts the contract: no stale read on the invalidating instance, none on another past the bound, no read
 * exception, no anomaly.
 */
final class Scenarios {

  /** The cross-instance bound: the instances' maxStaleness once the product has it; {@code -Dhistory.boundMs}. */
  static final Duration BOUND = Duration.ofMillis(Long.getLong("history.boundMs", 500));

  private final Faults.Timing timing = Faults.Timing.fromSystemProperties();
  private final Workload.Config config = Workload.Config.standard();
  private final HistoryChecker checker = new HistoryChecker(BOUND, HistoryChecker.STUCK_AFTER);
  private final List<Report> reports = new ArrayList<>();

  Faults.Timing timing() {
    return timing;
  }

  /** Runs, checks, prints and keeps the report; does not assert. */
  Report run(String scenario, CacheInstances instances, Fault fault) throws Exception {
    return run(scenario, instances, fault, timing.run());
  }

  /** Like {@link #run(String, CacheInstances, Fault)}, for a run of {@code length}. */
  Report run(String scenario, CacheInstances instances, Fault fault, Duration length) throws Exception {
    String cacheName = "history-" + scenario + "-" + Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 1);
    History history = new Workload(config).run(instances, cacheName, BOUND, length, fault);
    long checking = System.nanoTime();
    Report report = checker.check(scenario, history);
    System.out.printf("HISTORY %-22s   %d operations checked in %d ms%n", scenario, history.ops().size(),
        Duration.ofNanos(System.nanoTime() - checking).toMillis());
    synchronized (reports) {
      reports.add(report);
    }
    System.out.println(report.summary());
    history.faults().forEach(w -> System.out.printf("HISTORY %-22s   fault: %s for %d ms%n", scenario, w.what(),
        Duration.ofNanos(w.to() - w.from()).toMillis()));
    report.examples().forEach(e -> System.out.printf("HISTORY %-22s   e.g. %s%n", scenario, e));
    return report;
  }

  /** Runs and asserts the contract. */
  void assertCoherent(String scenario, CacheInstances instances, Fault fault) throws Exception {
    assertCoherent(scenario, instances, fault, timing.run());
  }

  /** Runs for {@code length} and asserts the contract. */
  void assertCoherent(String scenario, CacheInstances instances, Fault fault, Duration length) throws Exception {
    assertCoherent(run(scenario, instances, fault, length), new SoftAssertions());
  }

  /**
   * Runs without a fault and asserts the contract, and that no write threw: Redis was healthy throughout. For the
   * cluster baselines, where writes throw by the hundred on a healthy cluster; the standalone steady run does not
   * assert it, because one L2 timeout on a loaded machine makes an instance's writes throw until its queue drains.
   */
  void assertSteady(String scenario, CacheInstances instances) throws Exception {
    Report report = run(scenario, instances, Fault.NONE, timing.run());
    SoftAssertions soft = new SoftAssertions();
    soft.assertThat(report.writesThrew()).as("writes that threw while Redis was healthy; " + report.summary())
        .isEmpty();
    assertCoherent(report, soft);
  }

  private static void assertCoherent(Report report, SoftAssertions soft) {
    soft.assertThat(report.reads()).as("reads that returned a value").isPositive();
    soft.assertThat(report.staleSame()).as("stale reads on the invalidating instance; " + report.summary())
        .isZero();
    soft.assertThat(report.staleOther())
        .as("stale reads on other instances more than " + BOUND.toMillis() + " ms after; " + report.summary())
        .isZero();
    soft.assertThat(report.readExceptions()).as("read exceptions; " + report.summary()).isEmpty();
    soft.assertThat(report.anomalies()).as("anomalies; " + report.summary()).isEmpty();
    soft.assertAll();
  }

  /** Prints the table of every scenario run so far (the format of issue 9's). */
  void printTable(String title) {
    synchronized (reports) {
      if (reports.isEmpty()) {
        return;
      }
      StringBuilder table = new StringBuilder();
      table.append("\nHISTORY TABLE ").append(title).append(": ").append(config.instances()).append(" instances x ")
          .append(config.threads()).append(" threads, ").append(config.keys()).append(" keys, ")
          .append(config.writesPerSecond()).append(" writes/s per instance (the rest reads), bound ").append(BOUND.toMillis()).append(" ms (")
          .append(CacheInstances.productHasMaxStaleness() ? "the instances' maxStaleness" : "checker only: the "
              + "product has no maxStaleness setting yet").append(")\n");
      table.append(Report.tableHeader()).append('\n');
      reports.forEach(r -> table.append(r.tableRow()).append('\n'));
      System.out.println(table);
    }
  }
}
