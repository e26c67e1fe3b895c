package dev.tiercache.bench.report;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * The results of one suite: its measurements and comparisons, written as {@code <id>.md} and {@code <id>.svg}, and
 * its comparison lines printed to the console.
 */
public final class SuiteReport {

  /** Marks the comparison rows in a results file, so the summary can collect them. */
  static final String BEGIN = "<!-- comparisons -->";
  static final String END = "<!-- /comparisons -->";

  private final String id;
  private final String title;
  private final String description;
  private final List<Measurement> measurements = new ArrayList<>();
  private final List<Comparison> comparisons = new ArrayList<>();
  private final List<String> notes = new ArrayList<>();

  /**
   * @param id the suite's short name, also the file name: {@code l1}, {@code l2}, ...
   * @param title a heading, e.g. "Suite 1: L1 hit read throughput"
   * @param description what is measured and how, in Markdown
   */
  public SuiteReport(String id, String title, String description) {
    this.id = id;
    this.title = title;
    this.description = description;
  }

  public String id() {
    return id;
  }

  public String title() {
    return title;
  }

  public List<Measurement> measurements() {
    return measurements;
  }

  public List<Comparison> comparisons() {
    return comparisons;
  }

  public SuiteReport add(Measurement measurement) {
    measurements.add(measurement);
    return this;
  }

  public SuiteReport add(Comparison comparison) {
    comparisons.add(comparison);
    return this;
  }

  /** Adds a Markdown paragraph under "Notes". */
  public SuiteReport note(String markdown) {
    notes.add(markdown);
    return this;
  }

  /** Resolves comparison specs against the measurements; specs whose figures are missing are skipped. */
  public SuiteReport compare(List<Comparison.Spec> specs) {
    for (Comparison.Spec spec : specs) {
      comparisons.addAll(spec.resolveAll(measurements));
    }
    return this;
  }

  /** The console lines, one per comparison. */
  public List<String> lines() {
    return comparisons.stream().map(c -> c.line(id)).toList();
  }

  /**
   * The results file.
   *
   * @param machine where it ran
   * @param command the command that produced it
   */
  public String markdown(Machine machine, String command) {
    StringBuilder md = new StringBuilder();
    md.append("# ").append(title).append("\n\n");
    md.append(description.strip()).append("\n\n");
    md.append("Produced by `").append(command).append("`.\n\n");
    md.append("## Machine\n\n");
    machine.markdown().forEach(l -> md.append(l).append('\n'));
    md.append("\n## Comparisons\n\n");
    if (comparisons.isEmpty()) {
      md.append("No comparison in this run.\n\n");
    } else {
      md.append("| comparison | Tiercache | reference | ratio (Tiercache / reference) | target | verdict |\n");
      md.append("|---|---:|---:|---:|---|---|\n");
      md.append(BEGIN).append('\n');
      for (Comparison c : comparisons) {
        md.append("| ").append(cell(c.label()))
            .append(" | ").append(Numbers.format(c.tiercache())).append(' ').append(c.unit())
            .append(" | ").append(Numbers.format(c.reference())).append(' ').append(c.unit())
            .append(" | ").append(Numbers.ratio(c.ratio()))
            .append(" | ").append(c.targetText())
            .append(" | ").append(c.verdict().equals("-") ? "-" : "**" + c.verdict() + "**")
            .append(" |\n");
      }
      md.append(END).append('\n');
      md.append("\n![").append(cell(title)).append("](").append(id).append(".svg)\n\n");
    }
    md.append("## All measurements\n\n");
    md.append(measurementTable());
    if (!notes.isEmpty()) {
      md.append("\n## Notes\n\n");
      notes.forEach(n -> md.append(n.strip()).append("\n\n"));
    }
    return md.toString();
  }

  private String measurementTable() {
    TreeSet<String> extraKeys = new TreeSet<>((a, b) -> {
      int c = Integer.compare(order(a), order(b));
      return c != 0 ? c : a.compareTo(b);
    });
    measurements.forEach(m -> extraKeys.addAll(m.extras().keySet()));
    StringBuilder md = new StringBuilder();
    md.append("| measurement | mode | score | ± error | unit |");
    extraKeys.forEach(k -> md.append(' ').append(k).append(" |"));
    md.append('\n').append("|---|---|---:|---:|---|");
    extraKeys.forEach(k -> md.append("---:|"));
    md.append('\n');
    for (Measurement m : measurements) {
      md.append("| ").append(cell(m.name())).append(" | ").append(m.mode())
          .append(" | ").append(Numbers.format(m.score()))
          .append(" | ").append(Double.isNaN(m.error()) ? "" : Numbers.format(m.error()))
          .append(" | ").append(m.unit()).append(" |");
      for (String k : extraKeys) {
        Double v = m.extras().get(k);
        md.append(' ').append(v == null ? "" : Numbers.format(v)).append(" |");
      }
      md.append('\n');
    }
    return md.toString();
  }

  private static int order(String extra) {
    return switch (extra) {
      case "p50" -> 0;
      case "p90" -> 1;
      case "p99" -> 2;
      case "p99.9" -> 3;
      case "max" -> 4;
      case Measurement.ALLOC -> 5;
      default -> 6;
    };
  }

  private static String cell(String s) {
    return s.replace("|", "\\|").replace("\n", " ");
  }

  /** The chart. */
  public String svg() {
    return SvgChart.render(title, comparisons);
  }

  /**
   * Writes {@code <id>.md} and {@code <id>.svg} into {@code directory}.
   *
   * @return the Markdown file
   */
  public Path write(Path directory, Machine machine, String command) {
    try {
      Files.createDirectories(directory);
      Path md = directory.resolve(id + ".md");
      Files.writeString(md, markdown(machine, command), StandardCharsets.UTF_8);
      Files.writeString(directory.resolve(id + ".svg"), svg(), StandardCharsets.UTF_8);
      return md;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write results to " + directory, e);
    }
  }

  /**
   * Rebuilds {@code README.md} of the results directory from the comparison rows of every suite file in it, in the
   * order given.
   *
   * @param directory the results directory
   * @param suites suite id to title, in display order
   */
  public static void writeSummary(Path directory, Map<String, String> suites) {
    StringBuilder md = new StringBuilder();
    md.append("# Benchmark results\n\n");
    md.append("Each suite's file holds the machine, the command, every measurement and notes; this page collects "
        + "their comparisons. Ratios are Tiercache / reference. Files are rewritten by each run of `benchmarks/run.sh`"
        + " for the suites it ran.\n\n");
    md.append("| suite | comparison | Tiercache | reference | ratio | target | verdict |\n");
    md.append("|---|---|---:|---:|---:|---|---|\n");
    try {
      for (Map.Entry<String, String> suite : suites.entrySet()) {
        Path file = directory.resolve(suite.getKey() + ".md");
        if (!Files.exists(file)) {
          continue;
        }
        boolean inside = false;
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
          if (line.equals(BEGIN)) {
            inside = true;
          } else if (line.equals(END)) {
            inside = false;
          } else if (inside && line.startsWith("| ")) {
            md.append("| [").append(cell(suite.getValue())).append("](").append(suite.getKey()).append(".md) ")
                .append(line).append('\n');
          }
        }
      }
      Files.writeString(directory.resolve("README.md"), md.toString(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the summary in " + directory, e);
    }
  }
}
