package dev.tiercache.bench.report;

import java.util.Locale;

/** Number formatting shared by the console lines, the Markdown tables and the charts. */
public final class Numbers {

  private Numbers() {}

  /** Three significant digits at most, thousands grouped, no exponent: 1,234,567 / 12.3 / 0.0123. */
  public static String format(double value) {
    if (Double.isNaN(value)) {
      return "n/a";
    }
    if (Double.isInfinite(value)) {
      return value > 0 ? "inf" : "-inf";
    }
    double abs = Math.abs(value);
    if (abs >= 1000) {
      return String.format(Locale.ROOT, "%,.0f", value);
    }
    if (abs >= 100) {
      return String.format(Locale.ROOT, "%.0f", value);
    }
    if (abs >= 10) {
      return String.format(Locale.ROOT, "%.1f", value);
    }
    if (abs >= 1) {
      return String.format(Locale.ROOT, "%.2f", value);
    }
    if (abs == 0) {
      return "0";
    }
    if (abs >= 0.01) {
      return String.format(Locale.ROOT, "%.3f", value);
    }
    return String.format(Locale.ROOT, "%.2g", value);
  }

  /** A ratio with two decimals and an x: 0.93x. */
  public static String ratio(double ratio) {
    if (Double.isNaN(ratio) || Double.isInfinite(ratio)) {
      return "n/a";
    }
    return String.format(Locale.ROOT, "%.2fx", ratio);
  }
}
