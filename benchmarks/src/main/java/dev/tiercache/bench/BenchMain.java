package dev.tiercache.bench;

import dev.tiercache.bench.report.Comparison;
import dev.tiercache.bench.report.Comparison.Better;
import dev.tiercache.bench.report.JmhResults;
import dev.tiercache.bench.report.Machine;
import dev.tiercache.bench.report.SuiteReport;
import dev.tiercache.bench.report.Targets;
import dev.tiercache.bench.report.Measurement;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.profile.GCProfiler;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.CommandLineOptions;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

/**
 * Runs the benchmark suites, prints one ratio line per comparison and writes {@code results/<suite>.md},
 * {@code results/<suite>.svg} and the summary {@code results/README.md}. See benchmarks/README.md.
 *
 * <pre>
 * run.sh [suite ...] [--only=REGEX] [--tag-sizes=1000,100000,1000000] [--results=DIR] [JMH options]
 * </pre>
 */
public final class BenchMain {

  static final double NONE = Double.NaN;
  static final int DEFAULT_WARMUP_ITERATIONS = 6;
  static final int DEFAULT_WARMUP_SECONDS = 2;
  static final String DEFAULT_TAG_SIZES = "1000,100000,1000000";

  /** A suite: an id, a title, and either JMH benchmark classes or a scenario. */
  record Suite(String id, String title, String description, List<Class<?>> benchmarks, boolean gcProfiler,
      boolean needsRedis, List<Comparison.Spec> specs) {}

