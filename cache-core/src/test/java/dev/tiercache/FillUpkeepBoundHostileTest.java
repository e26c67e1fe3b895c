package dev.tiercache;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tiercache.testkit.InMemoryL2Store;
import dev.tiercache.testkit.TestCodec;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Hostile loads on a read's deferred fill upkeep ({@link L1Upkeep#fillAfterLock}): 1, 2 and 8 real filling threads,
 * bounds of 0, 1 and 16, with and without an L1 TTL (on a ticker every fill moves, so entries expire among the fills).
 * Every entry installed and no longer held was evicted or expired exactly once, and after the next fill the bound
 * holds: a deferred drain that never ran would leave Caffeine scheduling no other, and the L1 past its bound.
 *
 * <p>With the common pool held, only installs run (white-box, on the L1 tier): a read's miss, like a hit, hands a
 * drain Caffeine wants to the pool (Caffeine's getIfPresent schedules one on a miss while a drain is required), and
 * while it waits in a held pool Caffeine schedules no other. Through the cache's reads, the pool runs.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class FillUpkeepBoundHostileTest {

  /**
   * How a thread fills: a load of a new key, a bulk load of one, the L2's copy; or, over 8 keys of its own, a load
   * whenever the key is missing (expired, or evicted), with a hit first (reused keys: an install often lands on an
   * expired node, which it removes first with raw values, L1Tier#put).
   */
  enum Fill { LOAD, GET_ALL, L2_FILL, REUSE }

  private static final int PER = 2_000;

  /** Counts installs and evictions. */
  static final class Counting implements CacheMetrics {
    final AtomicLong puts = new AtomicLong();
    final AtomicLong evictions = new AtomicLong();

    @Override
    public void put(Tier tier) {
      puts.incrementAndGet();
    }

    @Override
    public void eviction() {
      evictions.incrementAndGet();
    }
  }

  @ParameterizedTest(name = "ttl {0}")
  @ValueSource(booleans = {false, true})
  void onlyFillsWithThePoolHeldKeepTheBoundAndEvictExactly(boolean ttl) throws Exception {
    for (int max : new int[] {0, 1, 16}) {
      for (int threads : new int[] {1, 2, 8}) {
        String what = "ttl " + ttl + " max " + max + " threads " + threads;
        AtomicLong now = new AtomicLong(1_000_000);
        TieredCacheBuilder<String, String> settings = TieredCache.<String, String>builder("fills-held")
            .keyCodec(k -> k).ticker(now::get)
            .l1(l1 -> {
              l1.maximumSize(max);
              if (ttl) {
                l1.expireAfterWrite(Duration.ofMinutes(1));
              }
            });
        Counting metrics = new Counting();
        InvalidationLog log = new InvalidationLog(64);
        L1Tier<String> l1 = new L1Tier<>(settings, log, metrics);
        try (HeldCommonPool pool = new HeldCommonPool()) {
          runThreads(threads, what, (id, i) -> {
            if (ttl) {
              now.addAndGet(TimeUnit.SECONDS.toNanos(6));
            }
            // An L1 of maximum size 0 keeps nothing: it installs nothing.
            assertThat(l1.install(id + ":" + i, "v" + i, Tags.empty(), log.stamp())).isEqualTo(max > 0);
          });
          assertThat(l1.install("probe", "p", Tags.empty(), log.stamp())).isEqualTo(max > 0);
          long size = l1.estimatedSize();
          assertThat(size).as(what).isLessThanOrEqualTo(max);
          assertThat(metrics.evictions.get()).as("%s: each entry past the bound evicted once", what)
              .isEqualTo(metrics.puts.get() - size);
          assertThat(pool.queued()).as("%s: no drain handed to the held pool", what).isZero();
        }
      }
    }
  }

  @ParameterizedTest(name = "ttl {0}")
  @ValueSource(booleans = {false, true})
  void readsThatFillKeepTheBoundAndEvictExactly(boolean ttl) throws Exception {
    for (Fill fill : Fill.values()) {
      for (int max : new int[] {0, 1, 16}) {
        for (int threads : new int[] {1, 2, 8}) {
          run(fill, ttl, max, threads);
        }
      }
    }
  }

  interface Step {
    void run(int thread, int i) throws Exception;
  }

  private static void runThreads(int threads, String what, Step step) throws Exception {
    CountDownLatch start = new CountDownLatch(1);
    AtomicReference<Throwable> failure = new AtomicReference<>();
    List<Thread> fillers = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      int id = t;
      Thread f = new Thread(() -> {
        try {
          start.await();
          for (int i = 0; i < PER; i++) {
            step.run(id, i);
          }
        } catch (Throwable e) {
          failure.compareAndSet(null, e);
        }
      });
      f.start();
      fillers.add(f);
    }
    start.countDown();
    for (Thread f : fillers) {
      f.join(TimeUnit.SECONDS.toMillis(60));
      assertThat(f.isAlive()).as("filler finished (%s)", what).isFalse();
    }
    assertThat(failure.get()).as(what).isNull();
  }

  private static void run(Fill fill, boolean ttl, int max, int threads) throws Exception {
    String what = fill + " ttl " + ttl + " max " + max + " threads " + threads;
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    AtomicLong now = new AtomicLong(1_000_000);
    InMemoryL2Store store = fill == Fill.L2_FILL ? new InMemoryL2Store() : null;
    String name = "fill-hostile-" + fill + ttl + max + threads;
    try (TieredCache<String, String> cache = build(name, registry, now, ttl, max, store);
        TieredCache<String, String> writer = store == null ? null : build(name, new SimpleMeterRegistry(), now, ttl,
            max, store)) {
      if (writer != null) {
        for (int t = 0; t < threads; t++) {
          for (int i = 0; i < PER; i++) {
            writer.put(t + ":" + i, "v" + i);
          }
        }
      }
      runThreads(threads, what, (id, i) -> {
        String k = fill == Fill.REUSE ? id + ":" + (i % 8) : id + ":" + i;
        String v = fill == Fill.REUSE ? "v" : "v" + i;
        if (ttl) {
          // A tenth of the TTL per fill: entries expire among the fills.
          now.addAndGet(TimeUnit.SECONDS.toNanos(6));
        }
        String got = switch (fill) {
          case LOAD -> cache.get(k, key -> v);
          case GET_ALL -> cache.getAll(List.of(k), keys -> {
            Map<String, String> m = new HashMap<>();
            keys.forEach(key -> m.put(key, v));
            return m;
          }).get(k);
          case L2_FILL -> cache.getIfPresent(k);
          case REUSE -> {
            String hit = cache.getIfPresent(k);
            yield hit != null ? hit : cache.get(k, key -> v);
          }
        };
        assertThat(got).isEqualTo(v);
      });
      // What the reads handed to the pool has run; the next fill (and what it hands the pool) then brings the L1 to
      // its bound.
      assertThat(ForkJoinPool.commonPool().awaitQuiescence(10, TimeUnit.SECONDS)).as("pool quiet").isTrue();
      assertThat(cache.get("probe", k -> "p")).isEqualTo("p");
      // The probe's miss may hand the drain Caffeine wants to the pool (getIfPresent does while one is required): a
      // drain kept and never run would leave none scheduled, and this wait would not bring the L1 to its bound.
      assertThat(ForkJoinPool.commonPool().awaitQuiescence(10, TimeUnit.SECONDS)).as("pool quiet").isTrue();
      long size = cache.estimatedL1Size();
      assertThat(size).as(what).isLessThanOrEqualTo(max);
      long evicted = (long) registry.get("cache.evictions").tag("tier", "l1").counter().count();
      long installed = (long) registry.get("cache.puts").tag("tier", "l1").functionCounter().count();
      assertThat(evicted).as("%s: each entry past the bound evicted once", what).isEqualTo(installed - size);
    }
  }

  private static TieredCache<String, String> build(
      String name, SimpleMeterRegistry registry, AtomicLong now, boolean ttl, int max, InMemoryL2Store store) {
    TieredCacheBuilder<String, String> b = TieredCache.<String, String>builder(name)
        .keyCodec(k -> k)
        .valueCodec(TestCodec.STRING)
        .ticker(now::get)
        .l1(l1 -> {
          l1.maximumSize(max);
          if (ttl) {
            l1.expireAfterWrite(Duration.ofMinutes(1));
          }
        })
        .meterRegistry(registry);
    if (store != null) {
      b.l2(store);
    }
    return b.build();
  }
}
