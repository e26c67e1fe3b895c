package dev.tiercache.redis.history;

import dev.tiercache.redis.history.Op.Kind;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * What {@link HistoryChecker} found in one history. Figures only: keys are indices and values are versions, never
 * cached values.
 *
 * @param scenario the scenario's name
 * @param span from the first operation's start to the last one's end
 * @param bound the cross-instance staleness bound the history was checked against
 * @param reads reads that returned a value
 * @param writes writes (database update and cache call)
 * @param staleSame reads older than a write that completed on the same instance before they began
 * @param staleOther reads older than a write that completed on another instance more than the bound earlier
 * @param stuck reads of a version superseded more than the stuck threshold earlier
 * @param worstAge the oldest stale read's age, or null if none was stale
 * @param readMax the longest read
 * @param readP99 the 99th percentile read latency
 * @param readExceptions reads that threw, by exception class
 * @param writesThrew writes whose cache call threw, by kind of call
 * @param writeExceptions the same, by exception class (and root cause)
 * @param threwAfterFault how long after the last fault ended the last write that threw began (how long the cache
 *     took to heal, as callers saw it), or null if none threw after it
 * @param staleByKind stale reads (same and other) by the kind of the write they violated
 * @param anomalies reads that returned another key's value, null, or a version never written, by what
 * @param examples a few stale reads, described for a human
 */
