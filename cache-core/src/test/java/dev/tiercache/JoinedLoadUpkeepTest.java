package dev.tiercache;

import static dev.tiercache.LoadThreads.THREADS;
import static dev.tiercache.LoadThreads.coalesced;
import static dev.tiercache.LoadThreads.evictions;
import static dev.tiercache.LoadThreads.joinedLoad;
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
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiConsumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A load that readers joined leaves its fills' upkeep to the library's own upkeep thread. Until a drain Caffeine
 * scheduled has run, it schedules no other (its drain status stays in progress), and neither the inline upkeep of
 * later puts and fills nor a read miss drains: if that drain waited in the common pool behind user tasks, or behind a
 * joined reader's callback on the pool's only worker, the L1 would grow past its bound (up to Caffeine's write buffer)
 * for as long. Also: a batch joined on any key, the other ways of joining, and exact eviction counts when every load is
 * joined.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class JoinedLoadUpkeepTest {

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
   * fills the L1; then 20 puts (an L2, no expiry: each runs the upkeep inline): the L1 stays at its bound of 1.
   */
  @Test
  void aJoinedLoadWhileTheCommonPoolIsBusyKeepsTheL1Evicting() throws Exception {
    afterAJoinedLoadWithTheCommonPoolBusy("busy-pool", JoinedLoadUpkeepTest::putsStayWithinBound);
  }

  /**
   * As above, the joined load followed by 20 loads of other keys that nobody joins, each of whose fills runs the
   * upkeep on its own thread: the L1 stays at its bound.
   */
  @Test
  void aJoinedLoadWhileTheCommonPoolIsBusyLeavesLaterFillsTheirUpkeep() throws Exception {
    afterAJoinedLoadWithTheCommonPoolBusy("busy-pool-fills", (cache, registry) -> {
      for (int i = 0; i < 20; i++) {
        assertThat(cache.get("f" + i, k -> "v")).isEqualTo("v");
      }
      await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
        cache.getIfPresent("absent");
        assertThat(cache.estimatedL1Size()).as("the L1 within its bound of 1").isLessThanOrEqualTo(1);
      });
      assertThat(evictions(registry)).isEqualTo(20.0);
    });
  }

  /**
   * Occupies every common-pool worker, runs a load of "x" that a second reader joins in a size-1 L1 with an L2, and
   * then {@code then}, before the pool is released.
   */
  private static void afterAJoinedLoadWithTheCommonPoolBusy(
      String name, BiConsumer<TieredCache<String, String>, SimpleMeterRegistry> then) throws Exception {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    CountDownLatch releasePool = new CountDownLatch(1);
    try (TieredCache<String, String> cache = withL2(name, registry, THREADS)) {
      CountDownLatch running = occupyCommonPool(ForkJoinPool.getCommonPoolParallelism(), releasePool);
      assertThat(running.await(30, TimeUnit.SECONDS)).as("the common pool is busy").isTrue();
      joinedLoad(cache, registry, true);
      then.accept(cache, registry);
    } finally {
      releasePool.countDown();
    }
  }

  /**
   * The same with nothing but the cache's own defaults on two cores (common-pool parallelism 1; on more cores the
   * other workers are occupied to make it so): a getAsync load runs on the common pool, a getAsync reader joined it
   * and its callback runs long on the loading thread, which is the pool's only worker. The L1 keeps evicting while
   * the callback runs: the fill's drain is not queued behind it.
   */
  @Test
  void aJoinedAsyncLoadOnTheDefaultExecutorKeepsEvictingWhileACallbackRuns() throws Exception {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    CountDownLatch releasePool = new CountDownLatch(1);
    try (TieredCache<String, String> cache = withL2("default-executor", registry, null)) {
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
   * LoadWaitersUpkeepTest's bulk case with the batch in a fixed order, the joined key last: the key installed first
   * ("other") has no reader of its own, so only the batch-wide rule (any flight joined: no install runs the upkeep on
   * the loading thread) keeps the joined reader from waiting for the backlog. LoadWaitersUpkeepTest uses Set.of, whose
   * order changes from one JVM to the next, so it checks this rule only when "other" happens to come first.
   */
  @Test
  void aJoinedReaderOfABulkLoadsLastKeyDoesNotWaitForTheFirstInstallsUpkeep() throws Exception {
    FillUpkeepStallTest.GatedEvictions registry = new FillUpkeepStallTest.GatedEvictions();
    try (TieredCache<String, String> cache = registry.expiredBacklog("bulk-order", 20_000)) {
      CountDownLatch started = new CountDownLatch(1);
      CountDownLatch release = new CountDownLatch(1);
      CompletableFuture<Map<String, String>> loader = CompletableFuture.supplyAsync(() -> cache.getAll(
          List.of("other", "fresh"),
          keys -> {
            assertThat(List.copyOf(keys)).containsExactly("other", "fresh");
            started.countDown();
            Rows.await(release);
            return Map.of("fresh", "loaded", "other", "loaded");
          }), THREADS);
      try {
        assertThat(started.await(30, TimeUnit.SECONDS)).as("the load is in flight").isTrue();
        CompletableFuture<String> joined =
            CompletableFuture.supplyAsync(() -> cache.get("fresh", k -> "a second load"), THREADS);
        await().atMost(Duration.ofSeconds(30))
            .until(() -> registry.get("cache.stampede.coalesced").counter().count() == 1);
        release.countDown();
        assertThat(registry.reached.await(30, TimeUnit.SECONDS)).as("the upkeep reached its first expiry").isTrue();
        assertThat(joined.get(10, TimeUnit.SECONDS))
            .as("the joined reader's value, while the upkeep is held")
            .isEqualTo("loaded");
      } finally {
        release.countDown();
        registry.release.countDown();
      }
      assertThat(loader.get(30, TimeUnit.SECONDS)).containsEntry("fresh", "loaded");
    }
  }

  /**
   * The other ways to join a single load while its fill's upkeep expires a backlog: a getAll joins a get's load, a
   * getAsync joins a get's load, a get joins a getAsync's load (on the cache's executor, the common pool by default).
   * Each joined reader must get the value while the upkeep is held.
   */
  @org.junit.jupiter.params.ParameterizedTest
  @org.junit.jupiter.params.provider.ValueSource(strings = {"getAll-joins-get", "getAsync-joins-get", "get-joins-getAsync"})
  void otherJoinsOfASingleLoadDoNotWaitForItsUpkeep(String how) throws Exception {
    FillUpkeepStallTest.GatedEvictions registry = new FillUpkeepStallTest.GatedEvictions();
    try (TieredCache<String, String> cache = registry.expiredBacklog("joins-" + how, 20_000)) {
      CountDownLatch started = new CountDownLatch(1);
      CountDownLatch release = new CountDownLatch(1);
      java.util.function.Function<String, String> slow = k -> {
        started.countDown();
        Rows.await(release);
        return "loaded";
      };
      CompletableFuture<String> loader = how.equals("get-joins-getAsync")
          ? CompletableFuture.supplyAsync(() -> cache.getAsync("fresh", Tags.empty(), slow), THREADS)
              .thenCompose(f -> f)
          : CompletableFuture.supplyAsync(() -> cache.get("fresh", slow), THREADS);
      try {
        assertThat(started.await(30, TimeUnit.SECONDS)).as("the load is in flight").isTrue();
        CompletableFuture<String> joined = switch (how) {
          case "getAll-joins-get" -> CompletableFuture.supplyAsync(
              () -> cache.getAll(List.of("fresh"), ks -> Map.of("fresh", "a second load")).get("fresh"), THREADS);
          case "getAsync-joins-get" -> cache.getAsync("fresh", Tags.empty(), k -> "a second load");
          default -> CompletableFuture.supplyAsync(() -> cache.get("fresh", k -> "a second load"), THREADS);
        };
        await().atMost(Duration.ofSeconds(30))
            .until(() -> registry.get("cache.stampede.coalesced").counter().count() == 1);
        release.countDown();
        assertThat(registry.reached.await(30, TimeUnit.SECONDS)).as("the upkeep reached its first expiry").isTrue();
        assertThat(joined.get(10, TimeUnit.SECONDS))
            .as("the joined reader's value, while the upkeep is held")
            .isEqualTo("loaded");
      } finally {
        release.countDown();
        registry.release.countDown();
      }
      assertThat(loader.get(30, TimeUnit.SECONDS)).isEqualTo("loaded");
    }
  }

  /**
   * Exact eviction counts when every install leaves the upkeep to the upkeep thread: every load is joined (the loader waits until the
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
