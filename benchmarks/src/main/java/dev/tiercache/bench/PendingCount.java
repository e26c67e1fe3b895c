package dev.tiercache.bench;

import dev.tiercache.InvalidationPendingException;
import dev.tiercache.Tags;
import dev.tiercache.TieredCache;
import dev.tiercache.bench.report.JmhResults;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.infra.BenchmarkParams;
import org.openjdk.jmh.infra.IterationParams;
import org.openjdk.jmh.runner.IterationType;

/**
 * What the benchmarks do with {@link InvalidationPendingException}, and how many they met. The cache throws it when
 * Redis or the bus did not take an invalidation or a write within the L2 timeout, after applying it on this instance,
 * and retries it until the other instances have it; a caller that only wants the cache to catch up carries on (its
 * javadoc). The benchmarks do the same, since on a 2-core machine under load one such timeout ended a whole JMH run,
 * and count each one: an operation that met one took at least the L2 timeout, which the figures then include, so
 * the count goes into the suite's results.
 *
 * <p>JMH runs a benchmark in a forked JVM. At the end of each trial the counts are appended to the file named by
 * {@value #FILE_PROPERTY}, which {@link BenchMain} reads after the run and turns into a note of the suite's results.
 */
final class PendingCount {

  /** The system property naming the file the counts are appended to; none: they are not kept. */
  static final String FILE_PROPERTY = "tiercache.bench.pendingFile";

  /** Where in a trial an exception was met. */
  enum Phase {
    MEASUREMENT("in measurement iterations"),
    WARMUP("in warm-up iterations"),
    OUTSIDE("in setup or teardown");

    final String text;

    Phase(String text) {
      this.text = text;
    }
  }

  /**
   * A benchmark state whose iterations tell apart what is met in warm-up and in measurement; JMH runs the fixture
   * methods a state inherits.
   */
  abstract static class ByIteration {

    @Setup(Level.Iteration)
    public void iterationStarts(IterationParams params) {
      PendingCount.iterationStarts(params);
    }

    @TearDown(Level.Iteration)
    public void iterationEnds() {
      PendingCount.iterationEnds();
    }
  }

  private static final long SETUP_WRITE_NANOS = TimeUnit.SECONDS.toNanos(30);
  private static final long SETUP_WRITE_PAUSE_NANOS = TimeUnit.MILLISECONDS.toNanos(10);

  private static final LongAdder[] COUNTS = {new LongAdder(), new LongAdder(), new LongAdder()};
  private static volatile Phase phase = Phase.OUTSIDE;

  private PendingCount() {}

  /** Counts one exception met now; the caller carries on. */
  static void count() {
    COUNTS[phase.ordinal()].increment();
  }

  /**
   * Writes a value in a trial's setup, again until Redis takes it: a put that threw cached the value nowhere, and the
   * benchmark reads what setup wrote. Each attempt waits until the cache has no invalidation pending (see within).
   *
   * @throws IllegalStateException if Redis took none of the attempts within 30 s
   */
  static void putUntilStored(TieredCache<String, String> cache, String key, String value) {
    putUntilStored(cache, key, value, Tags.empty());
  }

  /** As {@link #putUntilStored(TieredCache, String, String)}, with tags. */
  static void putUntilStored(TieredCache<String, String> cache, String key, String value, Tags tags) {
    long deadline = System.nanoTime() + SETUP_WRITE_NANOS;
    InvalidationPendingException last = null;
    while (System.nanoTime() - deadline < 0) {
      // A refused write leaves its key's invalidation pending, retried until Redis takes it; one that lands after a
      // later write of the key removes that write's value again (a miss, as the put's contract allows). So a write is
      // tried only once nothing waits: a retry counts as pending until it was applied, so none can land after it.
      if (cache.status().pendingInvalidations() == 0) {
        try {
          cache.put(key, value, tags);
          return;
        } catch (InvalidationPendingException e) {
          count();
          last = e;
        }
      }
      LockSupport.parkNanos(SETUP_WRITE_PAUSE_NANOS);
    }
    throw new IllegalStateException("Redis took no write of a setup value within 30 s", last);
  }

  /** Call from a {@code @Setup(Level.Iteration)} method: what is met until the iteration ends counts in its kind. */
  static void iterationStarts(IterationParams params) {
    iterationStarts(params.getType() == IterationType.WARMUP ? Phase.WARMUP : Phase.MEASUREMENT);
  }

  static void iterationStarts(Phase kind) {
    phase = kind;
  }

  /** Call from a {@code @TearDown(Level.Iteration)} method. */
  static void iterationEnds() {
    phase = Phase.OUTSIDE;
  }

  /**
   * Call at the very end of a {@code @TearDown(Level.Trial)} method: appends the trial's counts to the file, under
   * the benchmark's name as the results name it, and starts the next trial from zero.
   */
  static void trialEnds(BenchmarkParams params) {
    trialEnds(JmhResults.name(params));
  }

  /** As {@link #trialEnds(BenchmarkParams)}, for the benchmark the results call {@code name}. */
  static void trialEnds(String name) {
    StringBuilder line = new StringBuilder(name);
    for (LongAdder count : COUNTS) {
      line.append('\t').append(count.sumThenReset());
    }
    phase = Phase.OUTSIDE;
    String file = System.getProperty(FILE_PROPERTY);
    if (file == null || file.isBlank()) {
      return;
    }
    try {
      Files.writeString(Path.of(file), line.append('\n'), StandardCharsets.UTF_8, StandardOpenOption.CREATE,
          StandardOpenOption.APPEND);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot record the pending invalidations in " + file, e);
    }
  }

  /**
   * The note for a suite's results, from what its trials appended to {@code file} (summed per benchmark over forks
   * and rounds), or null when no trial counted.
   */
  static String note(Path file) {
    Map<String, long[]> counts = new TreeMap<>();
    try {
      if (!Files.exists(file)) {
        return null;
      }
      for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
        String[] fields = line.split("\t");
        if (fields.length != 1 + Phase.values().length) {
          continue;
        }
        long[] sum = counts.computeIfAbsent(fields[0], name -> new long[Phase.values().length]);
        for (int i = 0; i < sum.length; i++) {
          sum[i] += Long.parseLong(fields[1 + i]);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the pending invalidations in " + file, e);
    }
    if (counts.isEmpty()) {
      return null;
    }
    List<String> met = new ArrayList<>();
    List<String> none = new ArrayList<>();
    counts.forEach((name, sum) -> {
      List<String> parts = new ArrayList<>();
      for (Phase p : Phase.values()) {
        parts.add(sum[p.ordinal()] + " " + p.text);
      }
      if (java.util.Arrays.stream(sum).sum() == 0) {
        none.add("`" + name + "`");
      } else {
        met.add("`" + name + "`: " + String.join(", ", parts));
      }
    });
    StringBuilder note = new StringBuilder(
        "`InvalidationPendingException` (an invalidation or write Redis did not take within the L2 timeout; the "
            + "cache applied it on its instance and retried it, and the benchmark carried on, as its javadoc tells a "
            + "caller; an operation that met one took at least the timeout, and its figures include that; a setup "
            + "write that met one was repeated until stored): ");
    if (!met.isEmpty()) {
      note.append(String.join("; ", met)).append(". ");
    }
    if (!none.isEmpty()) {
      note.append("None in ").append(String.join(", ", none)).append('.');
    }
    return note.toString().strip();
  }
}