public record Report(
    String scenario,
    Duration span,
    Duration bound,
    long reads,
    long writes,
    long staleSame,
    long staleOther,
    long stuck,
    Duration worstAge,
    Duration readMax,
    Duration readP99,
    Map<String, Long> readExceptions,
    Map<Kind, Long> writesThrew,
    Map<String, Long> writeExceptions,
    Duration threwAfterFault,
    Map<Kind, Long> staleByKind,
    Map<String, Long> anomalies,
    List<String> examples) {

  /** Read exceptions of every class. */
  public long readExceptionCount() {
    return readExceptions.values().stream().mapToLong(Long::longValue).sum();
  }

  /** Writes whose cache call threw. */
  public long writesThrewCount() {
    return writesThrew.values().stream().mapToLong(Long::longValue).sum();
  }

  /** Anomalies of every kind. */
  public long anomalyCount() {
    return anomalies.values().stream().mapToLong(Long::longValue).sum();
  }

  /** One line for a CI log. */
  public String summary() {
    return String.format(
        "HISTORY %-22s stale same/other %d/%d (stuck %d), worst age %s, reads %d max %s p99 %s, read exceptions %d%s,"
            + " writes %d threw %d%s%s, anomalies %d%s, stale by kind %s",
        scenario, staleSame, staleOther, stuck, age(worstAge), reads, ms(readMax), ms(readP99), readExceptionCount(),
        readExceptions.isEmpty() ? "" : " " + readExceptions, writes, writesThrewCount(),
        writesThrew.isEmpty() ? "" : " " + writesThrew + " " + writeExceptions,
        threwAfterFault == null ? "" : " (the last " + ms(threwAfterFault) + " after the fault)", anomalyCount(), anomalies.isEmpty() ? "" : " " + anomalies,
        staleByKind);
  }

  /** The header of {@link #tableRow()}, in the format of issue 9's table. */
  public static String tableHeader() {
    return "| scenario | run | stale same / other (stuck) | worst age | reads: max / p99 latency, exceptions "
        + "| writes threw (the last, after the fault) | anomalies |\n|---|---|---|---|---|---|---|";
  }

  /** One row of the table. */
  public String tableRow() {
    return String.format("| %s | %.1f s | %d / %d (%d) | %s | %s / %s, %d | %d of %d%s | %d |",
        scenario, span.toMillis() / 1e3, staleSame, staleOther, stuck, age(worstAge), ms(readMax), ms(readP99), readExceptionCount(),
        writesThrewCount(), writes, threwAfterFault == null ? "" : " (+" + ms(threwAfterFault) + ")", anomalyCount());
  }

  private static String age(Duration d) {
    return d == null ? "-" : ms(d);
  }

  static String ms(Duration d) {
    return d.toNanos() >= 10_000_000_000L
        ? String.format("%.1f s", d.toNanos() / 1e9)
        : String.format("%d ms", d.toMillis());
  }

  /** Accumulates findings while the checker walks the history. */
  static final class Builder {
    private final String scenario;
    private final Duration bound;
    private long reads;
    private long writes;
    private long staleSame;
    private long staleOther;
    private long stuck;
    private long worstAge = -1;
    private long[] latencies = new long[0];
    private long firstStart = Long.MAX_VALUE;
    private long lastEnd = Long.MIN_VALUE;
    private long lastThrowStart = Long.MIN_VALUE;
    private long faultEnd = Long.MIN_VALUE;
    private final Map<String, Long> readExceptions = HistoryChecker.emptyByName();
    private final Map<Kind, Long> writesThrew = HistoryChecker.emptyByKind();
    private final Map<String, Long> writeExceptions = HistoryChecker.emptyByName();
    private final Map<Kind, Long> staleByKind = HistoryChecker.emptyByKind();
    private final Map<String, Long> anomalies = HistoryChecker.emptyByName();
    private final List<String> examples = new ArrayList<>();

    Builder(String scenario, Duration bound) {
      this.scenario = scenario;
      this.bound = bound;
    }

    void op(Op op) {
      firstStart = Math.min(firstStart, op.start());
      lastEnd = Math.max(lastEnd, op.end());
    }

    void write(Op op) {
      writes++;
      if (!op.completed()) {
        writesThrew.merge(op.kind(), 1L, Long::sum);
        writeExceptions.merge(op.error(), 1L, Long::sum);
        lastThrowStart = Math.max(lastThrowStart, op.start());
      }
    }

    void faultEnded(long at) {
      faultEnd = Math.max(faultEnd, at);
    }

    void read() {
      reads++;
    }

    void readException(String what) {
      readExceptions.merge(what, 1L, Long::sum);
    }

    void anomaly(String what) {
      anomalies.merge(what, 1L, Long::sum);
    }

    void staleSame(Op read, Kind kind, long age, long floor) {
      staleSame++;
      stale(read, kind, age, floor, "same");
    }

    void staleOther(Op read, Kind kind, long age, long floor) {
      staleOther++;
      stale(read, kind, age, floor, "other");
    }

    private void stale(Op read, Kind kind, long age, long floor, String where) {
      staleByKind.merge(kind, 1L, Long::sum);
      worstAge = Math.max(worstAge, age);
      if (examples.size() < EXAMPLES) {
        examples.add(String.format("instance %d read key #%d version %d, but a %s write on the %s instance had set "
            + "version %d %.1f ms before the read began", read.instance(), read.key(), read.version(), kind, where,
            floor, age / 1e6));
      }
    }

    void stuck() {
      stuck++;
    }

    void latencies(long[] sorted) {
      latencies = sorted;
    }

    Report build() {
      Duration max = Duration.ofNanos(latencies.length == 0 ? 0 : latencies[latencies.length - 1]);
      Duration p99 = Duration.ofNanos(
          latencies.length == 0 ? 0 : latencies[(int) Math.min(latencies.length - 1, Math.ceil(latencies.length * 0.99) - 1)]);
      Duration span = Duration.ofNanos(lastEnd < firstStart ? 0 : lastEnd - firstStart);
      return new Report(scenario, span, bound, reads, writes, staleSame, staleOther, stuck,
          worstAge < 0 ? null : Duration.ofNanos(worstAge), max, p99, Collections.unmodifiableMap(readExceptions),
          Collections.unmodifiableMap(writesThrew), Collections.unmodifiableMap(writeExceptions),
          faultEnd == Long.MIN_VALUE || lastThrowStart <= faultEnd ? null : Duration.ofNanos(lastThrowStart - faultEnd),
          Collections.unmodifiableMap(staleByKind),
          Collections.unmodifiableMap(anomalies), List.copyOf(examples));
    }

    private static final int EXAMPLES = 3;
  }
}
