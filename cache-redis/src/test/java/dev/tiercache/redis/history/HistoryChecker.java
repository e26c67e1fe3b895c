package dev.tiercache.redis.history;

import dev.tiercache.redis.history.History.DbWrite;
import dev.tiercache.redis.history.Op.Kind;
import dev.tiercache.redis.history.Op.Type;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Checks a {@link History} offline against the coherence contract of DESIGN.md invariants 1 and 2 and issue 9.
 *
 * <p>A write that <em>completed</em> (its cache call returned normally; one that threw is the documented, typed way
 * a caller learns that the cache could not apply it, so it does not count) sets, for every key it covers, a floor:
 * the newest database version of that key written before the cache call began. Then a read of a key that returns a
 * version below a floor is
 * <ul>
 *   <li><b>stale-same</b> if the write completed on the read's own instance before the read began (invariant 1: read
 *       your invalidation, and your put);
 *   <li><b>stale-other</b> if the write completed on another instance more than {@code bound} before the read began
 *       (invariant 2: the staleness bound every instance enforces itself).
 * </ul>
 * Independently of invalidations, a read is <b>stuck</b> if the version it returned had been superseded in the
 * database (the next version written) more than {@code stuckAfter} before the read began. A stale read's <b>age</b>
 * is how long before the read began the earliest write it violates completed.
 *
 * <p>Anything a read throws is a read exception (reads must not throw because Redis is unwell); a value for another
 * key, a null, or a version never written is an anomaly.
 */
public final class HistoryChecker {

  /** The default stuck threshold of issue 9. */
  public static final Duration STUCK_AFTER = Duration.ofSeconds(1);


  private final Duration bound;
  private final Duration stuckAfter;

  /**
   * A checker.
   *
   * @param bound how long after a write completed on one instance another instance may still return older versions
   * @param stuckAfter how long after a version was superseded a read of it counts as stuck
   */
  public HistoryChecker(Duration bound, Duration stuckAfter) {
    this.bound = bound;
    this.stuckAfter = stuckAfter;
  }

  /**
   * Checks a history.
   *
   * @param scenario a name for the report
   * @param history the history
   * @return the findings
   */
  public Report check(String scenario, History history) {
    Writes writes = new Writes(history);
    Floors floors = new Floors(history, writes);
    Report.Builder report = new Report.Builder(scenario, bound);
    long boundNanos = bound.toNanos();
    long stuckNanos = stuckAfter.toNanos();
    List<Long> latencies = new ArrayList<>();
    history.faults().forEach(f -> report.faultEnded(f.to()));
    for (Op op : history.ops()) {
      report.op(op);
      if (op.type() == Type.WRITE) {
        report.write(op);
        continue;
      }
      latencies.add(op.end() - op.start());
      if (op.error() != null) {
        report.readException(op.error());
        continue;
      }
      if (op.anomaly() != null) {
        report.anomaly(op.anomaly());
        continue;
      }
      if (op.version() < History.INITIAL_VERSION || op.version() > writes.last(op.key())) {
        report.anomaly("version never written");
        continue;
      }
      report.read();
      Violation same = floors.violation(op, op.instance(), op.start());
      Violation other = null;
      for (int j = 0; j < history.instances(); j++) {
        if (j != op.instance()) {
          Violation v = floors.violation(op, j, op.start() - boundNanos);
          if (v != null && (other == null || v.completedAt < other.completedAt)) {
            other = v;
          }
        }
      }
      if (same != null) {
        report.staleSame(op, same.kind, op.start() - same.completedAt, same.floor);
      } else if (other != null) {
        report.staleOther(op, other.kind, op.start() - other.completedAt, other.floor);
      }
      long supersededAt = writes.supersededAt(op.key(), op.version());
      if (supersededAt != Long.MIN_VALUE && op.start() - supersededAt > stuckNanos) {
        report.stuck();
      }
    }
    long[] sorted = latencies.stream().mapToLong(Long::longValue).sorted().toArray();
    report.latencies(sorted);
    return report.build();
  }

  private record Violation(long completedAt, long floor, Kind kind) {}

  /** The database writes of each key: the newest version written before a time, and when a version was superseded. */
  private static final class Writes {
    private final long[][] at;
    private final long[][] maxVersion;
    private final long[][] supersededAt; // [key][version - 2] = when version (index + 2) was written
    private final long[] last;

