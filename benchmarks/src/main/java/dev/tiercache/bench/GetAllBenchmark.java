package dev.tiercache.bench;

import dev.tiercache.TieredCache;
import dev.tiercache.codec.ValueCodec;
import dev.tiercache.codec.ValueCodecs;
import dev.tiercache.spi.L2Read;
import io.lettuce.core.KeyValue;
import io.lettuce.core.api.sync.RedisCommands;
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
    /** Per batch: the very keys the tier's MGET reads (the bucket's clock, floor and gmax, then the entries). */
    byte[][][] tierKeys;
    /** Where a stored entry's value starts: the format's header and codec id before it. */
    int payloadOffset;
    final Function<Set<String>, Map<String, String>> loader = keys -> {
      throw new IllegalStateException("a getAll benchmark missed the L2 on " + keys.size() + " keys");
    };
    int next;

    @Setup(Level.Trial)
    public void setUp() {
      namespace = BenchRedis.namespace("getall");
      node = new Node(namespace);
      cache = node.cache("getall", b -> b.l1(l1 -> l1.maximumSize(0)));
      // The entries are written by a second instance of the cache with a long L2 timeout: on a busy machine a put
      // past the default 250 ms throws, and the trial failed before measuring anything.
      TieredCache<String, String> writer =
          node.cache("getall", b -> b.l1(l1 -> l1.maximumSize(0)).l2Timeout(Duration.ofSeconds(10)));
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
          PendingCount.putUntilStored(writer, key, value);
          rawValues.put(rawBatches[b][i], CODEC.encode(value));
        }
        batches.add(List.copyOf(batch));
      }
      raw.mset(rawValues);
      writer.close();
      Map<String, String> check = cache.getAll(batches.get(0), loader);
      if (check.size() != BATCH) {
        throw new IllegalStateException("getAll found " + check.size() + " of " + BATCH + " keys");
      }
      tierKeys = new byte[BATCHES][][];
      String base = namespace + ":{getall}:";
      for (int b = 0; b < BATCHES; b++) {
        tierKeys[b] = new byte[3 + BATCH][];
        tierKeys[b][0] = (base + "m:clock").getBytes(StandardCharsets.UTF_8);
        tierKeys[b][1] = (base + "m:floor").getBytes(StandardCharsets.UTF_8);
        tierKeys[b][2] = (base + "m:gmax").getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i < BATCH; i++) {
          tierKeys[b][3 + i] = (base + "k:" + rawNames[b][i]).getBytes(StandardCharsets.UTF_8);
        }
      }
      List<KeyValue<byte[], byte[]>> stored = raw.mget(tierKeys[0]);
      payloadOffset = stored.get(3).getValue().length - CODEC.encode(L2HitBenchmark.VALUE).length;
      if (stored.stream().filter(KeyValue::hasValue).count() != 3 + BATCH || payloadOffset <= 0) {
        throw new IllegalStateException("the tier's keys are not where lettuce_mgetTierBytes looks for them");
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

  /**
   * Not a target: a raw MGET of exactly the keys and bytes the tier's MGET reads (the bucket's clock, floor and
   * {@code gmax}, then the entries, each a header, the codec id and the value), decoding each value with the string
   * codec's own strict decoder, into the same map. It splits the gap to {@link #lettuce_mget} into what the entry
   * format puts on the wire (34 bytes per 128-byte value here, which takes a 100-value reply past Redis's 16 KB
   * reply buffer) and what the tier and the cache do on top of it.
   */
  @Benchmark
  public Map<String, String> lettuce_mgetTierBytes(Servers s) {
    int b = s.next++ & (BATCHES - 1);
    List<KeyValue<byte[], byte[]>> values = s.raw.mget(s.tierKeys[b]);
    String[] names = s.rawNames[b];
    Map<String, String> result = new LinkedHashMap<>();
    for (int i = 3; i < values.size(); i++) {
      KeyValue<byte[], byte[]> kv = values.get(i);
      if (kv.hasValue()) {
        byte[] stored = kv.getValue();
        result.put(names[i - 3], strictUtf8(stored, s.payloadOffset, stored.length - s.payloadOffset));
      }
    }
    return result;
  }

  /**
   * What {@code ValueCodecs.string()} does to decode well-formed text, on a slice: the JDK's decoder, whose result
   * holds U+FFFD only where the bytes were malformed (the codec then decodes again strictly, to refuse them).
   */
  private static String strictUtf8(byte[] bytes, int offset, int length) {
    String value = new String(bytes, offset, length, StandardCharsets.UTF_8);
    if (value.indexOf('\uFFFD') >= 0) {
      throw new IllegalStateException("the benchmark's values are well-formed UTF-8");
    }
    return value;
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
