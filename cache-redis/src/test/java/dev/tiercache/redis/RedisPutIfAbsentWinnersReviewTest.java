package dev.tiercache.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tiercache.Tags;
import dev.tiercache.TieredCache;
import dev.tiercache.codec.ValueCodecs;
import dev.tiercache.redis.testing.RedisExtension;
import io.lettuce.core.RedisClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Review (s14, round 4): TieredCache.putIfAbsent across instances on a real Redis (3c1067c: "across instances one
 * winner (conditional L2 write; refusal re-reads the L2)"), with and without concurrent loads of the same keys.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class RedisPutIfAbsentWinnersReviewTest {

  @RegisterExtension static final RedisExtension REDIS = RedisExtension.standalone();

  private static final int NODES = 3;
  private static final int THREADS_PER_NODE = 2;
  private static final int KEYS = 150;

  private final List<AutoCloseable> closing = new ArrayList<>();
  private final ExecutorService pool = Executors.newFixedThreadPool(NODES * THREADS_PER_NODE);

  @AfterEach
  void close() throws Exception {
    pool.shutdownNow();
    Collections.reverse(closing);
    for (AutoCloseable c : closing) {
      c.close();
    }
  }

  private TieredCache<String, String> node(String name) {
    RedisClient client = RedisClient.create(REDIS.uri());
    closing.add(() -> client.shutdown(Duration.ZERO, Duration.ofSeconds(2)));
    RedisTier tier = RedisTier.create(client);
    closing.add(tier::close);
    TieredCache<String, String> cache =
        TieredCache.<String, String>builder(name).keyCodec(k -> k).l2(tier).valueCodec(ValueCodecs.string()).build();
    closing.add(cache::close);
    return cache;
  }

  private void race(boolean withLoads) throws Exception {
    String name = "pia-winners-" + Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 1);
    List<TieredCache<String, String>> nodes = new ArrayList<>();
    for (int n = 0; n < NODES; n++) {
      nodes.add(node(name));
    }
    Map<String, ConcurrentLinkedQueue<String>> winners = new ConcurrentHashMap<>();
    Map<String, ConcurrentLinkedQueue<String>> seen = new ConcurrentHashMap<>();
    for (int i = 0; i < KEYS; i++) {
      winners.put("k" + i, new ConcurrentLinkedQueue<>());
      seen.put("k" + i, new ConcurrentLinkedQueue<>());
    }
    CyclicBarrier start = new CyclicBarrier(NODES * THREADS_PER_NODE);
    List<Future<?>> done = new ArrayList<>();
    for (int n = 0; n < NODES; n++) {
      TieredCache<String, String> cache = nodes.get(n);
      for (int t = 0; t < THREADS_PER_NODE; t++) {
        String me = "n" + n + "t" + t;
        boolean loader = withLoads && t == 1;
        done.add(pool.submit(() -> {
          start.await(10, TimeUnit.SECONDS);
          for (int i = 0; i < KEYS; i++) {
            String key = "k" + i;
            if (loader) {
              cache.get(key, k -> "load-" + me);
              continue;
            }
            String returned = cache.putIfAbsent(key, "pia-" + me, Tags.empty(), "<absent>");
            if (returned == null) {
              winners.get(key).add("pia-" + me);
            } else {
              seen.get(key).add(returned);
            }
          }
          return null;
        }));
      }
    }
    for (Future<?> f : done) {
      f.get(60, TimeUnit.SECONDS);
    }
    List<String> wrong = new ArrayList<>();
    for (int i = 0; i < KEYS; i++) {
      String key = "k" + i;
      List<String> won = List.copyOf(winners.get(key));
      if (won.size() > 1 || (!withLoads && won.size() != 1)) {
        wrong.add(key + ": stored by " + won);
        continue;
      }
      String l2 = nodes.get(0).getIfPresent(key);
      for (TieredCache<String, String> n : nodes) {
        String v = n.getIfPresent(key);
        if (v == null || !v.equals(l2)) {
          wrong.add(key + ": nodes disagree (" + l2 + " vs " + v + ")");
        }
      }
      if (won.size() == 1 && !won.get(0).equals(l2)) {
        wrong.add(key + ": winner " + won + " but present " + l2);
      }
      for (String s : seen.get(key)) {
        if (won.size() == 1 && !s.equals(won.get(0))) {
          wrong.add(key + ": a loser was told " + s + " while " + won + " stored");
        }
      }
    }
    assertThat(wrong).as("keys where putIfAbsent's one-winner guarantee broke").isEmpty();
  }

  /** Guarantee: exactly one putIfAbsent stores per key, the others return its value, and every node then holds it. */
  @Test
  void exactlyOneWinnerPerKeyAcrossInstances() throws Exception {
    race(false);
  }

  /**
   * Guarantee: with loads of the same keys racing on every node (claim 2: a refused write-back is not kept in the
   * L1), at most one putIfAbsent stores, losers see the winner's value, and the nodes agree afterwards.
   */
  @Test
  void atMostOneWinnerWithLoadsRacing() throws Exception {
    race(true);
  }
}