    Writes(History history) {
      int keys = history.keys();
      List<List<DbWrite>> byKey = new ArrayList<>();
      for (int k = 0; k < keys; k++) {
        byKey.add(new ArrayList<>());
      }
      history.dbWrites().forEach(w -> byKey.get(w.key()).add(w));
      at = new long[keys][];
      maxVersion = new long[keys][];
      supersededAt = new long[keys][];
      last = new long[keys];
      for (int k = 0; k < keys; k++) {
        List<DbWrite> list = byKey.get(k);
        list.sort(Comparator.comparingLong(DbWrite::at));
        at[k] = list.stream().mapToLong(DbWrite::at).toArray();
        maxVersion[k] = new long[list.size()];
        long max = History.INITIAL_VERSION;
        for (int i = 0; i < list.size(); i++) {
          max = Math.max(max, list.get(i).version());
          maxVersion[k][i] = max;
        }
        last[k] = max;
        supersededAt[k] = new long[(int) Math.max(0, max - History.INITIAL_VERSION)];
        Arrays.fill(supersededAt[k], Long.MIN_VALUE);
        for (DbWrite w : list) {
          supersededAt[k][(int) (w.version() - History.INITIAL_VERSION - 1)] = w.at();
        }
      }
    }

    /** The newest version of {@code key} whose write was recorded before {@code time}. */
    long before(int key, long time) {
      int i = lastBelow(at[key], time);
      return i < 0 ? History.INITIAL_VERSION : maxVersion[key][i];
    }

    long last(int key) {
      return last[key];
    }

    /** When the version after {@code version} was written, or Long.MIN_VALUE if it never was. */
    long supersededAt(int key, long version) {
      int index = (int) (version - History.INITIAL_VERSION);
      return index < supersededAt[key].length ? supersededAt[key][index] : Long.MIN_VALUE;
    }
  }

  /** For each key and instance, the floors set by completed writes, ordered by completion. */
  private static final class Floors {
    private final long[][][] end; // [key][instance][i]
    private final long[][][] maxFloor;
    private final Kind[][][] kind; // kind of the write that first reached maxFloor[i]
    private final long[][][] firstEnd; // completion time of that write

    Floors(History history, Writes writes) {
      int keys = history.keys();
      int instances = history.instances();
      List<List<List<long[]>>> lists = new ArrayList<>();
      for (int k = 0; k < keys; k++) {
        List<List<long[]>> perInstance = new ArrayList<>();
        for (int i = 0; i < instances; i++) {
          perInstance.add(new ArrayList<>());
        }
        lists.add(perInstance);
      }
      for (Op op : history.ops()) {
        if (op.type() != Type.WRITE || !op.completed()) {
          continue;
        }
        for (int k : op.covered()) {
          long floor = writes.before(k, op.start());
          if (k == op.key()) {
            floor = Math.max(floor, op.version());
          }
          lists.get(k).get(op.instance()).add(new long[] {op.end(), floor, op.kind().ordinal()});
        }
      }
      end = new long[keys][instances][];
      maxFloor = new long[keys][instances][];
      kind = new Kind[keys][instances][];
      firstEnd = new long[keys][instances][];
      for (int k = 0; k < keys; k++) {
        for (int i = 0; i < instances; i++) {
          List<long[]> list = lists.get(k).get(i);
          list.sort(Comparator.comparingLong(e -> e[0]));
          int n = list.size();
          end[k][i] = new long[n];
          maxFloor[k][i] = new long[n];
          kind[k][i] = new Kind[n];
          firstEnd[k][i] = new long[n];
          long max = Long.MIN_VALUE;
          Kind maxKind = Kind.NONE;
          long maxEnd = Long.MIN_VALUE;
          for (int e = 0; e < n; e++) {
            long[] entry = list.get(e);
            end[k][i][e] = entry[0];
            if (entry[1] > max) {
              max = entry[1];
              maxKind = Kind.values()[(int) entry[2]];
              maxEnd = entry[0];
            }
            maxFloor[k][i][e] = max;
            kind[k][i][e] = maxKind;
            firstEnd[k][i][e] = maxEnd;
          }
        }
      }
    }

    /**
     * The earliest-completed write on {@code instance} that completed before {@code before} and set a floor of the
     * read's key above the version it returned, or null.
     */
    Violation violation(Op read, int instance, long before) {
      long[] ends = end[read.key()][instance];
      long[] floors = maxFloor[read.key()][instance];
      int last = lastBelow(ends, before);
      if (last < 0 || floors[last] <= read.version()) {
        return null;
      }
      // floors is non-decreasing: find the first index whose floor exceeds the version read.
      int lo = 0;
      int hi = last;
      while (lo < hi) {
        int mid = (lo + hi) >>> 1;
        if (floors[mid] > read.version()) {
          hi = mid;
        } else {
          lo = mid + 1;
        }
      }
      return new Violation(firstEnd[read.key()][instance][lo], floors[lo], kind[read.key()][instance][lo]);
    }
  }

  /** The index of the last element strictly below {@code value} in a sorted array, or -1. */
  static int lastBelow(long[] sorted, long value) {
    int lo = 0;
    int hi = sorted.length;
    while (lo < hi) {
      int mid = (lo + hi) >>> 1;
      if (sorted[mid] < value) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo - 1;
  }

  static Map<Kind, Long> emptyByKind() {
    return new EnumMap<>(Kind.class);
  }

  static Map<String, Long> emptyByName() {
    return new TreeMap<>();
  }
}
