package dev.tiercache.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tiercache.bench.report.Comparison;
import dev.tiercache.bench.report.Comparison.Better;
import dev.tiercache.bench.report.JmhResults;
import dev.tiercache.bench.report.Machine;
import dev.tiercache.bench.report.Measurement;
import dev.tiercache.bench.report.Numbers;
import dev.tiercache.bench.report.SuiteReport;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;

/** The ratio, verdict and rendering code of the benchmarks; no benchmark runs here. */
class ReportSmokeTest {

  private static final Machine MACHINE =
      new Machine("2", "cpu", "1 GiB", "jdk", "os", "Redis 7", "abc123", "0.5 / 0.4 / 0.3", "2025-01-01T00:00:00Z");

  @Test
  void ratiosAndVerdictsFollowTheDirection() {
    Comparison throughput = new Comparison("thr", 90, 100, "ops/s", Better.HIGHER, 0.8);
    assertThat(throughput.ratio()).isEqualTo(0.9);
    assertThat(throughput.verdict()).isEqualTo("MET");

    Comparison slowThroughput = new Comparison("thr", 70, 100, "ops/s", Better.HIGHER, 0.8);
    assertThat(slowThroughput.verdict()).isEqualTo("NOT MET");

    Comparison latency = new Comparison("lat", 120, 100, "us/op", Better.LOWER, 1.15);
    assertThat(latency.ratio()).isEqualTo(1.2);
    assertThat(latency.verdict()).isEqualTo("NOT MET");
    assertThat(new Comparison("lat", 110, 100, "us/op", Better.LOWER, 1.15).verdict()).isEqualTo("MET");

    Comparison informational = new Comparison("info", 1, 2, "ms", Better.LOWER, Double.NaN);
    assertThat(informational.met()).isEmpty();
    assertThat(informational.verdict()).isEqualTo("-");
    assertThat(new Comparison("zero", 0, 0, "B/op", Better.LOWER, 1.0).met()).isEmpty();
  }

  /** Issue 11: the verdicts judge against the issue's targets, allocation included. */
  @Test
  void suitesJudgeAgainstTheIssuesTargets() {
    assertThat(target("l2", "L2 hit, get(key, loader), mean")).isEqualTo(1.10);
    assertThat(target("l2", "L2 hit, getIfPresent, mean")).isEqualTo(1.10);
    assertThat(target("l2", "L2 hit, get(key, loader), allocation")).isEqualTo(1.50);
    assertThat(spec("l2", "L2 hit, get(key, loader), allocation").metric()).isEqualTo(Measurement.ALLOC);
    assertThat(target("getall", "getAll(100) vs MGET(100)")).isEqualTo(0.85);
    assertThat(target("getall", "getAll(100) vs MGET(100), allocation")).isEqualTo(1.50);
    assertThat(target("invalidation", "invalidate on A -> B's L1 drops, p99")).isEqualTo(1.50);
    assertThat(target("peers", "mixed read/write/invalidate vs Redisson RLocalCachedMap")).isEqualTo(1.20);
    assertThat(target("peers", "mixed read/write/invalidate vs JetCache")).isEqualTo(1.00);
    // Allocation is measured wherever an allocation row needs it.
    assertThat(BenchMain.SUITES.stream().filter(s -> s.specs().stream()
        .anyMatch(c -> c.metric().equals(Measurement.ALLOC))).allMatch(BenchMain.Suite::gcProfiler)).isTrue();
    for (BenchMain.Suite suite : BenchMain.SUITES) {
      assertThat(suite.description()).doesNotContain(">=0").doesNotContain("<=1");
    }
  }

  private static double target(String suite, String label) {
    return spec(suite, label).target();
  }

  private static Comparison.Spec spec(String suite, String label) {
    return BenchMain.SUITES.stream().filter(s -> s.id().equals(suite)).flatMap(s -> s.specs().stream())
        .filter(c -> c.label().equals(label)).findFirst().orElseThrow();
  }

  @Test
  void theConsoleLineCarriesFiguresRatioAndVerdict() {
    String line = new Comparison("L1 hit", 45_000_000, 50_000_000, "ops/s", Better.HIGHER, 0.8).line("l1");
    assertThat(line).isEqualTo("RATIO [l1] L1 hit: Tiercache 45,000,000 ops/s / reference 50,000,000 ops/s = 0.90x "
        + "(higher is better; target >= 0.80x: MET)");
  }

