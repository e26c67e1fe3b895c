package dev.tiercache.bench.report;

import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * One side-by-side comparison: a Tiercache figure against a reference figure, their ratio (Tiercache / reference)
 * and, when the suite sets one, a target for the ratio.
 *
 * @param label what is compared, e.g. "L1 hit, read only"
 * @param tiercache the Tiercache figure
 * @param reference the reference figure
 * @param unit the unit of both figures
 * @param better which direction is better for these figures
 * @param target the bound on the ratio (a floor when higher is better, a ceiling when lower is), NaN for none
 */
public record Comparison(String label, double tiercache, double reference, String unit, Better better,
    double target) {

  /** Which way a figure improves. */
  public enum Better {
    /** Throughput: the ratio must reach the target. */
    HIGHER(">="),
    /** Latency, time, counts: the ratio must stay under the target. */
    LOWER("<=");

    private final String symbol;

    Better(String symbol) {
      this.symbol = symbol;
    }

    /** The comparison symbol of a target: {@code >=} or {@code <=}. */
    public String symbol() {
      return symbol;
    }
  }

  public Comparison {
    Objects.requireNonNull(label, "label");
    Objects.requireNonNull(unit, "unit");
    Objects.requireNonNull(better, "better");
  }

  /**
   * Defines a comparison of two measurements found by name.
   *
   * @param label what is compared
   * @param tiercacheName the Tiercache measurement's name
   * @param referenceName the reference measurement's name
   * @param metric {@code score} or an extra's key
   * @param better which direction is better
   * @param target the bound on the ratio, NaN for none
   * @return a spec to {@link Spec#resolve resolve} against results
   */
  public static Spec spec(String label, String tiercacheName, String referenceName, String metric, Better better,
      double target) {
    return new Spec(label, tiercacheName, referenceName, metric, better, target);
  }

  /** Tiercache / reference. */
  public double ratio() {
    return tiercache / reference;
  }

  /** Whether the target was met; empty when there is no target or a figure is missing. */
  public Optional<Boolean> met() {
    double ratio = ratio();
    if (Double.isNaN(target) || Double.isNaN(ratio) || Double.isInfinite(ratio)) {
      return Optional.empty();
    }
    return Optional.of(better == Better.HIGHER ? ratio >= target : ratio <= target);
  }

  /** The target as text, e.g. {@code >= 0.80x}, or "-". */
  public String targetText() {
    return Double.isNaN(target) ? "-" : better.symbol() + " " + String.format(Locale.ROOT, "%.2fx", target);
  }

  /** MET, NOT MET, or "-" without a target. */
  public String verdict() {
    return met().map(ok -> ok ? "MET" : "NOT MET").orElse("-");
  }

  /** The one line each suite prints per comparison. */
  public String line(String suite) {
    return String.format(Locale.ROOT,
        "RATIO [%s] %s: Tiercache %s %s / reference %s %s = %s (%s is better; target %s: %s)", suite, label,
        Numbers.format(tiercache), unit, Numbers.format(reference), unit, Numbers.ratio(ratio()),
        better == Better.HIGHER ? "higher" : "lower", targetText(), verdict());
  }

  /** A comparison not yet tied to figures. */
  public record Spec(String label, String tiercacheName, String referenceName, String metric, Better better,
      double target) {

    /**
     * Looks the two measurements up; empty if either is missing (a suite run with a narrower include). When the
     * benchmarks have JMH parameters, the first Tiercache measurement with this base name is used, with the
     * reference measurement of the same parameters.
     */
    public Optional<Comparison> resolve(List<Measurement> measurements) {
      List<Comparison> all = resolveAll(measurements);
      return all.isEmpty() ? Optional.empty() : Optional.of(all.get(0));
    }

    /**
     * One comparison per parameter combination that both sides were measured with; the label gets the parameters
     * appended when there are any.
     */
    public List<Comparison> resolveAll(List<Measurement> measurements) {
      List<Comparison> out = new java.util.ArrayList<>();
      for (Measurement tc : measurements) {
        String params = params(tc.name());
        if (!base(tc.name()).equals(tiercacheName)) {
          continue;
        }
        for (Measurement ref : measurements) {
          if (base(ref.name()).equals(referenceName) && params(ref.name()).equals(params)) {
            out.add(new Comparison(params.isEmpty() ? label : label + " " + params, tc.metric(metric),
                ref.metric(metric), tc.unitOf(metric), better, target));
            break;
          }
        }
      }
      return out;
    }

    static String base(String name) {
      int bracket = name.indexOf('[');
      return bracket < 0 ? name : name.substring(0, bracket);
    }

    static String params(String name) {
      int bracket = name.indexOf('[');
      return bracket < 0 ? "" : name.substring(bracket);
    }
  }
}
