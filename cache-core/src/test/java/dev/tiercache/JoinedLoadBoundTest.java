package dev.tiercache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.tiercache.codec.ValueCodecs;
import dev.tiercache.testkit.InMemoryL2Store;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A load that other readers joined, and the L1's bound: whatever the common pool is doing (busy with user tasks, or,
 * with the default executor on two cores, running a joined getAsync reader's long callback), the L1 keeps evicting,
 * and with every load joined the eviction count is exact.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class JoinedLoadBoundTest {

  private static final ExecutorService THREADS = Executors.newCachedThreadPool(r -> {
    Thread thread = new Thread(r, "joined-bound");
    thread.setDaemon(true);
    return thread;
  });

  @AfterAll
  static void stop() {
    THREADS.shutdownNow();
  }

  private static double evictions(SimpleMeterRegistry registry) {
    return registry.get("cache.evictions").counter().count();
  }

  private static double coalesced(SimpleMeterRegistry registry) {
    return registry.get("cache.stampede.coalesced").counter().count();
  }

  /**
   * Occupies {@code workers} common-pool workers until {@code release} (bounded): the pool is busy with user tasks.
   *
   * @return a latch that opens when they all run
   */
  private static CountDownLatch occupyCommonPool(int workers, CountDownLatch release) {
    CountDownLatch running = new CountDownLatch(workers);
    for (int i = 0; i < workers; i++) {
      ForkJoinPool.commonPool().execute(() -> {
        running.countDown();
        Rows.await(release);
      });
    }
    return running;
  }

  private static TieredCache<String, String> withL2(String name, SimpleMeterRegistry registry, Executor executor) {
    TieredCacheBuilder<String, String> builder = TieredCache.<String, String>builder(name)
        .keyCodec(k -> k)
        .l1(l1 -> l1.maximumSize(1))
        .l2(new InMemoryL2Store())
        .valueCodec(ValueCodecs.string())
        .meterRegistry(registry);
    if (executor != null) {
      builder.executor(executor);
    }
    return builder.build();
  }

  /** Loads "x" on one thread with a second reader joined, and returns when both got the value. */
  private static void joinedLoad(TieredCache<String, String> cache, SimpleMeterRegistry registry) throws Exception {
    CountDownLatch started = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    CompletableFuture<String> loader = CompletableFuture.supplyAsync(() -> cache.get("x", k -> {
      started.countDown();
      Rows.await(release);
      return "loaded";
    }), THREADS);
    try {
      assertThat(started.await(30, TimeUnit.SECONDS)).isTrue();
      CompletableFuture<String> joined =
          CompletableFuture.supplyAsync(() -> cache.get("x", k -> "a second load"), THREADS);
      await().atMost(Duration.ofSeconds(30)).until(() -> coalesced(registry) == 1);
      release.countDown();
      assertThat(joined.get(30, TimeUnit.SECONDS)).isEqualTo("loaded");
      assertThat(loader.get(30, TimeUnit.SECONDS)).isEqualTo("loaded");
    } finally {
      release.countDown();
    }
  }

  /** Puts 20 keys, and expects the L1 back within its bound of 1 within 5 s, prompted by read misses. */
  private static void putsStayWithinBound(TieredCache<String, String> cache, SimpleMeterRegistry registry) {
    for (int i = 0; i < 20; i++) {
      cache.put("p" + i, "v");
    }
    await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
      cache.getIfPresent("absent");
      assertThat(cache.estimatedL1Size()).as("the L1 within its bound of 1").isLessThanOrEqualTo(1);
    });
    assertThat(evictions(registry)).isEqualTo(20.0);
  }

  /**
   * The common pool is busy with user tasks (blocked for the test's duration). A load that a second reader joined
   * fills the L1; then 20 puts. The fill and the puts each run the upkeep inline (an L2, no expiry), so the L1 stays at
   * its bound of 1; a fill whose drain waited in the pool would leave it there, and then no put would drain.
   */
  @Test
  void aJoinedLoadWhileTheCommonPoolIsBusyLeavesTheL1WithinItsBound() throws Exception {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    CountDownLatch releasePool = new CountDownLatch(1);
    try (TieredCache<String, String> cache = withL2("joined-busy-pool", registry, THREADS)) {
      CountDownLatch running = occupyCommonPool(ForkJoinPool.getCommonPoolParallelism(), releasePool);
      assertThat(running.await(30, TimeUnit.SECONDS)).as("the common pool is busy").isTrue();
      try {
        joinedLoad(cache, registry);
        putsStayWithinBound(cache, registry);
      } finally {
        releasePool.countDown();
      }
    } finally {
      releasePool.countDown();
    }
  }

  /**
   * As above, the joined load followed by 20 loads of other keys that nobody joins: each of their fills runs the
   * upkeep on its own thread, so the L1 stays within its bound.
   */
  @Test
  void aJoinedLoadWhileTheCommonPoolIsBusyLeavesLaterFillsTheirUpkeep() throws Exception {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    CountDownLatch releasePool = new CountDownLatch(1);
    try (TieredCache<String, String> cache = withL2("joined-busy-pool-fills", registry, THREADS)) {
      CountDownLatch running = occupyCommonPool(ForkJoinPool.getCommonPoolParallelism(), releasePool);
      assertThat(running.await(30, TimeUnit.SECONDS)).as("the common pool is busy").isTrue();
      try {
        joinedLoad(cache, registry);
        for (int i = 0; i < 20; i++) {
          assertThat(cache.get("f" + i, k -> "v")).isEqualTo("v");
        }
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
          cache.getIfPresent("absent");
          assertThat(cache.estimatedL1Size()).as("the L1 within its bound of 1").isLessThanOrEqualTo(1);
        });
        assertThat(evictions(registry)).isEqualTo(20.0);
      } finally {
        releasePool.countDown();
      }
    } finally {
      releasePool.countDown();
    }
  }

  /**
   * The same with nothing but the cache's own defaults on two cores (common-pool parallelism 1; on more cores the
   * other workers are occupied to make it so): a getAsync load runs on the common pool, a getAsync reader joined it
   * and its callback runs long on the loading thread, which is the pool's only worker. A fill's drain queued behind
   * that callback would stop the L1 evicting for as long as the callback runs.
   */
  @Test
  void aJoinedAsyncLoadOnTheDefaultExecutorKeepsEvictingWhileACallbackRuns() throws Exception {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    CountDownLatch releasePool = new CountDownLatch(1);
    try (TieredCache<String, String> cache = withL2("joined-default-executor", registry, null)) {
      int others = ForkJoinPool.getCommonPoolParallelism() - 1;
      if (others > 0) {
        assertThat(occupyCommonPool(others, releasePool).await(30, TimeUnit.SECONDS)).isTrue();
      }
      CountDownLatch started = new CountDownLatch(1);
      CountDownLatch release = new CountDownLatch(1);
      CountDownLatch inCallback = new CountDownLatch(1);
      CountDownLatch releaseCallback = new CountDownLatch(1);
      CompletableFuture<String> loader = cache.getAsync("x", Tags.empty(), k -> {
        started.countDown();
        Rows.await(release);
        return "loaded";
      });
      try {
        assertThat(started.await(30, TimeUnit.SECONDS)).isTrue();
        CompletableFuture<String> joined = cache.getAsync("x", Tags.empty(), k -> "a second load");
        assertThat(coalesced(registry)).isEqualTo(1.0);
        CompletableFuture<String> slow = joined.thenApply(v -> {
          inCallback.countDown();
          Rows.await(releaseCallback);
          return v;
        });
        release.countDown();
        assertThat(inCallback.await(30, TimeUnit.SECONDS)).as("the callback runs").isTrue();
        putsStayWithinBound(cache, registry);
        releaseCallback.countDown();
        assertThat(slow.get(30, TimeUnit.SECONDS)).isEqualTo("loaded");
        assertThat(loader.get(30, TimeUnit.SECONDS)).isEqualTo("loaded");
      } finally {
        release.countDown();
        releaseCallback.countDown();
        releasePool.countDown();
      }
    } finally {
      releasePool.countDown();
    }
  }

  /**
   * Exact eviction counts when every load is joined (the loader waits until the
   * other readers are counted as coalesced), each key is loaded once, so evictions are exactly keys - bound.
   */
  @Test
  void joinedLoadsEvictExactly() throws Exception {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    long[] now = {1};
    int readers = 3;
    int keys = 150;
    AtomicInteger loaderCalls = new AtomicInteger();
    try (TieredCache<String, String> cache = TieredCache.<String, String>builder("joined-exact")
        .keyCodec(k -> k)
        .l1(l1 -> l1.maximumSize(4).expireAfterWrite(Duration.ofMinutes(1)))
        .ticker(() -> now[0])
        .meterRegistry(registry)
        .build()) {
      for (int i = 0; i < keys; i++) {
        String key = "k" + i;
        double before = coalesced(registry);
        CyclicBarrier barrier = new CyclicBarrier(readers);
        List<CompletableFuture<String>> all = new ArrayList<>();
        for (int r = 0; r < readers; r++) {
          boolean bulk = (r + i) % 2 == 0;
          all.add(CompletableFuture.supplyAsync(() -> {
            try {
              barrier.await(30, TimeUnit.SECONDS);
            } catch (Exception e) {
              throw new IllegalStateException(e);
            }
            java.util.function.Supplier<String> load = () -> {
              loaderCalls.incrementAndGet();
              // Bounded: until the other readers joined.
              await().atMost(Duration.ofSeconds(10)).until(() -> coalesced(registry) - before >= readers - 1);
              return "v";
            };
            return bulk
                ? cache.getAll(List.of(key), ks -> Map.of(key, load.get())).get(key)
                : cache.get(key, k -> load.get());
          }, THREADS));
        }
        for (CompletableFuture<String> f : all) {
          assertThat(f.get(30, TimeUnit.SECONDS)).isEqualTo("v");
        }
      }
      assertThat(loaderCalls.get()).as("one load per key").isEqualTo(keys);
      await().atMost(Duration.ofSeconds(10)).until(() -> {
        cache.getIfPresent("absent");
        return cache.estimatedL1Size() <= 4;
      });
      assertThat(cache.estimatedL1Size()).isEqualTo(4);
      assertThat(evictions(registry)).isEqualTo((double) (keys - 4));
    }
  }
}
