package dev.tiercache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.tiercache.testkit.InMemoryL2Store;
import dev.tiercache.testkit.TestCodec;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Stampede protection: concurrent readers of one missing key share one L2 read and one loader call. */
@Timeout(30)
class StampedeTest {

  private static final int THREADS = 16;

  private final ExecutorService pool = Executors.newFixedThreadPool(THREADS);
  private final InMemoryL2Store store = new InMemoryL2Store();
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final TieredCache<String, String> cache =
      TieredCache.<String, String>builder("stampede")
          .keyCodec(k -> k)
          .l2(store)
          .valueCodec(TestCodec.STRING)
          .meterRegistry(registry)
          .build();

  @AfterEach
  void tearDown() {
    pool.shutdownNow();
    cache.close();
  }

  private double coalesced() {
    return registry.counter("cache.stampede.coalesced", "cache", "stampede").count();
  }

  /** Holds the loader until every other caller has joined its flight, so the count is exact, not lucky. */
  private void awaitJoined(int others) {
    await().atMost(Duration.ofSeconds(10)).until(() -> coalesced() >= others);
  }

  @Test
  void concurrentGetsOfOneMissingKeyCallTheLoaderOnceAndTheL2Once() throws Exception {
    AtomicInteger loads = new AtomicInteger();
    CountDownLatch start = new CountDownLatch(1);
    List<Future<String>> results = new ArrayList<>();
    for (int i = 0; i < THREADS; i++) {
      results.add(
          pool.submit(
              () -> {
                start.await(5, TimeUnit.SECONDS);
                return cache.get(
                    "hot",
                    k -> {
                      loads.incrementAndGet();
                      awaitJoined(THREADS - 1);
                      return "value";
                    });
              }));
    }
    start.countDown();
    for (Future<String> result : results) {
      assertThat(result.get(10, TimeUnit.SECONDS)).isEqualTo("value");
    }
    assertThat(loads).hasValue(1);
    assertThat(store.reads).hasValue(1);
    assertThat(coalesced()).isEqualTo(THREADS - 1);
  }

  @Test
  void asyncGetsShareOneLoadWithoutBlockingCallers() throws Exception {
    AtomicInteger loads = new AtomicInteger();
    CountDownLatch release = new CountDownLatch(1);
    List<CompletableFuture<String>> results = new ArrayList<>();
    for (int i = 0; i < THREADS; i++) {
      results.add(
          cache.getAsync(
              "hot",
              Tags.empty(),
              k -> {
                loads.incrementAndGet();
                try {
                  release.await(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                  Thread.currentThread().interrupt();
                }
                return "value";
              }));
    }
    // Every call returned while the load was still held: none of them blocked.
    assertThat(results).noneMatch(CompletableFuture::isDone);
    release.countDown();
    for (CompletableFuture<String> result : results) {
      assertThat(result.get(10, TimeUnit.SECONDS)).isEqualTo("value");
    }
    assertThat(loads).hasValue(1);
  }

  @Test
  void aLoaderFailureReachesEveryWaiterAndNothingIsCached() throws Exception {
    AtomicInteger loads = new AtomicInteger();
    CountDownLatch start = new CountDownLatch(1);
    List<Future<String>> results = new ArrayList<>();
    for (int i = 0; i < THREADS; i++) {
      results.add(
          pool.submit(
              () -> {
                start.await(5, TimeUnit.SECONDS);
                return cache.get(
                    "broken",
                    k -> {
                      loads.incrementAndGet();
                      awaitJoined(THREADS - 1);
                      throw new IllegalStateException("database unavailable");
                    });
              }));
    }
    start.countDown();
    for (Future<String> result : results) {
      assertThatThrownBy(() -> result.get(10, TimeUnit.SECONDS))
          .hasCauseInstanceOf(IllegalStateException.class)
          .hasRootCauseMessage("database unavailable");
    }
    assertThat(loads).hasValue(1);
    assertThat(cache.get("broken", k -> "recovered")).isEqualTo("recovered");
    assertThat(store.writes).hasValue(1);
  }

  @Test
  void overlappingGetAllsLoadEachKeyOnce() throws Exception {
    Map<String, AtomicInteger> loadsPerKey = new ConcurrentHashMap<>();
    AtomicInteger bulkCalls = new AtomicInteger();
    CountDownLatch firstLoading = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    java.util.function.Function<Set<String>, Map<String, String>> loader =
        keys -> {
          bulkCalls.incrementAndGet();
          firstLoading.countDown();
          try {
            release.await(10, TimeUnit.SECONDS);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
          Map<String, String> found = new HashMap<>();
          for (String key : keys) {
            loadsPerKey.computeIfAbsent(key, k -> new AtomicInteger()).incrementAndGet();
            found.put(key, key.toUpperCase());
          }
          return found;
        };
    Future<Map<String, String>> first = pool.submit(() -> cache.getAll(List.of("a", "b", "c"), loader));
    assertThat(firstLoading.await(10, TimeUnit.SECONDS)).isTrue();
    Future<Map<String, String>> second = pool.submit(() -> cache.getAll(List.of("b", "c", "d"), loader));
    // The second call owns only "d"; it joins "b" and "c". Wait until its bulk load of "d" is in flight too.
    await().atMost(Duration.ofSeconds(10)).until(() -> coalesced() >= 2 && bulkCalls.get() == 2);
    release.countDown();
    assertThat(first.get(10, TimeUnit.SECONDS)).containsExactly(
        Map.entry("a", "A"), Map.entry("b", "B"), Map.entry("c", "C"));
    assertThat(second.get(10, TimeUnit.SECONDS)).containsExactly(
        Map.entry("b", "B"), Map.entry("c", "C"), Map.entry("d", "D"));
    assertThat(loadsPerKey).hasSize(4).allSatisfy((key, count) -> assertThat(count).hasValue(1));
    assertThat(store.reads).hasValue(2);
  }

  @Test
  void aGetJoinsTheKeyThatAGetAllIsLoading() throws Exception {
    AtomicInteger singleLoads = new AtomicInteger();
    CountDownLatch loading = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    Future<Map<String, String>> bulk =
        pool.submit(
            () ->
                cache.getAll(
                    List.of("x", "y"),
                    keys -> {
                      loading.countDown();
                      try {
                        release.await(10, TimeUnit.SECONDS);
                      } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                      }
                      return Map.of("x", "X", "y", "Y");
                    }));
    assertThat(loading.await(10, TimeUnit.SECONDS)).isTrue();
    Future<String> single =
        pool.submit(() -> cache.get("y", k -> "single-" + singleLoads.incrementAndGet()));
    await().atMost(Duration.ofSeconds(10)).until(() -> coalesced() >= 1);
    release.countDown();
    assertThat(single.get(10, TimeUnit.SECONDS)).isEqualTo("Y");
    assertThat(bulk.get(10, TimeUnit.SECONDS)).containsEntry("y", "Y");
    assertThat(singleLoads).hasValue(0);
  }
}
