package dev.tiercache.bench;

import dev.tiercache.InvalidationPendingException;
import java.util.concurrent.ThreadLocalRandom;
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
 * Suite 4, local paths: the same Zipfian key stream as suite 1 ({@value #SIZE} keys, local caches of the same
 * size), 2 threads, against Tiercache, Redisson's RLocalCachedMap and JetCache's two-level cache, each as one
 * instance with a second instance of the same library on the same Redis so cross-node invalidation has a listener.
 *
 * <p>{@code read}: every key prepopulated, read only; every read is a local hit. {@code mixed}: of every 8
 * operations, 6 read-throughs (the loader returns the value when a key is missing), 1 write and 1 invalidation of
 * the key (which each library sends to the other instance). Each setup first proves that the second instance drops
 * its local copy when the first writes ({@link Peers#verifyCrossNode}).
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Threads(2)
public class PeerL1Benchmark {

  static final int SIZE = 1 << 14;
  static final int DRAWS = 1 << 20;
  static final int MASK = DRAWS - 1;
  static final String VALUE = "v".repeat(L2HitBenchmark.VALUE_BYTES);
  static final String[] KEYS = keys();
  static final String[] DRAWN = drawn();

  private static String[] keys() {
    String[] keys = new String[SIZE];
    for (int i = 0; i < SIZE; i++) {
      keys[i] = "user:" + i;
    }
    return keys;
  }

  private static String[] drawn() {
    int[] indices = Zipf.indices(SIZE, DRAWS, Zipf.THETA, L1HitBenchmark.SEED);
    String[] drawn = new String[DRAWS];
    for (int i = 0; i < DRAWS; i++) {
      drawn[i] = KEYS[indices[i]];
    }
    return drawn;
  }

  @State(Scope.Thread)
  public static class Cursor {
    int index = ThreadLocalRandom.current().nextInt(DRAWS);
    int op;

    String next() {
      return DRAWN[index++ & MASK];
    }

    /** 0-5 read, 6 write, 7 invalidate. */
    int kind() {
      return op++ & 7;
    }
  }

  static final Function<String, String> LOADER = k -> VALUE;

  @State(Scope.Benchmark)
  public static class TiercacheState extends PendingCount.ByIteration {
    String namespace;
    Peers.TiercacheNode node;
    Peers.TiercacheNode other;

    @Setup(Level.Trial)
    public void setUp() {
      namespace = BenchRedis.namespace("peers");
      node = new Peers.TiercacheNode(namespace, "peers", SIZE);
      other = new Peers.TiercacheNode(namespace, "peers", SIZE);
      Peers.verifyCrossNode("Tiercache", () -> other.cache.get("cross-node-probe", k -> null),
          v -> PendingCount.putUntilStored(node.cache, "cross-node-probe", v));
      for (String key : KEYS) {
        PendingCount.putUntilStored(node.cache, key, VALUE);
      }
    }

    @TearDown(Level.Trial)
    public void tearDown(BenchmarkParams params) {
      close();
      PendingCount.trialEnds(params);
    }

    void close() {
      other.close();
      node.close();
      BenchRedis.shared().deleteNamespace(namespace);
    }
  }

  @State(Scope.Benchmark)
  public static class RedissonState {
    String namespace;
    Peers.RedissonNode node;
    Peers.RedissonNode other;

    @Setup(Level.Trial)
    public void setUp() {
      namespace = BenchRedis.namespace("peers");
      node = new Peers.RedissonNode(namespace, "peers", SIZE);
      other = new Peers.RedissonNode(namespace, "peers", SIZE);
      Peers.verifyCrossNode("Redisson", () -> other.map.get("cross-node-probe"),
          v -> node.map.fastPut("cross-node-probe", v));
      for (String key : KEYS) {
        node.map.fastPut(key, VALUE);
      }
      for (String key : KEYS) {
        node.map.get(key);
      }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
      other.close();
      node.close();
      BenchRedis.shared().deleteNamespace(namespace);
    }
  }

  @State(Scope.Benchmark)
  public static class JetCacheState {
    String namespace;
    Peers.JetCacheNode node;
    Peers.JetCacheNode other;

    @Setup(Level.Trial)
    public void setUp() {
      namespace = BenchRedis.namespace("peers");
      node = new Peers.JetCacheNode(namespace, "peers", SIZE);
      other = new Peers.JetCacheNode(namespace, "peers", SIZE);
      Peers.verifyCrossNode("JetCache", () -> other.cache.get("cross-node-probe"),
          v -> node.cache.put("cross-node-probe", v));
      for (String key : KEYS) {
        node.cache.put(key, VALUE);
      }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
      other.close();
      node.close();
      BenchRedis.shared().deleteNamespace(namespace);
    }
  }

  // ---- local hits ----

  @Benchmark
  public String tiercache_read(TiercacheState s, Cursor c) {
    return s.node.cache.getIfPresent(c.next());
  }

  @Benchmark
  public String redisson_read(RedissonState s, Cursor c) {
    return s.node.map.get(c.next());
  }

  @Benchmark
  public String jetcache_read(JetCacheState s, Cursor c) {
    return s.node.cache.get(c.next());
  }

  // ---- mixed: 6 read-through, 1 write, 1 invalidation ----

  /**
   * A write or invalidation that Redis did not take in time was applied here and is retried by the cache: counted,
   * and the next read loads the key again, as any caller that only wants the cache to catch up does.
   */
  @Benchmark
  public String tiercache_mixed(TiercacheState s, Cursor c) {
    String key = c.next();
    try {
      switch (c.kind()) {
        case 6:
          s.node.cache.put(key, VALUE);
          return VALUE;
        case 7:
          s.node.cache.invalidateKey(key);
          return null;
        default:
          return s.node.cache.get(key, LOADER);
      }
    } catch (InvalidationPendingException e) {
      PendingCount.count();
      return null;
    }
  }

  @Benchmark
  public String redisson_mixed(RedissonState s, Cursor c) {
    String key = c.next();
    switch (c.kind()) {
      case 6:
        s.node.map.fastPut(key, VALUE);
        return VALUE;
      case 7:
        s.node.map.fastRemove(key);
        return null;
      default:
        String value = s.node.map.get(key);
        if (value == null) {
          value = LOADER.apply(key);
          s.node.map.fastPutIfAbsent(key, value);
        }
        return value;
    }
  }

  @Benchmark
  public String jetcache_mixed(JetCacheState s, Cursor c) {
    String key = c.next();
    switch (c.kind()) {
      case 6:
        s.node.cache.put(key, VALUE);
        return VALUE;
      case 7:
        s.node.cache.remove(key);
        return null;
      default:
        return s.node.cache.computeIfAbsent(key, LOADER);
    }
  }
}