  static final List<Suite> SUITES = List.of(
      new Suite("l1", "Suite 1: L1 hit read throughput (Zipfian, prepopulated)", """
          Tiercache with an L1 only (no L2) against raw Caffeine, both bounded to 65,536 entries and prepopulated \
          with all 65,536 keys, then a full GC in each; keys are drawn from a precomputed fixed-seed Zipfian sequence (skew 0.99, scrambled), \
          at 1, 2 and 8 threads (one JMH run per thread count, reference and Tiercache in each). `read` is read only (`getIfPresent` on both; `readThrough` is Tiercache's `get(key, loader)` \
          hitting the L1). `readWrite` is 6:2 reads to writes (`put` on both). Throughput in operations per second \
          over all threads; allocation per operation from JMH's GC profiler. Targets: L1 hit >= \
          """ + Targets.x(Targets.L1_HIT) + " raw Caffeine and 0 B/op at each thread count; 6:2 mix >= "
          + Targets.x(Targets.L1_READ_WRITE) + ".",
          List.of(L1HitBenchmark.class), true, false, List.of(
              Comparison.spec("L1 hit, getIfPresent vs Caffeine getIfPresent", "L1Hit.tiercache_read",
                  "L1Hit.caffeine_read", "score", Better.HIGHER, Targets.L1_HIT),
              Comparison.spec("L1 hit, get(key, loader) vs Caffeine getIfPresent", "L1Hit.tiercache_readThrough",
                  "L1Hit.caffeine_read", "score", Better.HIGHER, Targets.L1_HIT),
              Comparison.spec("L1 hit with bus proof, meters and expiry vs Caffeine with expiry",
                  "L1Hit.tiercache_readProduction", "L1Hit.caffeine_readExpiring", "score", Better.HIGHER,
                  Targets.L1_HIT),
              Comparison.spec("6:2 read/write mix vs Caffeine", "L1Hit.tiercache_readWrite",
                  "L1Hit.caffeine_readWrite", "score", Better.HIGHER, Targets.L1_READ_WRITE))),
      new Suite("l2", "Suite 2: L1 miss / L2 hit latency", """
          One thread. Tiercache with `maximumSize(0)` L1 (every read misses the L1) reading 128-byte string values \
          from Redis, against a raw Lettuce sync `GET` of the same value plus the same UTF-8 decode \
          (`ValueCodecs.string()`), same server, same client. Reads cycle over 1,024 keys. JMH sample mode: mean and \
          percentiles in microseconds. `redisTier_get` is the L2 store alone (`RedisTier.get`: one `MGET` of the \
          bucket's clock, floor and `gmax` and the entry, plus the same decode), so the "layer" rows split the gap \
          between the store and the cache on top of it. Allocation per operation from JMH's GC profiler. Targets: L2 hit latency <= \
          """ + Targets.x(Targets.L2_HIT) + " raw Lettuce GET (mean), and <= " + Targets.x(Targets.L2_HIT_ALLOC)
          + " its bytes allocated per operation.",
          List.of(L2HitBenchmark.class), true, true, List.of(
              Comparison.spec("L2 hit, get(key, loader), mean", "L2Hit.tiercache_get", "L2Hit.lettuce_get", "score",
                  Better.LOWER, Targets.L2_HIT),
              Comparison.spec("L2 hit, getIfPresent, mean", "L2Hit.tiercache_getIfPresent", "L2Hit.lettuce_get",
                  "score", Better.LOWER, Targets.L2_HIT),
              Comparison.spec("L2 hit, get(key, loader), allocation", "L2Hit.tiercache_get", "L2Hit.lettuce_get",
                  Measurement.ALLOC, Better.LOWER, Targets.L2_HIT_ALLOC),
              Comparison.spec("L2 hit, getIfPresent, allocation", "L2Hit.tiercache_getIfPresent",
                  "L2Hit.lettuce_get", Measurement.ALLOC, Better.LOWER, Targets.L2_HIT_ALLOC),
              Comparison.spec("L2 hit, get(key, loader), p50", "L2Hit.tiercache_get", "L2Hit.lettuce_get", "p50",
                  Better.LOWER, NONE),
              Comparison.spec("L2 hit, get(key, loader), p99", "L2Hit.tiercache_get", "L2Hit.lettuce_get", "p99",
                  Better.LOWER, NONE),
              Comparison.spec("layer: RedisTier.get (MGET) vs GET, mean", "L2Hit.redisTier_get",
                  "L2Hit.lettuce_get", "score", Better.LOWER, NONE),
              Comparison.spec("layer: cache get(key, loader) vs RedisTier.get, mean", "L2Hit.tiercache_get",
                  "L2Hit.redisTier_get", "score", Better.LOWER, NONE))),
      new Suite("getall", "Suite 3: getAll of 100 keys through the L2", """
          One thread. `getAll` of 100 keys that all miss the L1 (`maximumSize(0)`) and hit the L2, against a raw \
          Lettuce `MGET` of 100 keys whose values are decoded with the same codec into a map of the same shape. \
          Calls cycle over 16 disjoint batches. Throughput in calls per second. `redisTier_getAll` is the L2 store \
          alone (`RedisTier.getAll`, one `MGET` of the bucket's clock, floor and `gmax` and the 100 keys, plus \
          the same decode), so the "layer" rows split the gap between the store and the cache on top of it. Allocation per call from JMH's GC \
          profiler. Targets: >=\s""" + Targets.x(Targets.GET_ALL) + " raw MGET's throughput, and <= "
          + Targets.x(Targets.GET_ALL_ALLOC) + " its bytes allocated per call.",
          List.of(GetAllBenchmark.class), true, true, List.of(
              Comparison.spec("getAll(100) vs MGET(100)", "GetAll.tiercache_getAll", "GetAll.lettuce_mget", "score",
                  Better.HIGHER, Targets.GET_ALL),
              Comparison.spec("getAll(100) vs MGET(100), allocation", "GetAll.tiercache_getAll",
                  "GetAll.lettuce_mget", Measurement.ALLOC, Better.LOWER, Targets.GET_ALL_ALLOC),
              Comparison.spec("layer: RedisTier.getAll(100) vs MGET(100)",
                  "GetAll.redisTier_getAll", "GetAll.lettuce_mget", "score", Better.HIGHER, NONE),
              Comparison.spec("layer: cache getAll(100) vs RedisTier.getAll(100)", "GetAll.tiercache_getAll",
                  "GetAll.redisTier_getAll", "score", Better.HIGHER, NONE))),
      new Suite("peers", "Suite 4: Tiercache vs Redisson and JetCache on the same Redis", """
          Each library runs as one instance with a second instance of the same library on the same Redis, so that \
          cross-node invalidation has a listener; each is configured as its documentation recommends for a local \
          cache in front of Redis with cross-node invalidation on (see benchmarks/README.md, "Peers"). `read`: \
          16,384 keys prepopulated, local caches of 16,384 entries, Zipfian reads (as in suite 1), 2 threads, \
          throughput. `mixed`: the same keys and threads, of every 8 operations 6 read-throughs, 1 write and 1 \
          invalidation of the key, throughput. `PeerL2.*_get`: local caches as small as each library allows, 1,024 \
          keys cycled, 1 thread, every read goes to Redis, latency. Targets: Tiercache ahead of both peers on every \
          path (ratio >=\s""" + Targets.x(Targets.PEER) + " for throughput, <= " + Targets.x(Targets.PEER)
          + " for latency), and the mixed load >= " + Targets.x(Targets.MIXED_VS_REDISSON) + " Redisson's. Warm-up:"
          + " on the 2-core machine every library's mixed throughput keeps rising for about 25 s from a cold start"
          + " (2 s iterations: Tiercache from ~15k to 25-30k ops/s, Redisson from ~15k to 22-27k), so a warm-up"
          + " shorter than that compares each library at a different point of its own; the committed figures are"
          + " taken after 40 s (`-wi 20 -w 2s`).",
          List.of(PeerL1Benchmark.class, PeerL2Benchmark.class), false, true, List.of(
              Comparison.spec("local hit vs Redisson RLocalCachedMap", "PeerL1.tiercache_read", "PeerL1.redisson_read",
                  "score", Better.HIGHER, Targets.PEER),
              Comparison.spec("local hit vs JetCache", "PeerL1.tiercache_read", "PeerL1.jetcache_read", "score",
                  Better.HIGHER, Targets.PEER),
              Comparison.spec("remote hit (mean) vs Redisson RLocalCachedMap", "PeerL2.tiercache_get",
                  "PeerL2.redisson_get", "score", Better.LOWER, Targets.PEER),
              Comparison.spec("remote hit (mean) vs JetCache", "PeerL2.tiercache_get", "PeerL2.jetcache_get", "score",
                  Better.LOWER, Targets.PEER),
              Comparison.spec("mixed read/write/invalidate vs Redisson RLocalCachedMap", "PeerL1.tiercache_mixed",
                  "PeerL1.redisson_mixed", "score", Better.HIGHER, Targets.MIXED_VS_REDISSON),
              Comparison.spec("mixed read/write/invalidate vs JetCache", "PeerL1.tiercache_mixed",
                  "PeerL1.jetcache_mixed", "score", Better.HIGHER, Targets.PEER))),
      new Suite("invalidation", "Suite 5: cross-node invalidation latency", """
          Two instances A and B, each with its own Lettuce client, on one Redis. One operation: A calls \
          `invalidate(Invalidation.key(k))` for a key B holds in its L1; the clock stops when B's L1 no longer holds \
          it (B's L1 holds that one entry, so its size is the probe). Reference: a raw Redis Pub/Sub round on the \
          same two clients (A publishes a 96-byte message, the clock stops when B's subscriber delivered it). \
          Tiercache's figure includes A's L2 invalidation (a Lua script round trip) before the bus message leaves. \
          One thread; JMH sample mode. Target: p99 <=\s""" + Targets.x(Targets.INVALIDATION_P99)
          + " raw Pub/Sub p99.",
          List.of(InvalidationBenchmark.class), false, true, List.of(
              Comparison.spec("invalidate on A -> B's L1 drops, p99", "Invalidation.tiercache_invalidate",
                  "Invalidation.pubsub_roundTrip", "p99", Better.LOWER, Targets.INVALIDATION_P99),
              Comparison.spec("invalidate on A -> B's L1 drops, p50", "Invalidation.tiercache_invalidate",
                  "Invalidation.pubsub_roundTrip", "p50", Better.LOWER, NONE),
              Comparison.spec("invalidate on A -> B's L1 drops, p99.9", "Invalidation.tiercache_invalidate",
                  "Invalidation.pubsub_roundTrip", "p99.9", Better.LOWER, NONE))),
      new Suite("stampede", "Suite 6: stampede (single-flight per instance)", "", null, false, true, List.of()),
      new Suite("tags", "Suite 7: tag invalidation caller time vs tagged keys", "", null, false, true, List.of()),
      new Suite("cluster", "Suite 8: getAll of 100 keys on a Redis Cluster of 1, 3 and 6 masters", """
          One thread. A loopback Redis Cluster of 1, 3 or 6 masters (no replicas), started by the benchmark for each           size through the test fixture. `getAll` of 100 keys that all miss the L1 (`maximumSize(0)`) and hit the L2           (48 buckets: one `MGET` per bucket the keys fall in, about 44, issued before any reply is awaited),           against Lettuce's cluster `MGET` of 100 keys (split by slot) decoded into a map of the same shape. Calls           cycle over 16 disjoint batches. Throughput in calls per second; compare the sizes in "All measurements"           to see whether more masters help. On this 2-core machine every master shares the same two cores with the           client. Target: >= \
          """ + Targets.x(Targets.GET_ALL) + " the cluster MGET at each size.",
          List.of(ClusterGetAllBenchmark.class), false, false, List.of(
              Comparison.spec("getAll(100) vs cluster MGET(100)", "ClusterGetAll.tiercache_getAll",
                  "ClusterGetAll.lettuce_mget", "score", Better.HIGHER, Targets.GET_ALL))));

