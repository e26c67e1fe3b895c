package dev.tiercache.bench;

import dev.tiercache.TieredCache;
import dev.tiercache.codec.ValueCodec;
import dev.tiercache.codec.ValueCodecs;
import dev.tiercache.redis.RedisTier;
import dev.tiercache.redis.testing.RedisExtension;
import io.lettuce.core.KeyValue;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.cluster.api.sync.RedisAdvancedClusterCommands;
import io.lettuce.core.codec.ByteArrayCodec;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.infra.BenchmarkParams;

/**
 * Suite 8: {@code getAll} of 100 keys on a Redis Cluster of 1, 3 or 6 masters (loopback {@code redis-server}
 * processes the benchmark starts through the test fixture), against Lettuce's cluster {@code MGET} of 100 keys, which
 * splits by slot, plus the same decode into a map of the same shape. Tiercache's cache has the default 48 buckets
 * and an L1 of {@code maximumSize(0)}; calls cycle over {@value #BATCHES} disjoint batches.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Threads(1)
public class ClusterGetAllBenchmark {

  static final int BATCH = 100;
  static final int BATCHES = 16;
  static final ValueCodec<String> CODEC = ValueCodecs.string();

  @State(Scope.Benchmark)
  public static class Cluster {
    @Param({"1", "3", "6"})
    int masters;

    RedisExtension fixture;
    org.junit.jupiter.api.extension.ExtensionContext context;
    RedisClusterClient client;
    RedisTier tier;
    StatefulRedisClusterConnection<byte[], byte[]> connection;
    RedisAdvancedClusterCommands<byte[], byte[]> raw;
    TieredCache<String, String> cache;
    List<List<String>> batches;
    byte[][][] rawBatches;
    String[][] rawNames;
    final Function<Set<String>, Map<String, String>> loader = keys -> {
      throw new IllegalStateException("a getAll benchmark missed the L2 on " + keys.size() + " keys");
    };
    int next;

    @Setup(Level.Trial)
    public void setUp() {
      fixture = RedisExtension.cluster(masters);
      context = BenchRedis.context();
      fixture.beforeAll(context);
      client = RedisClusterClient.create(fixture.uris());
      client.setOptions(RedisTier.recommendedClusterClientOptions());
      tier = RedisTier.create(client);
      connection = client.connect(ByteArrayCodec.INSTANCE);
      raw = connection.sync();
      cache = TieredCache.<String, String>builder("cgetall")
          .keyCodec(k -> k)
          .valueCodec(CODEC)
          .l2(tier)
          .l1(l1 -> l1.maximumSize(0))
          .l2Timeout(Duration.ofSeconds(1))
          .build();
      batches = new ArrayList<>();
      rawBatches = new byte[BATCHES][BATCH][];
      rawNames = new String[BATCHES][BATCH];
      Map<byte[], byte[]> rawValues = new LinkedHashMap<>();
      for (int b = 0; b < BATCHES; b++) {
        List<String> batch = new ArrayList<>();
        for (int i = 0; i < BATCH; i++) {
          String key = "user:" + (b * BATCH + i);
          batch.add(key);
          rawNames[b][i] = key;
          rawBatches[b][i] = ("raw:" + key).getBytes(StandardCharsets.UTF_8);
          PendingCount.putUntilStored(cache, key, L2HitBenchmark.VALUE);
          rawValues.put(rawBatches[b][i], CODEC.encode(L2HitBenchmark.VALUE));
        }
        batches.add(List.copyOf(batch));
      }
      raw.mset(rawValues);
      Map<String, String> check = cache.getAll(batches.get(0), loader);
      if (check.size() != BATCH) {
        throw new IllegalStateException("getAll found " + check.size() + " of " + BATCH + " keys");
      }
    }

    @TearDown(Level.Trial)
    public void tearDown(BenchmarkParams params) {
      cache.close();
      tier.close();
      connection.close();
      client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
      fixture.afterAll(context);
      PendingCount.trialEnds(params);
    }
  }

  @Benchmark
  public Map<String, String> tiercache_getAll(Cluster s) {
    return s.cache.getAll(s.batches.get(s.next++ & (BATCHES - 1)), s.loader);
  }

  @Benchmark
  public Map<String, String> lettuce_mget(Cluster s) {
    int b = s.next++ & (BATCHES - 1);
    List<KeyValue<byte[], byte[]>> values = s.raw.mget(s.rawBatches[b]);
    String[] names = s.rawNames[b];
    Map<String, String> result = new LinkedHashMap<>();
    for (int i = 0; i < values.size(); i++) {
      KeyValue<byte[], byte[]> value = values.get(i);
      if (value.hasValue()) {
        result.put(names[i], CODEC.decode(value.getValue()));
      }
    }
    return result;
  }
}
