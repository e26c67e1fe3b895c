package dev.tiercache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * A load's fills and the L1's upkeep where user code runs around them: a joined reader's callbacks that use caches on
 * the loading thread or run long there (completing a flight runs them synchronously, and they must not hold the L1's
 * upkeep back for as long as they take), a bulk install whose weigher fails midway, and exact eviction counts under
 * concurrent loads.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class LoadUpkeepEdgesTest {

  private static final String THREAD_NAME = "load-upkeep";

  /** Daemon threads to load and join on, never shut down (idle ones end after a minute). */
  private static final ExecutorService THREADS = Executors.newCachedThreadPool(r -> {
    Thread thread = new Thread(r, THREAD_NAME);
    thread.setDaemon(true);
    return thread;
  });

  private static double evictions(MeterRegistry registry) {
    return registry.get("cache.evictions").counter().count();
  }

  private static double coalesced(MeterRegistry registry) {
    return registry.get("cache.stampede.coalesced").counter().count();
  }

  private static TieredCache<String, String> cache(String name, SimpleMeterRegistry registry, long maximumSize) {
    return TieredCache.<String, String>builder(name)
        .keyCodec(k -> k)
        .l1(l1 -> l1.maximumSize(maximumSize))
        .meterRegistry(registry)
        .build();
  }

  /**
   * A joined getAsync reader's callback, run on the loading thread, loads a key of the same cache (a nested load),
   * reads the loaded key again, puts into and loads from another cache, and invalidates: each does what it does
   * anywhere, and both caches end within their bounds with exact eviction counts.
   */
  @Test
  void aCallbackOnTheLoadingThreadUsesTheSameAndAnotherCache() throws Exception {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    SimpleMeterRegistry otherRegistry = new SimpleMeterRegistry();
    try (TieredCache<String, String> cache = TieredCache.<String, String>builder("callback-same")
            .keyCodec(k -> k).l1(l1 -> l1.maximumSize(3)).meterRegistry(registry).build();
        TieredCache<String, String> other = TieredCache.<String, String>builder("callback-other")
            .keyCodec(k -> k).l1(l1 -> l1.maximumSize(1)).meterRegistry(otherRegistry).build()) {
      cache.put("p", "v");
      CountDownLatch started = new CountDownLatch(1);
      CountDownLatch release = new CountDownLatch(1);
      AtomicInteger loads = new AtomicInteger();
      CompletableFuture<String> loader = CompletableFuture.supplyAsync(() -> cache.get("x", k -> {
        loads.incrementAndGet();
        started.countDown();
        Rows.await(release);
        return "loaded";
      }), THREADS);
      assertThat(started.await(30, TimeUnit.SECONDS)).isTrue();
      CompletableFuture<String> joined = cache.getAsync("x", Tags.empty(), k -> "a second load");
      CompletableFuture<List<String>> used = joined.thenApply(v -> {
        List<String> seen = new ArrayList<>();
        seen.add(Thread.currentThread().getName());
        seen.add(cache.get("x", k -> "reloaded"));
        seen.add(cache.get("y", k -> "nested"));
        assertThatThrownBy(() -> cache.get("z", k -> cache.get("z", k2 -> "inner")))
            .isInstanceOf(IllegalStateException.class);
        other.put("o1", "v");
        seen.add(other.get("o2", k -> "other"));
        cache.invalidate(Invalidation.key("p"));
        seen.add(cache.getIfPresent("p"));
        return seen;
      });
      release.countDown();
      assertThat(loader.get(30, TimeUnit.SECONDS)).isEqualTo("loaded");
      assertThat(used.get(30, TimeUnit.SECONDS))
          .containsExactly(THREAD_NAME, "loaded", "nested", "other", null);
      assertThat(loads.get()).isEqualTo(1);
      // p (invalidated), x, y in a size-3 L1; z failed. o1, o2 in a size-1 L1.
      await().atMost(Duration.ofSeconds(10)).until(() -> cache.estimatedL1Size() <= 3 && other.estimatedL1Size() <= 1);
      assertThat(evictions(registry)).isEqualTo(0.0);
      assertThat(cache.estimatedL1Size()).isEqualTo(2);
      assertThat(evictions(otherRegistry)).isEqualTo(1.0);
    }
  }

  /**
   * A bulk load whose install fails midway (the weigher throws for the third key): the keys before it are loaded and
   * installed, the getAll fails with the weigher's exception, the keys from it on are not installed and load again,
   * and the upkeep deferred meanwhile still ran (the L1 is back within its weight, one eviction).
   */
  @Test
  void aBulkInstallFailingMidwayFailsTheRestAndStillRunsTheUpkeep() {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    IllegalStateException boom = new IllegalStateException("weigher");
    try (TieredCache<String, String> cache = TieredCache.<String, String>builder("bulk-midway")
        .keyCodec(k -> k)
        .l1(l1 -> l1.<String>maximumWeight(2, (k, v) -> {
          if (v.equals("bad")) {
            throw boom;
          }
          return 1;
        }))
        .meterRegistry(registry)
        .build()) {
      cache.put("z", "v");
      Map<String, String> loaded = new java.util.LinkedHashMap<>();
      loaded.put("a", "1");
      loaded.put("b", "1");
      loaded.put("c", "bad");
      loaded.put("d", "1");
      assertThatThrownBy(() -> cache.getAll(List.of("a", "b", "c", "d"), keys -> loaded)).isSameAs(boom);
      await().atMost(Duration.ofSeconds(10)).until(() -> cache.estimatedL1Size() <= 2);
      assertThat(evictions(registry)).isEqualTo(1.0);
      assertThat(cache.get("d", k -> "again")).isEqualTo("again");
      assertThat(cache.get("c", k -> "fine")).isEqualTo("fine");
    }
  }

  /**
   * Threads load distinct keys at once (single and bulk loads), with and without a TTL: the L1 ends within its bound,
   * with exactly one eviction per key beyond it.
   */
  @ParameterizedTest
  @CsvSource({
    "1,0,false", "2,0,false", "8,0,false", "1,1,false", "2,1,false", "8,1,false", "1,16,false", "2,16,false",
    "8,16,false", "1,0,true", "2,0,true", "8,0,true", "1,1,true", "2,1,true", "8,1,true", "1,16,true",
    "2,16,true", "8,16,true"
  })
  void concurrentLoadsEvictExactly(int threads, long maximumSize, boolean ttl) throws Exception {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    long[] now = {1};
    try (TieredCache<String, String> cache = TieredCache.<String, String>builder("exact-" + threads + "-" + maximumSize)
        .keyCodec(k -> k)
        .l1(l1 -> {
          l1.maximumSize(maximumSize);
          if (ttl) {
            l1.expireAfterWrite(Duration.ofMinutes(1));
          }
        })
        .ticker(() -> now[0])
        .meterRegistry(registry)
        .build()) {
      int perThread = 200;
      CyclicBarrier barrier = new CyclicBarrier(threads);
      List<CompletableFuture<Void>> all = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        int thread = t;
        all.add(CompletableFuture.runAsync(() -> {
          try {
            barrier.await(30, TimeUnit.SECONDS);
          } catch (Exception e) {
            throw new IllegalStateException(e);
          }
          for (int i = 0; i < perThread; i += 2) {
            String single = "t" + thread + "-" + i;
            assertThat(cache.get(single, k -> "v")).isEqualTo("v");
            String bulk = "t" + thread + "-" + (i + 1);
            assertThat(cache.getAll(List.of(bulk), keys -> Map.of(bulk, "v"))).containsEntry(bulk, "v");
          }
        }, THREADS));
      }
      CompletableFuture.allOf(all.toArray(new CompletableFuture<?>[0])).get(60, TimeUnit.SECONDS);
      long total = (long) threads * perThread;
      // A read prompts a drain Caffeine left required: with a custom executor it does not reschedule one by itself.
      await().atMost(Duration.ofSeconds(10)).until(() -> {
        cache.getIfPresent("absent");
        return cache.estimatedL1Size() <= maximumSize;
      });
      assertThat(cache.estimatedL1Size()).isEqualTo(maximumSize);
      // With maximumSize(0) no load installs anything, so nothing is evicted.
      assertThat(evictions(registry)).isEqualTo(maximumSize == 0 ? 0.0 : (double) (total - maximumSize));
    }
  }

  /**
   * A reader joins a load with getAsync and registers a callback that runs long (here: until the test lets it go). The
   * callback runs on the loading thread when the load completes its flight. Meanwhile another thread puts 20 keys into
   * the size-1 L1: its upkeep must evict them down to the bound, as it does when no callback runs.
   */
  @Test
  void aJoinedReadersLongCallbackDoesNotHoldTheCachesEvictions() throws Exception {
    singleOrBulk(false);
  }

  /** As above, the reader joining a key of a bulk load. */
  @Test
  void aJoinedReadersLongCallbackDoesNotHoldTheCachesEvictionsAfterABulkLoad() throws Exception {
    singleOrBulk(true);
  }

  private static void singleOrBulk(boolean bulk) throws Exception {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    try (TieredCache<String, String> cache = cache("callback-upkeep-" + bulk, registry, 1)) {
      CountDownLatch started = new CountDownLatch(1);
      CountDownLatch release = new CountDownLatch(1);
      CountDownLatch inCallback = new CountDownLatch(1);
      CountDownLatch releaseCallback = new CountDownLatch(1);
      AtomicReference<Thread> callbackThread = new AtomicReference<>();
      CompletableFuture<String> loader = CompletableFuture.supplyAsync(() -> bulk
          ? cache.getAll(List.of("x"), keys -> {
            started.countDown();
            Rows.await(release);
            return Map.of("x", "loaded");
          }).get("x")
          : cache.get("x", k -> {
            started.countDown();
            Rows.await(release);
            return "loaded";
          }), THREADS);
      Thread loaderThread;
      try {
        assertThat(started.await(30, TimeUnit.SECONDS)).isTrue();
        CompletableFuture<String> joined = cache.getAsync("x", Tags.empty(), k -> "a second load");
        assertThat(coalesced(registry)).isEqualTo(1.0);
        CompletableFuture<String> slow = joined.thenApply(v -> {
          callbackThread.set(Thread.currentThread());
          inCallback.countDown();
          Rows.await(releaseCallback);
          return v;
        });
        release.countDown();
        assertThat(inCallback.await(30, TimeUnit.SECONDS)).as("the callback runs").isTrue();
        loaderThread = callbackThread.get();
        // The callback runs (and waits) on the loading thread: the completion is synchronous.
        assertThat(loaderThread.getName()).isEqualTo(THREAD_NAME);
        for (int i = 0; i < 20; i++) {
          cache.put("p" + i, "v");
        }
        await().atMost(Duration.ofSeconds(10))
            .untilAsserted(() -> {
              // A miss prompts a drain Caffeine left required: with a custom executor it does not reschedule one itself.
              cache.getIfPresent("absent");
              assertThat(cache.estimatedL1Size()).as("the L1 within its bound").isLessThanOrEqualTo(1);
            });
        assertThat(evictions(registry)).isEqualTo(20.0);
        releaseCallback.countDown();
        assertThat(slow.get(30, TimeUnit.SECONDS)).isEqualTo("loaded");
      } finally {
        release.countDown();
        releaseCallback.countDown();
      }
      assertThat(loader.get(30, TimeUnit.SECONDS)).isEqualTo("loaded");
      await().atMost(Duration.ofSeconds(10)).until(() -> {
        cache.getIfPresent("absent");
        return cache.estimatedL1Size() <= 1;
      });
      assertThat(evictions(registry)).isEqualTo(20.0);
    }
  }
}
