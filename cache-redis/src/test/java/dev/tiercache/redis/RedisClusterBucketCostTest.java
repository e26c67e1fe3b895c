package dev.tiercache.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tiercache.Invalidation;
import dev.tiercache.Tags;
import dev.tiercache.TieredCache;
import dev.tiercache.codec.ValueCodecs;
import dev.tiercache.redis.testing.RedisExtension;
import dev.tiercache.redis.testing.RedisNode;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.cluster.RedisClusterClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Issue 11: what the number of Cluster buckets costs, on real loopback clusters of 1, 3 and 6 masters. An all-bucket
 * invalidation (tag, prefix, pattern, all) runs one script per bucket and publishes from the last; a {@code getAll}
 * runs one script per bucket its keys fall in. Prints its figures; asserts only that the operations work. Slow (three
 * clusters, a few seconds per figure), so tagged {@code cluster-slow} and out of the default build:
 * {@code mvn -pl cache-redis -am test -Dtest=RedisClusterBucketCostTest -Dtiercache.excludedGroups=none
 * -Dsurefire.failIfNoSpecifiedTests=false}.
 */
@Tag("cluster-slow")
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class RedisClusterBucketCostTest {

  @RegisterExtension static final RedisExtension ONE = RedisExtension.cluster(1);
  @RegisterExtension static final RedisExtension THREE = RedisExtension.cluster(3);
  @RegisterExtension static final RedisExtension SIX = RedisExtension.cluster(6);

  private static final int[] BUCKETS = {16, 24, 48, 64};
  private static final int KEYS = 6_000;
  private static final int BATCH = 100;
  private static final int THREADS = 4;
  private static final Duration WARM_UP = Duration.ofSeconds(2);
  private static final Duration MEASURE = Duration.ofSeconds(3);

  @Test
  void allBucketInvalidations() throws Exception {
    for (RedisExtension redis : List.of(ONE, THREE, SIX)) {
      for (int buckets : BUCKETS) {
        try (Setup setup = new Setup(redis, buckets)) {
          TieredCache<String, String> cache = setup.cache;
          int[] next = {0};
          Runnable invalidate = () -> cache.invalidate(Invalidation.tag("t" + (next[0]++ % 7)));
          run(invalidate, WARM_UP);
          long[] before = scripts(redis);
          long[] latencies = run(invalidate, MEASURE);
          long[] after = scripts(redis);
          System.out.printf("tag invalidation, %d masters, %2d buckets: %s; in Redis per call: %s%n",
              redis.nodes().size(), buckets, summary(latencies), perCall(before, after, latencies.length));
          cache.invalidate(Invalidation.all());
          assertThat(cache.getAll(List.of("user:1"), Setup::load)).containsEntry("user:1", "v:user:1");
        }
      }
    }
  }

  @Test
  void getAllOfAHundredKeys() throws Exception {
    for (RedisExtension redis : List.of(ONE, THREE, SIX)) {
      for (int buckets : BUCKETS) {
        try (Setup setup = new Setup(redis, buckets)) {
          Runnable read = () -> {
            int first = ThreadLocalRandom.current().nextInt(KEYS / BATCH) * BATCH;
            List<String> batch = new ArrayList<>(BATCH);
            for (int i = first; i < first + BATCH; i++) {
              batch.add("user:" + i);
            }
            Map<String, String> found = setup.cache.getAll(batch, Setup::missed);
            if (found.size() != BATCH) {
              throw new AssertionError("getAll found " + found.size());
            }
          };
          run(read, WARM_UP);
          long[] before = scripts(redis);
          long one = run(read, MEASURE).length;
          long[] after = scripts(redis);
          long many = concurrently(read);
          System.out.printf("getAll(%d), %d masters, %2d buckets: 1 thread %.0f/s, %d threads %.0f/s; in Redis per "
                  + "call: %s%n", BATCH, redis.nodes().size(), buckets, one / seconds(MEASURE), THREADS,
              many / seconds(MEASURE), perCall(before, after, one));
        }
      }
    }
  }

  /** A cluster client, a tier with the given buckets and a cache without L1 holding {@value #KEYS} tagged keys. */
  private static final class Setup implements AutoCloseable {
    final RedisClusterClient client;
    final RedisTier tier;
    final TieredCache<String, String> cache;

    Setup(RedisExtension redis, int buckets) {
      client = RedisClusterClient.create(redis.uris());
      client.setOptions(RedisTier.recommendedClusterClientOptions());
      tier = RedisTier.create(client, RedisTierOptions.builder().buckets(buckets).build());
      cache = TieredCache.<String, String>builder("cost-" + Long.toHexString(ThreadLocalRandom.current().nextLong()))
          .keyCodec(k -> k)
          .l1(l1 -> l1.maximumSize(0))
          .l2(tier)
          .l2Timeout(Duration.ofSeconds(5))
          .valueCodec(ValueCodecs.string())
          .build();
      // Written through bulk loads, a batch per tag: seven tags of a seventh of the keys each.
      for (int tag = 0; tag < 7; tag++) {
        List<String> batch = new ArrayList<>();
        for (int i = tag; i < KEYS; i += 7) {
          batch.add("user:" + i);
        }
        assertThat(cache.getAll(batch, Tags.of("t" + tag), Setup::load)).hasSize(batch.size());
      }
    }

    static Map<String, String> load(java.util.Set<String> keys) {
      return keys.stream().collect(Collectors.toMap(Function.identity(), k -> "v:" + k));
    }

    static Map<String, String> missed(java.util.Set<String> keys) {
      throw new AssertionError(keys.size() + " keys missed the L2");
    }

    @Override
    public void close() {
      cache.close();
      tier.close();
      client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
  }

  /**
   * What every master has run of scripts so far, from {@code INFO commandstats}: {calls, microseconds} of EVALSHA
   * and EVAL. Redis's own time, so it tells the buckets' cost apart from the noise of a busy test machine.
   */
  private static long[] scripts(RedisExtension redis) {
    long[] total = new long[2];
    RedisClient direct = RedisClient.create();
    try {
      for (RedisNode node : redis.nodes()) {
        try (StatefulRedisConnection<String, String> connection = direct.connect(node.uri())) {
          for (String line : connection.sync().info("commandstats").split("\r?\n")) {
            if (line.startsWith("cmdstat_evalsha:") || line.startsWith("cmdstat_eval:")) {
              for (String field : line.substring(line.indexOf(':') + 1).split(",")) {
                if (field.startsWith("calls=")) {
                  total[0] += Long.parseLong(field.substring(6));
                } else if (field.startsWith("usec=")) {
                  total[1] += Long.parseLong(field.substring(5));
                }
              }
            }
          }
        }
      }
    } finally {
      direct.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
    return total;
  }

  private static String perCall(long[] before, long[] after, long calls) {
    return String.format("%.1f scripts, %.0f us", (after[0] - before[0]) / (double) calls,
        (after[1] - before[1]) / (double) calls);
  }

  /** Runs {@code op} on this thread for {@code how long}; the latency of each call in nanoseconds. */
  private static long[] run(Runnable op, Duration howLong) {
    long[] latencies = new long[1 << 20];
    int n = 0;
    long end = System.nanoTime() + howLong.toNanos();
    for (long now = System.nanoTime(); now < end && n < latencies.length; ) {
      op.run();
      long done = System.nanoTime();
      latencies[n++] = done - now;
      now = done;
    }
    return Arrays.copyOf(latencies, n);
  }

  private static long concurrently(Runnable op) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(THREADS);
    try {
      List<Future<long[]>> runs = new ArrayList<>();
      for (int t = 0; t < THREADS; t++) {
        runs.add(pool.submit(() -> run(op, MEASURE)));
      }
      long calls = 0;
      for (Future<long[]> r : runs) {
        calls += r.get(MEASURE.toSeconds() + 30, TimeUnit.SECONDS).length;
      }
      return calls;
    } finally {
      pool.shutdownNow();
    }
  }

  private static String summary(long[] latencies) {
    long[] sorted = latencies.clone();
    Arrays.sort(sorted);
    double mean = Arrays.stream(sorted).average().orElse(0) / 1e3;
    return String.format("%d calls, mean %.0f us, p50 %.0f us, p99 %.0f us (%.0f/s on one thread)",
        sorted.length, mean, sorted[sorted.length / 2] / 1e3, sorted[(int) (sorted.length * 0.99)] / 1e3,
        sorted.length / seconds(MEASURE));
  }

  private static double seconds(Duration d) {
    return d.toNanos() / 1e9;
  }
}
