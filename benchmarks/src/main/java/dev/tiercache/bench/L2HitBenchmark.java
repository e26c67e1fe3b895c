package dev.tiercache.bench;

import dev.tiercache.TieredCache;
import dev.tiercache.codec.ValueCodec;
import dev.tiercache.codec.ValueCodecs;
import dev.tiercache.spi.L2Read;
import io.lettuce.core.api.sync.RedisCommands;
import java.nio.charset.StandardCharsets;
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
import org.openjdk.jmh.infra.BenchmarkParams;

/**
 * Suite 2: the latency of an L1 miss that hits the L2, one thread, against a raw Lettuce sync GET of the same value
 * plus the same UTF-8 decode, on the same server and the same client.
 *
 * <p>Tiercache's L1 has {@code maximumSize(0)}, so it keeps nothing and every read goes to the L2; the reads cycle
 * over {@value #KEYS} keys. Both sides read {@value #VALUE_BYTES}-byte values.
 */
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Threads(1)
public class L2HitBenchmark {

  static final int KEYS = 1024;
  static final int VALUE_BYTES = 128;
  static final ValueCodec<String> CODEC = ValueCodecs.string();
  static final String VALUE = "v".repeat(VALUE_BYTES);

  @State(Scope.Benchmark)
  public static class Servers {
    String namespace;
    Node node;
    TieredCache<String, String> cache;
    String[] keys;
    byte[][] rawKeys;
    RedisCommands<byte[], byte[]> raw;
    final Function<String, String> loader = k -> {
      throw new IllegalStateException("an L2 hit benchmark missed the L2 on " + k);
    };
    int next;

    @Setup(Level.Trial)
    public void setUp() {
      namespace = BenchRedis.namespace("l2hit");
      node = new Node(namespace);
      cache = node.cache("l2hit", b -> b.l1(l1 -> l1.maximumSize(0)));
      raw = node.raw.sync();
      keys = new String[KEYS];
      rawKeys = new byte[KEYS][];
      byte[] encoded = CODEC.encode(VALUE);
      for (int i = 0; i < KEYS; i++) {
        keys[i] = "user:" + i;
        rawKeys[i] = (namespace + ":raw:user:" + i).getBytes(StandardCharsets.UTF_8);
        PendingCount.putUntilStored(cache, keys[i], VALUE);
        raw.set(rawKeys[i], encoded);
      }
    }

    @TearDown(Level.Trial)
    public void tearDown(BenchmarkParams params) {
      long l1 = cache.estimatedL1Size();
      if (l1 > 16) {
        throw new IllegalStateException("the L1 held " + l1 + " entries: reads may have hit it");
      }
      cache.close();
      BenchRedis.shared().deleteNamespace(namespace);
      node.close();
      PendingCount.trialEnds(params);
    }
  }

  @Benchmark
  public String tiercache_get(Servers s) {
    return s.cache.get(s.keys[s.next++ & (KEYS - 1)], s.loader);
  }

  @Benchmark
  public String tiercache_getIfPresent(Servers s) {
    return s.cache.getIfPresent(s.keys[s.next++ & (KEYS - 1)]);
  }

  /**
   * The L2 store alone ({@code RedisTier.get}, its Lua read script) plus the same decode: separates what the
   * script costs from what the cache adds on top of the store.
   */
  @Benchmark
  public String redisTier_get(Servers s) throws Exception {
    L2Read read = s.node.tier.get("l2hit", s.keys[s.next++ & (KEYS - 1)]).get(1, TimeUnit.SECONDS);
    return CODEC.decode(read.entry().value());
  }

  @Benchmark
  public String lettuce_get(Servers s) {
    return CODEC.decode(s.raw.get(s.rawKeys[s.next++ & (KEYS - 1)]));
  }
}