  private BenchMain() {}

  public static void main(String[] args) throws Exception {
    Set<String> selected = new LinkedHashSet<>();
    List<String> jmhArgs = new ArrayList<>();
    Path results = Path.of("benchmarks", "results");
    Path repository = Path.of(".");
    String only = null;
    String revision = null;
    int rounds = 1;
    int[] threads = null;
    boolean summary = false;
    int[] tagSizes = sizes(DEFAULT_TAG_SIZES);
    String command = "benchmarks/run.sh" + (args.length == 0 ? "" : " " + String.join(" ", args));
    for (String arg : args) {
      if (arg.startsWith("--results=")) {
        results = Path.of(arg.substring("--results=".length()));
      } else if (arg.startsWith("--repository=")) {
        repository = Path.of(arg.substring("--repository=".length()));
      } else if (arg.startsWith("--rounds=")) {
        rounds = Integer.parseInt(arg.substring("--rounds=".length()));
      } else if (arg.startsWith("--revision=")) {
        revision = arg.substring("--revision=".length());
      } else if (arg.startsWith("--threads=")) {
        threads = sizes(arg.substring("--threads=".length()));
      } else if (arg.startsWith("--only=")) {
        only = arg.substring("--only=".length());
      } else if (arg.startsWith("--tag-sizes=")) {
        tagSizes = sizes(arg.substring("--tag-sizes=".length()));
      } else if (arg.startsWith("--command=")) {
        command = arg.substring("--command=".length());
      } else if (arg.equals("summary")) {
        summary = true;
      } else if (arg.equals("all")) {
        SUITES.forEach(s -> selected.add(s.id()));
      } else if (SUITES.stream().anyMatch(s -> s.id().equals(arg))) {
        selected.add(arg);
      } else if (arg.equals("-h") || arg.equals("--help")) {
        usage();
        return;
      } else {
        jmhArgs.add(arg);
      }
    }
    Map<String, String> titles = new LinkedHashMap<>();
    SUITES.forEach(s -> titles.put(s.id(), s.title()));
    if (summary && selected.isEmpty()) {
      SuiteReport.writeSummary(results, titles);
      System.out.println("rewrote " + results.resolve("README.md"));
      return;
    }
    if (selected.isEmpty()) {
      SUITES.forEach(s -> selected.add(s.id()));
    }
    CommandLineOptions cmd = new CommandLineOptions(jmhArgs.toArray(String[]::new));
    boolean needsRedis = SUITES.stream().anyMatch(s -> selected.contains(s.id()) && s.needsRedis());
    BenchRedis redis = needsRedis ? BenchRedis.start() : null;
    if (redis != null) {
      BenchRedis.useShared(redis);
    }
    try {
      String redisText = redis == null ? "not used by these suites"
          : "Redis " + redis.version() + " (" + redis.description() + ", loopback)";
      Machine machine = Machine.describe(redisText, repository, revision);
      List<String> allLines = new ArrayList<>();
      for (Suite suite : SUITES) {
        if (!selected.contains(suite.id())) {
          continue;
        }
        System.out.println("\n==== " + suite.title() + " ====");
        SuiteReport report;
        if (suite.benchmarks() != null) {
          report = runJmh(suite, cmd, redis, only, rounds, threadCounts(suite, cmd, threads));
        } else if (suite.id().equals("stampede")) {
          report = StampedeScenario.run(4, 16, 10, Duration.ofMillis(50));
        } else {
          report = TagScenario.run(tagSizes);
        }
        Path file = report.write(results, machine, command);
        System.out.println();
        report.lines().forEach(System.out::println);
        System.out.println("results: " + file);
        allLines.addAll(report.lines());
      }
      SuiteReport.writeSummary(results, titles);
      System.out.println("\n==== all comparisons ====");
      allLines.forEach(System.out::println);
    } finally {
      if (redis != null) {
        redis.close();
      }
    }
  }

