package dev.tiercache.bench;

import dev.tiercache.TieredCache;
import dev.tiercache.bench.report.Comparison;
import dev.tiercache.bench.report.Comparison.Better;
import dev.tiercache.bench.report.Measurement;
import dev.tiercache.bench.report.SuiteReport;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Suite 6: a stampede. Several application instances (each with its own client, tier and L1) share one Redis; in
 * each round every instance gets {@code threads} concurrent {@code get}s of one key that no tier holds, all released
 * at once by a barrier, and the loader (a slow "database" read) counts its calls per instance. Single-flight per
 * instance means exactly one loader call per instance per round.
 */
final class StampedeScenario {

  private StampedeScenario() {}

  static SuiteReport run(int instances, int threads, int rounds, Duration loaderTime) throws Exception {
    SuiteReport report = new SuiteReport("stampede", "Suite 6: stampede (single-flight per instance)",
        String.format("""
            %d instances on one Redis, each with its own Lettuce client, tier and L1. In each of %d rounds, %d threads \
            per instance (%d in all) wait on one barrier, then each calls `get(key, loader)` for the same key, which \
            no tier holds (a new key per round). The loader counts its calls per instance, waits until every \
            instance is loading (at most 2 s, so that no instance can fill the L2 before all have missed it), then \
            sleeps %d ms like a slow database read. One warm-up round is not counted. Target: exactly one loader \
            call per instance per round.""",
            instances, rounds, threads, instances * threads, loaderTime.toMillis()));
    String namespace = BenchRedis.namespace("stampede");
    List<Node> nodes = new ArrayList<>();
    List<TieredCache<String, String>> caches = new ArrayList<>();
    ExecutorService pool = Executors.newFixedThreadPool(instances * threads);
    try {
      for (int i = 0; i < instances; i++) {
        Node node = new Node(namespace);
        nodes.add(node);
        caches.add(node.cache("stampede", b -> {}));
      }
      int[][] calls = new int[rounds][instances];
      long[] roundMillis = new long[rounds];
      long[] slowestGetMicros = new long[rounds];
      int wrongValues = 0;
      // Round -1 warms the code up and is not counted.
      for (int round = -1; round < rounds; round++) {
        String key = "order:" + round;
        String expected = "row-" + round;
        AtomicInteger[] counters = new AtomicInteger[instances];
        CyclicBarrier barrier = new CyclicBarrier(instances * threads);
        // Every instance's load waits (2 s at most) until all instances are loading, so no instance can write the
        // L2 before every instance has missed it: the count then shows single-flight within each instance, not
        // which instance happened to start first.
        CountDownLatch allLoading = new CountDownLatch(instances);
        List<Future<long[]>> gets = new ArrayList<>();
        for (int i = 0; i < instances; i++) {
          AtomicInteger counter = counters[i] = new AtomicInteger();
          TieredCache<String, String> cache = caches.get(i);
          for (int t = 0; t < threads; t++) {
            gets.add(pool.submit(() -> {
              barrier.await(30, TimeUnit.SECONDS);
              long start = System.nanoTime();
              String value = cache.get(key, k -> {
                counter.incrementAndGet();
                allLoading.countDown();
                await(allLoading);
                sleep(loaderTime);
                return expected;
              });
              long end = System.nanoTime();
              return new long[] {start, end, expected.equals(value) ? 1 : 0};
            }));
          }
        }
        long first = Long.MAX_VALUE;
        long last = Long.MIN_VALUE;
        long slowest = 0;
        for (Future<long[]> get : gets) {
          long[] r = get.get(60, TimeUnit.SECONDS);
          first = Math.min(first, r[0]);
          last = Math.max(last, r[1]);
          slowest = Math.max(slowest, r[1] - r[0]);
          if (r[2] != 1) {
            wrongValues++;
          }
        }
        int[] roundCalls = new int[instances];
        for (int i = 0; i < instances; i++) {
          roundCalls[i] = counters[i].get();
        }
        System.out.printf("stampede round %s: loader calls per instance %s, round took %d ms%n",
            round < 0 ? "(warm-up)" : Integer.toString(round), Arrays.toString(roundCalls),
            TimeUnit.NANOSECONDS.toMillis(last - first));
        if (round < 0) {
          wrongValues = 0;
          continue;
        }
        calls[round] = roundCalls;
        roundMillis[round] = TimeUnit.NANOSECONDS.toMillis(last - first);
        slowestGetMicros[round] = TimeUnit.NANOSECONDS.toMicros(slowest);
      }
      int min = Integer.MAX_VALUE;
      int max = Integer.MIN_VALUE;
      long total = 0;
      for (int[] round : calls) {
        for (int c : round) {
          min = Math.min(min, c);
          max = Math.max(max, c);
          total += c;
        }
      }
      long gets = (long) rounds * instances * threads;
      double perInstance = (double) total / (rounds * instances);
      report.add(new Measurement("Stampede.loaderCallsPerInstancePerRound", "scenario", perInstance, Double.NaN,
          "calls", Map.of("min", (double) min, "max", (double) max)));
      report.add(Measurement.of("Stampede.loaderCallsTotal", "scenario", total, Double.NaN, "calls"));
      report.add(Measurement.of("Stampede.getsTotal", "scenario", gets, Double.NaN, "gets"));
      report.add(Measurement.of("Stampede.wrongValues", "scenario", wrongValues, Double.NaN, "gets"));
      Arrays.sort(roundMillis);
      Arrays.sort(slowestGetMicros);
      report.add(new Measurement("Stampede.roundTime", "scenario", median(roundMillis), Double.NaN, "ms",
          Map.of("max", (double) roundMillis[rounds - 1])));
      report.add(new Measurement("Stampede.slowestGetPerRound", "scenario", median(slowestGetMicros) / 1000.0,
          Double.NaN, "ms", Map.of("max", slowestGetMicros[rounds - 1] / 1000.0)));
      report.add(new Comparison("most loader calls by one instance in one round (exactly one wanted)", max, 1,
          "calls", Better.LOWER, 1.0));
      report.add(new Comparison("fewest loader calls by one instance in one round (exactly one wanted)", min, 1,
          "calls", Better.HIGHER, 1.0));
      report.add(new Comparison("loader calls per concurrent get (reference: one call per get, no coalescing)",
          (double) total / gets, 1, "calls/get", Better.LOWER, Double.NaN));
      report.note(String.format("""
          Every get returned the loaded value: %s (%d wrong). The round time is from the first get's start to the \
          last get's end: the wait for every instance to start loading, the loader's %d ms, and the L2 round trips.""",
          wrongValues == 0 ? "yes" : "no", wrongValues, loaderTime.toMillis()));
      report.note("""
          More than one call by an instance in a round would mean its single-flight failed. Without the loader's wait \
          for all instances, an instance that reaches the L2 after another instance has finished loading finds the \
          value there and calls no loader (a first, cold run showed rounds like [1, 0, 0, 1]): correct, since \
          single-flight is per instance (DESIGN.md invariant 4, "optionally one per cluster"), but it would make \
          the count depend on timing rather than on the property under test.""");
      return report;
    } finally {
      pool.shutdownNow();
      caches.forEach(TieredCache::close);
      BenchRedis.shared().deleteNamespace(namespace);
      nodes.forEach(Node::close);
    }
  }

  private static double median(long[] sorted) {
    int n = sorted.length;
    return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0;
  }

  private static void await(CountDownLatch latch) {
    try {
      latch.await(2, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  private static void sleep(Duration d) {
    try {
      Thread.sleep(d.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }
}
