package dev.tiercache.bench;

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
 * Suite 4, remote path: a local miss that hits Redis, one thread, for Tiercache, Redisson's RLocalCachedMap and
 * JetCache's two-level cache. Each library's local cache is as small as it allows (Tiercache 0 entries, Redisson and
 * JetCache 1: Redisson reads 0 as "unbounded"), and the reads cycle over {@value #KEYS} keys, so every read goes to
 * Redis. The values are the same 128-byte strings as in suite 2.
 */
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Threads(1)
public class PeerL2Benchmark {

  static final int KEYS = 1024;
  static final String VALUE = L2HitBenchmark.VALUE;
  static final String[] NAMES = names();
  static final Function<String, String> NO_LOAD = k -> {
    throw new IllegalStateException("a remote-hit benchmark missed Redis on " + k);
  };

  private static String[] names() {
    String[] names = new String[KEYS];
    for (int i = 0; i < KEYS; i++) {
      names[i] = "user:" + i;
    }
    return names;
  }

  @State(Scope.Benchmark)
  public static class TiercacheState {
    String namespace;
    Peers.TiercacheNode node;
    int next;

    @Setup(Level.Trial)
    public void setUp() {
      namespace = BenchRedis.namespace("peers-l2");
      node = new Peers.TiercacheNode(namespace, "peers", 0);
      for (String key : NAMES) {
        PendingCount.putUntilStored(node.cache, key, VALUE);
      }
    }

    @TearDown(Level.Trial)
    public void tearDown(BenchmarkParams params) {
      node.close();
      BenchRedis.shared().deleteNamespace(namespace);
      PendingCount.trialEnds(params);
    }
  }

  @State(Scope.Benchmark)
  public static class RedissonState {
    String namespace;
    Peers.RedissonNode node;
    int next;

    @Setup(Level.Trial)
    public void setUp() {
      namespace = BenchRedis.namespace("peers-l2");
      node = new Peers.RedissonNode(namespace, "peers", 1);
      for (String key : NAMES) {
        node.map.fastPut(key, VALUE);
      }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
      node.close();
      BenchRedis.shared().deleteNamespace(namespace);
    }
  }

  @State(Scope.Benchmark)
  public static class JetCacheState {
    String namespace;
    Peers.JetCacheNode node;
    int next;

    @Setup(Level.Trial)
    public void setUp() {
      namespace = BenchRedis.namespace("peers-l2");
      node = new Peers.JetCacheNode(namespace, "peers", 1);
      for (String key : NAMES) {
        node.cache.put(key, VALUE);
      }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
      node.close();
      BenchRedis.shared().deleteNamespace(namespace);
    }
  }

  @Benchmark
  public String tiercache_get(TiercacheState s) {
    return s.node.cache.get(NAMES[s.next++ & (KEYS - 1)], NO_LOAD);
  }

  @Benchmark
  public String redisson_get(RedissonState s) {
    return s.node.map.get(NAMES[s.next++ & (KEYS - 1)]);
  }

  @Benchmark
  public String jetcache_get(JetCacheState s) {
    return s.node.cache.get(NAMES[s.next++ & (KEYS - 1)]);
  }
}