  /**
   * The thread counts a JMH suite runs at: those of {@code --threads}, else 1, 2 and 8 for suite 1 (its targets hold
   * at each), else none (the benchmarks' own, or JMH's {@code -t}).
   */
  static int[] threadCounts(Suite suite, CommandLineOptions cmd, int[] requested) {
    if (requested != null) {
      return requested;
    }
    return suite.id().equals("l1") && !cmd.getThreads().hasValue() ? L1_THREADS : new int[0];
  }

  static final int[] L1_THREADS = {1, 2, 8};

  /** Allocation per operation that counts as none: JMH's GC profiler reports a fraction of a byte from its own work. */
  static final double NO_ALLOCATION = 1.0;

  static SuiteReport runJmh(Suite suite, CommandLineOptions cmd, BenchRedis redis, String only, int rounds,
      int[] threadCounts) throws Exception {
    List<String> methods = new ArrayList<>();
    for (Class<?> benchmark : suite.benchmarks()) {
      Pattern wanted = Pattern.compile(only == null ? ".*" : only);
      Arrays.stream(benchmark.getMethods())
          .filter(m -> m.isAnnotationPresent(Benchmark.class))
          .map(Method::getName)
          .filter(name -> wanted.matcher(name).matches())
          .sorted()
          .forEach(name -> methods.add(Pattern.quote(benchmark.getName() + "." + name) + "$"));
    }
    if (methods.isEmpty()) {
      // An empty include list would make JMH run every benchmark on the class path.
      throw new IllegalArgumentException(
          "--only=" + only + " matches no benchmark method of suite " + suite.id()
              + " (it must match a whole method name, e.g. '.*readWrite')");
    }
    List<List<Measurement>> perRound = new ArrayList<>();
    String settings = "no benchmark ran";
    Path pending = Files.createTempFile("tiercache-pending", ".tsv");
    try {
      for (int round = 0; round < rounds; round++) {
        List<RunResult> results = new ArrayList<>();
        if (rounds > 1) {
          System.out.println("\n---- " + suite.id() + ": round " + (round + 1) + " of " + rounds + " ----");
        }
        if (threadCounts.length > 0) {
          // One JMH run per thread count (or per method and thread count over several rounds): each comparison is
          // between figures of the same run or the same round.
          List<Measurement> measured = new ArrayList<>();
          for (int threads : threadCounts) {
            for (List<String> batch : batches(methods, rounds, round)) {
              Collection<RunResult> run = runJmh(suite, cmd, redis, batch, threads, pending);
              results.addAll(run);
              JmhResults.measurements(run).forEach(m -> measured.add(withThreads(m, threads)));
            }
          }
          settings = JmhResults.settings(results) + ", at " + Arrays.toString(threadCounts) + " threads";
          perRound.add(measured);
          continue;
        }
        for (List<String> batch : batches(methods, rounds, round)) {
          results.addAll(runJmh(suite, cmd, redis, batch, 0, pending));
        }
        if (!results.isEmpty()) {
          settings = JmhResults.settings(results);
        }
        perRound.add(JmhResults.measurements(results));
      }
      SuiteReport report = new SuiteReport(suite.id(), suite.title(), suite.description());
      JmhResults.median(perRound).forEach(report::add);
      String pendingNote = PendingCount.note(pending);
      if (pendingNote != null) {
        System.out.println(pendingNote);
        report.note(pendingNote);
      }
      report.compare(suite.specs());
      if (suite.gcProfiler()) {
        checkNoAllocation(suite, report, JmhResults.median(perRound));
      }
      report.note("JMH settings: " + settings + (suite.gcProfiler() ? "; profiler: gc (`-prof gc`)" : "")
          + (rounds == 1 ? "." : "; " + rounds + " rounds, each benchmark method in its own JMH run, in alternating "
              + "order from one round to the next; figures are the median over the rounds and the error column is "
              + "half the spread between rounds."));
      return report;
    } finally {
      Files.deleteIfExists(pending);
    }
  }

