package dev.tiercache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Review of 0e09014's after-queue ({@code L1Upkeep.afterUpkeep}): getAsync futures joined to a load complete once each,
 * after the loading thread's deferred upkeep, also when a callback loads again (a nested scope on the same
 * thread, with a direct executor: getAsync(...).join() inside the callback), and when a bulk load's weigher throws after
 * some of its flights completed (those get their values, the rest the failure, none hangs). Green on s13-l1 (held).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class AfterQueueReviewTest {

  private static final ExecutorService THREADS = Executors.newCachedThreadPool(r -> {
    Thread thread = new Thread(r, "after-queue-review");
    thread.setDaemon(true);
    return thread;
  });

  @AfterAll
  static void stop() {
    THREADS.shutdownNow();
  }

  @Test
  void callbacksThatLoadAgainRunOnceEachInOrderAndAllComplete() throws Exception {
    AtomicReference<TieredCache<String, String>> self = new AtomicReference<>();
    try (TieredCache<String, String> cache = TieredCache.<String, String>builder("after-nested").keyCodec(k -> k)
        .executor(Runnable::run).l1(l1 -> l1.maximumSize(1_000)).build()) {
      self.set(cache);
      CountDownLatch loading = new CountDownLatch(1);
      CountDownLatch release = new CountDownLatch(1);
      CompletableFuture<String> owner = CompletableFuture.supplyAsync(() -> cache.get("k", Tags.empty(), k -> {
        loading.countDown();
        try {
          release.await(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        return "v";
      }), THREADS);
      assertThat(loading.await(10, TimeUnit.SECONDS)).isTrue();
      List<String> ran = new CopyOnWriteArrayList<>();
      List<Thread> on = new CopyOnWriteArrayList<>();
      List<CompletableFuture<String>> chained = new ArrayList<>();
      for (int i = 0; i < 5; i++) {
        int n = i;
        chained.add(cache.getAsync("k", Tags.empty(), k -> "never").thenApply(v -> {
          ran.add("cb" + n);
          on.add(Thread.currentThread());
          // Loads another key on this (the loading) thread: a nested scope, its own getAsync joined at once.
          String nested = self.get().getAsync("n" + n, Tags.empty(), k -> "nv" + n).join();
          String sync = self.get().get("s" + n, Tags.empty(), k -> "sv" + n);
          return v + "/" + nested + "/" + sync;
        }));
      }
      release.countDown();
      assertThat(owner.get(10, TimeUnit.SECONDS)).isEqualTo("v");
      for (int i = 0; i < 5; i++) {
        assertThat(chained.get(i).get(10, TimeUnit.SECONDS)).isEqualTo("v/nv" + i + "/sv" + i);
      }
      // Once each. The order is CompletableFuture's for dependents of one future (last registered first: observed
      // cb4..cb0), as with main's flight.result.copy(); the after-queue keeps the order they fired in.
      assertThat(ran).containsExactlyInAnyOrder("cb0", "cb1", "cb2", "cb3", "cb4");
      assertThat(on).allMatch(t -> t == on.get(0));
    }
  }

  @Test
  void aBulkLoadWhoseWeigherThrowsMidwayCompletesEveryJoinedFutureOnce() throws Exception {
    try (TieredCache<String, String> cache = TieredCache.<String, String>builder("after-weigher").keyCodec(k -> k)
        .l1(l1 -> l1.maximumWeight(1_000, (String k, String v) -> {
          if (k.equals("b")) {
            throw new IllegalStateException("weigher refuses b");
          }
          return 1;
        })).build()) {
      CountDownLatch loading = new CountDownLatch(1);
      CountDownLatch release = new CountDownLatch(1);
      CompletableFuture<Map<String, String>> bulk = CompletableFuture.supplyAsync(() -> cache.getAll(
          List.of("a", "b", "c"), keys -> {
            loading.countDown();
            try {
              release.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
            return Map.of("a", "A", "b", "B", "c", "C");
          }), THREADS);
      assertThat(loading.await(10, TimeUnit.SECONDS)).isTrue();
      AtomicInteger completions = new AtomicInteger();
      List<CompletableFuture<String>> joined = new ArrayList<>();
      for (String key : List.of("a", "b", "c")) {
        CompletableFuture<String> f = cache.getAsync(key, Tags.empty(), k -> "never");
        f.whenComplete((v, t) -> completions.incrementAndGet());
        joined.add(f);
      }
      release.countDown();
      await().atMost(Duration.ofSeconds(10)).until(() -> joined.stream().allMatch(CompletableFuture::isDone));
      assertThat(joined.get(0).get()).isEqualTo("A");
      assertThat(joined.get(1)).isCompletedExceptionally();
      assertThat(joined.get(2)).isCompletedExceptionally();
      assertThat(bulk).failsWithin(Duration.ofSeconds(10));
      assertThat(completions.get()).isEqualTo(3);
      assertThat(cache.getIfPresent("a")).isEqualTo("A");
      assertThat(cache.getIfPresent("c")).isNull();
    }
  }
}
