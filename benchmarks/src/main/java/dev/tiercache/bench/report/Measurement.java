package dev.tiercache.bench.report;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * One measured figure: a JMH result or a figure of a custom scenario.
 *
 * @param name what was measured, e.g. {@code L1Hit.caffeine_read}
 * @param mode how: JMH's mode ({@code thrpt}, {@code sample}, ...) or {@code scenario}
 * @param score the primary figure
 * @param error its error (JMH's 99.9% half-width), NaN when unknown
 * @param unit the unit of {@code score}, e.g. {@code ops/s} or {@code us/op}
 * @param extras further figures in the same unit as their key says: {@code p50}, {@code p99}, {@code p99.9} (in
 *     {@code unit}), {@code alloc B/op}, or anything a scenario reports; in display order
 */
public record Measurement(String name, String mode, double score, double error, String unit,
    Map<String, Double> extras) {

  /** The extra holding JMH's {@code gc.alloc.rate.norm}. */
  public static final String ALLOC = "alloc B/op";

  public Measurement {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(mode, "mode");
    Objects.requireNonNull(unit, "unit");
    extras = Collections.unmodifiableMap(new LinkedHashMap<>(extras));
  }

  /** A measurement without extras. */
  public static Measurement of(String name, String mode, double score, double error, String unit) {
    return new Measurement(name, mode, score, error, unit, Map.of());
  }

  /**
   * A figure by metric name: {@code score}, or an extra's key.
   *
   * @throws IllegalArgumentException if there is no such figure
   */
  public double metric(String metric) {
    if ("score".equals(metric)) {
      return score;
    }
    Double value = extras.get(metric);
    if (value == null) {
      throw new IllegalArgumentException(name + " has no figure '" + metric + "' (has score, " + extras.keySet() + ")");
    }
    return value;
  }

  /** The unit of a metric: the score's unit, except for the allocation figure. */
  public String unitOf(String metric) {
    return ALLOC.equals(metric) ? "B/op" : unit;
  }
}