  /**
   * The JMH runs of one round: all methods in one run, or, over several rounds, one method per run in an order that
   * reverses from one round to the next, so that a load change on a shared machine does not fall on one side of a
   * comparison only.
   */
  static List<List<String>> batches(List<String> methods, int rounds, int round) {
    if (rounds == 1) {
      return List.of(methods);
    }
    List<String> order = new ArrayList<>(methods);
    if (round % 2 == 1) {
      java.util.Collections.reverse(order);
    }
    return order.stream().map(List::of).toList();
  }

  /** The hit paths of suite 1 allocate nothing: one line per Tiercache read measurement, printed and noted. */
  private static void checkNoAllocation(Suite suite, SuiteReport report, List<Measurement> measurements) {
    for (Measurement m : measurements) {
      Double alloc = m.extras().get(Measurement.ALLOC);
      if (alloc == null || !m.name().matches("L1Hit\\.tiercache_read(Through|Production)?(\\[.*)?")) {
        continue;
      }
      String line = String.format(java.util.Locale.ROOT, "ALLOC [%s] %s: %.3f B/op (target 0 B/op, below %.0f B/op"
          + " counted as none: %s)", suite.id(), m.name(), alloc, NO_ALLOCATION,
          alloc < NO_ALLOCATION ? "MET" : "NOT MET");
      System.out.println(line);
      report.note(line);
    }
  }