  @Test
  void specsResolveByNameAndMetric() {
    List<Measurement> ms = List.of(
        new Measurement("L2Hit.tiercache_get", "sample", 60, 1, "us/op", Map.of("p50", 55.0, "p99", 90.0)),
        new Measurement("L2Hit.lettuce_get", "sample", 50, 1, "us/op", Map.of("p50", 50.0, "p99", 60.0)));
    Comparison p99 = Comparison.spec("p99", "L2Hit.tiercache_get", "L2Hit.lettuce_get", "p99", Better.LOWER, 2.0)
        .resolve(ms).orElseThrow();
    assertThat(p99.ratio()).isEqualTo(1.5);
    assertThat(p99.unit()).isEqualTo("us/op");
    assertThat(Comparison.spec("x", "L2Hit.missing", "L2Hit.lettuce_get", "score", Better.LOWER, 1.0).resolve(ms))
        .isEmpty();
    assertThatThrownBy(() -> ms.get(0).metric("p99.9")).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void specsPairMeasurementsOfTheSameParameters() {
    List<Measurement> ms = List.of(
        Measurement.of("L1Hit.tiercache_read[size=16384]", "thrpt", 80, 1, "ops/s"),
        Measurement.of("L1Hit.caffeine_read[size=16384]", "thrpt", 100, 1, "ops/s"),
        Measurement.of("L1Hit.tiercache_read[size=65536]", "thrpt", 90, 1, "ops/s"),
        Measurement.of("L1Hit.caffeine_read[size=65536]", "thrpt", 60, 1, "ops/s"));
    List<Comparison> cs = Comparison.spec("L1 hit", "L1Hit.tiercache_read", "L1Hit.caffeine_read", "score",
        Better.HIGHER, 0.8).resolveAll(ms);
    assertThat(cs).extracting(Comparison::label).containsExactly("L1 hit [size=16384]", "L1 hit [size=65536]");
    assertThat(cs).extracting(Comparison::ratio).containsExactly(0.8, 1.5);
  }

  @Test
  void roundsCombineIntoMedians() {
    List<List<Measurement>> rounds = List.of(
        List.of(new Measurement("a", "sample", 10, 1, "us/op", Map.of("p99", 30.0))),
        List.of(new Measurement("a", "sample", 14, 1, "us/op", Map.of("p99", 50.0))),
        List.of(new Measurement("a", "sample", 11, 1, "us/op", Map.of("p99", 20.0))));
    Measurement m = JmhResults.median(rounds).get(0);
    assertThat(m.score()).isEqualTo(11);
    assertThat(m.error()).isEqualTo(2);
    assertThat(m.extras()).containsEntry("p99", 30.0);
    assertThat(JmhResults.median(rounds.subList(0, 1)).get(0).error()).isEqualTo(1);
  }

  @Test
  void numbersAreReadable() {
    assertThat(Numbers.format(12_345_678.9)).isEqualTo("12,345,679");
    assertThat(Numbers.format(123.4)).isEqualTo("123");
    assertThat(Numbers.format(12.34)).isEqualTo("12.3");
    assertThat(Numbers.format(1.234)).isEqualTo("1.23");
    assertThat(Numbers.format(0.1234)).isEqualTo("0.123");
    assertThat(Numbers.format(Double.NaN)).isEqualTo("n/a");
    assertThat(Numbers.ratio(0.876)).isEqualTo("0.88x");
  }

  @Test
  void writesMarkdownSvgAndSummary(@TempDir Path dir) throws Exception {
    SuiteReport report = new SuiteReport("l1", "Suite 1: <L1> & co", "What & how.");
    report.add(new Measurement("L1Hit.caffeine_read", "thrpt", 1e8, 1e6, "ops/s", Map.of(Measurement.ALLOC, 0.0)));
    report.add(new Measurement("L1Hit.tiercache_read", "thrpt", 9e7, 1e6, "ops/s", Map.of(Measurement.ALLOC, 0.0)));
    report.compare(List.of(Comparison.spec("L1 hit", "L1Hit.tiercache_read", "L1Hit.caffeine_read", "score",
        Better.HIGHER, 0.8)));
    report.note("a note");
    Path md = report.write(dir, MACHINE, "benchmarks/run.sh l1");

    String text = Files.readString(md);
    assertThat(text).contains("# Suite 1: <L1> & co", "benchmarks/run.sh l1", "- Cores: 2",
        "| L1 hit | 90,000,000 ops/s | 100,000,000 ops/s | 0.90x | >= 0.80x | **MET** |", "alloc B/op", "a note",
        "![Suite 1: <L1> & co](l1.svg)");

    Document svg = DocumentBuilderFactory.newInstance().newDocumentBuilder()
        .parse(new ByteArrayInputStream(Files.readString(dir.resolve("l1.svg")).getBytes(StandardCharsets.UTF_8)));
    assertThat(svg.getDocumentElement().getTagName()).isEqualTo("svg");
    assertThat(svg.getElementsByTagName("rect").getLength()).isGreaterThanOrEqualTo(5);

    Map<String, String> titles = new LinkedHashMap<>();
    titles.put("l1", "Suite 1");
    titles.put("l2", "Suite 2");
    SuiteReport.writeSummary(dir, titles);
    assertThat(Files.readString(dir.resolve("README.md")))
        .contains("| [Suite 1](l1.md) | L1 hit | 90,000,000 ops/s | 100,000,000 ops/s | 0.90x |")
        .doesNotContain("Suite 2");
  }

  @Test
  void zipfianKeysAreReproducibleAndSkewed() {
    int[] a = Zipf.indices(1000, 100_000, Zipf.THETA, 42);
    int[] b = Zipf.indices(1000, 100_000, Zipf.THETA, 42);
    assertThat(a).isEqualTo(b);
    int[] counts = new int[1000];
    for (int i : a) {
      assertThat(i).isBetween(0, 999);
      counts[i]++;
    }
    int max = 0;
    int distinct = 0;
    for (int c : counts) {
      max = Math.max(max, c);
      distinct += c > 0 ? 1 : 0;
    }
    // The hottest of 1,000 keys gets roughly 1 / zeta(1000, 0.99) ~ 13% of the draws; uniform would give 0.1%.
    assertThat(max).isBetween(8_000, 20_000);
    assertThat(distinct).isGreaterThan(900);
  }
}
