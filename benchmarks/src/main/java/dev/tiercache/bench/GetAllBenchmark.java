package dev.tiercache.bench;

import dev.tiercache.TieredCache;
import dev.tiercache.codec.ValueCodec;
import dev.tiercache.codec.ValueCodecs;
import dev.tiercache.spi.L2Read;
import io.lettuce.core.KeyValue;
import io.lettuce.core.api.sync.RedisCommands;
import java.nio.charset.StandardCharsets;
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
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;

/**
 * Suite 3: {@code getAll} of {@value #BATCH} keys that all miss the L1 and hit the L2, one thread, against a raw
 * Lettuce MGET of the same number of keys whose values are decoded into a map of the same shape.
 *
 * <p>As in suite 2, Tiercache's L1 has {@code maximumSize(0)}; the calls cycle over {@value #BATCHES} disjoint
 * batches.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Threads(1)
public class GetAllBenchmark {

  static final int BATCH = 100;
  static final int BATCHES = 16;
  static final ValueCodec<String> CODEC = ValueCodecs.string();

  @State(Scope.Benchmark)
  public static class Servers {
    String namespace;
    Node node;
    TieredCache<String, String> cache;
    List<List<String>> batches;
    byte[][][] rawBatches;
    String[][] rawNames;
    RedisCommands<byte[], byte[]> raw;
    final Function<Set<String>, Map<String, String>> loader = keys -> {
      throw new IllegalStateException("a getAll benchmark missed the L2 on " + keys.size() + " keys");
    };
    int next;

    @Setup(Level.Trial)
    public void setUp() {
      namespace = BenchRedis.namespace("getall");
      node = new Node(namespace);
      cache = node.cache("getall", b -> b.l1(l1 -> l1.maximumSize(0)));
      raw = node.raw.sync();
      batches = new ArrayList<>();
      rawBatches = new byte[BATCHES][BATCH][];
      rawNames = new String[BATCHES][BATCH];
      Map<byte[], byte[]> rawValues = new LinkedHashMap<>();
      for (int b = 0; b < BATCHES; b++) {
        List<String> batch = new ArrayList<>();
        for (int i = 0; i < BATCH; i++) {
          String key = "user:" + (b * BATCH + i);
          String value = L2HitBenchmark.VALUE;
          batch.add(key);
          rawNames[b][i] = key;
          rawBatches[b][i] = (namespace + ":raw:" + key).getBytes(StandardCharsets.UTF_8);
          cache.put(key, value);
          rawValues.put(rawBatches[b][i], CODEC.encode(value));
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
    public void tearDown() {
      cache.close();
      BenchRedis.shared().deleteNamespace(namespace);
      node.close();
    }
  }

  @Benchmark
  public Map<String, String> tiercache_getAll(Servers s) {
    return s.cache.getAll(s.batches.get(s.next++ & (BATCHES - 1)), s.loader);
  }

  /**
   * The L2 store alone ({@code RedisTier.getAll}: one {@code MGET} of the bucket's clock, floor and {@code gmax} and
   * the entries) plus the same decode into a map.
   */
  @Benchmark
  public Map<String, String> redisTier_getAll(Servers s) throws Exception {
    String[] names = s.rawNames[s.next++ & (BATCHES - 1)];
    L2Read[] reads = s.node.tier.getAll("getall", names).get(1, TimeUnit.SECONDS);
    Map<String, String> result = new LinkedHashMap<>();
    for (int i = 0; i < names.length; i++) {
      L2Read read = reads[i];
      if (read.entry() != null && !read.entry().isAbsent()) {
        result.put(names[i], CODEC.decode(read.entry().value()));
      }
    }
    return result;
  }

  @Benchmark
  public Map<String, String> lettuce_mget(Servers s) {
    int b = s.next++ & (BATCHES - 1);
    List<KeyValue<byte[], byte[]>> values = s.raw.mget(s.rawBatches[b]);
    String[] names = s.rawNames[b];
    Map<String, String> result = new LinkedHashMap<>();
    for (int i = 0; i < values.size(); i++) {
      KeyValue<byte[], byte[]> kv = values.get(i);
      if (kv.hasValue()) {
        result.put(names[i], CODEC.decode(kv.getValue()));
      }
    }
    return result;
  }
}