  /** {@code L1Hit.x[size=65536]} at 8 threads is {@code L1Hit.x[size=65536,threads=8]}. */
  static Measurement withThreads(Measurement m, int threads) {
    String name = m.name();
    String named = name.endsWith("]")
        ? name.substring(0, name.length() - 1) + ",threads=" + threads + "]"
        : name + "[threads=" + threads + "]";
    return new Measurement(named, m.mode(), m.score(), m.error(), m.unit(), m.extras());
  }

  private static Collection<RunResult> runJmh(Suite suite, CommandLineOptions cmd, BenchRedis redis,
      List<String> includes, int threads, Path pending) throws Exception {
    ChainedOptionsBuilder options = new OptionsBuilder().parent(cmd);
    includes.forEach(options::include);
    if (threads > 0) {
      options.threads(threads);
    }
    if (!cmd.getForkCount().hasValue()) {
      options.forks(1);
    }
    // 12 s of warm-up: on a 2-core machine the JIT takes 6-10 s to settle, and a shorter warm-up measured
    // iterations at a quarter of the steady rate (getAll: ~1,800 then ~8,000 ops/s in one fork).
    if (!cmd.getWarmupIterations().hasValue()) {
      options.warmupIterations(DEFAULT_WARMUP_ITERATIONS);
    }
    if (!cmd.getWarmupTime().hasValue()) {
      options.warmupTime(TimeValue.seconds(DEFAULT_WARMUP_SECONDS));
    }
    if (!cmd.getMeasurementIterations().hasValue()) {
      options.measurementIterations(3);
    }
    if (!cmd.getMeasurementTime().hasValue()) {
      options.measurementTime(TimeValue.seconds(2));
    }
    if (suite.gcProfiler()) {
      options.addProfiler(GCProfiler.class);
    }
    // One call: each call of jvmArgsAppend replaces what the previous one gave. The property is also set here for
    // a run without forks (-f 0), whose trials run in this JVM.
    List<String> forkProperties = new ArrayList<>();
    forkProperties.add("-D" + PendingCount.FILE_PROPERTY + "=" + pending);
    System.setProperty(PendingCount.FILE_PROPERTY, pending.toString());
    if (redis != null) {
      forkProperties.add("-D" + BenchRedis.URI_PROPERTY + "=" + redis.uriString());
      forkProperties.add("-D" + BenchRedis.OWNED_PROPERTY + "=" + redis.owned());
    }
    options.jvmArgsAppend(forkProperties.toArray(String[]::new));
    return new Runner(options.build()).run();
  }

  static int[] sizes(String text) {
    return Arrays.stream(text.split(",")).map(String::trim).filter(s -> !s.isEmpty())
        .mapToInt(Integer::parseInt).toArray();
  }

  private static void usage() {
    System.out.println("""
        usage: benchmarks/run.sh [suite ...] [options] [JMH options]
          suites: l1 l2 getall peers invalidation stampede tags cluster (default: all);
                  "summary" alone rewrites results/README.md from the suite files
          --only=REGEX           run only the benchmark methods of the JMH suites matching REGEX
          --threads=1,2,8        run each JMH suite once per thread count (suite 1 does 1,2,8 unless -t is given)
          --rounds=N             run each JMH suite N times, one method per JMH run, alternating the order;
                                 report medians (for shared, noisy machines)
          --tag-sizes=A,B,C      tagged-key counts of the tags suite (default 1000,100000,1000000)
          --results=DIR          where results go (default benchmarks/results)
          JMH options override the defaults -f 1 -wi 6 -w 2s -i 3 -r 2s, e.g. -f 2 -i 5 -r 5s -prof gc
        """);
  }
}
