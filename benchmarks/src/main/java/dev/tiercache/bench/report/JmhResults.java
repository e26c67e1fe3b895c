package dev.tiercache.bench.report;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.StringJoiner;
import org.openjdk.jmh.infra.BenchmarkParams;
import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.options.TimeValue;
import org.openjdk.jmh.util.Statistics;

/** Turns JMH's run results into {@link Measurement}s. */
public final class JmhResults {

  private JmhResults() {}

  /**
   * One measurement per run result, named {@code Class.method} (the simple class name, without
   * {@code Benchmark}) plus {@code [param=value,...]} when the benchmark has parameters. Sample-time results carry
   * p50, p99 and p99.9; results of the GC profiler carry the allocation per operation.
   */
  public static List<Measurement> measurements(Collection<RunResult> results) {
    List<Measurement> out = new ArrayList<>();
    for (RunResult run : results) {
      BenchmarkParams params = run.getParams();
      Result<?> primary = run.getPrimaryResult();
      Map<String, Double> extras = new LinkedHashMap<>();
      if (params.getMode() == org.openjdk.jmh.annotations.Mode.SampleTime) {
        Statistics stats = primary.getStatistics();
        extras.put("p50", stats.getPercentile(50));
        extras.put("p99", stats.getPercentile(99));
        extras.put("p99.9", stats.getPercentile(99.9));
      }
      run.getSecondaryResults().forEach((label, result) -> {
        if (label.endsWith("gc.alloc.rate.norm")) {
          extras.put(Measurement.ALLOC, result.getScore());
        }
      });
      out.add(new Measurement(name(params), params.getMode().shortLabel(), primary.getScore(),
          primary.getScoreError(), primary.getScoreUnit(), extras));
    }
    return out;
  }

  /**
   * Combines the measurements of several rounds: per name, the median score and median extras; the error is half
   * the spread of the scores between rounds (the JMH error when there is one round).
   */
  public static List<Measurement> median(List<List<Measurement>> rounds) {
    if (rounds.size() == 1) {
      return rounds.get(0);
    }
    Map<String, List<Measurement>> byName = new LinkedHashMap<>();
    rounds.forEach(round -> round.forEach(m -> byName.computeIfAbsent(m.name(), n -> new ArrayList<>()).add(m)));
    List<Measurement> out = new ArrayList<>();
    byName.forEach((name, ms) -> {
      double[] scores = ms.stream().mapToDouble(Measurement::score).sorted().toArray();
      Map<String, Double> extras = new LinkedHashMap<>();
      ms.get(0).extras().keySet().forEach(k -> extras.put(k, medianOf(ms.stream()
          .filter(m -> m.extras().containsKey(k)).mapToDouble(m -> m.extras().get(k)).sorted().toArray())));
      Measurement first = ms.get(0);
      out.add(new Measurement(name, first.mode(), medianOf(scores), (scores[scores.length - 1] - scores[0]) / 2,
          first.unit(), extras));
    });
    return out;
  }

  static double medianOf(double[] sorted) {
    int n = sorted.length;
    if (n == 0) {
      return Double.NaN;
    }
    return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  }

  /** {@code L1Hit.caffeine_read} for {@code dev.tiercache.bench.L1HitBenchmark.caffeine_read}. */
  public static String name(BenchmarkParams params) {
    return shortName(params.getBenchmark()) + paramSuffix(params);
  }

  static String shortName(String benchmark) {
    String[] parts = benchmark.split("\\.");
    String cls = parts.length >= 2 ? parts[parts.length - 2] : "";
    String method = parts[parts.length - 1];
    if (cls.endsWith("Benchmark")) {
      cls = cls.substring(0, cls.length() - "Benchmark".length());
    }
    return cls.isEmpty() ? method : cls + "." + method;
  }

  private static String paramSuffix(BenchmarkParams params) {
    Collection<String> keys = params.getParamsKeys();
    if (keys.isEmpty()) {
      return "";
    }
    StringJoiner joiner = new StringJoiner(",", "[", "]");
    keys.forEach(k -> joiner.add(k + "=" + params.getParam(k)));
    return joiner.toString();
  }

  /** Describes the JMH settings of a run, e.g. "1 fork, 2 warm-up x 1 s, 3 measurement x 2 s, 2 threads". */
  public static String settings(Collection<RunResult> results) {
    if (results.isEmpty()) {
      return "no benchmark ran";
    }
    BenchmarkParams p = results.iterator().next().getParams();
    return p.getForks() + " fork(s), " + p.getWarmup().getCount() + " warm-up iteration(s) x " + time(p.getWarmup()
        .getTime()) + ", " + p.getMeasurement().getCount() + " measurement iteration(s) x " + time(p.getMeasurement()
        .getTime());
  }

  private static String time(TimeValue value) {
    return value.toString();
  }
}
