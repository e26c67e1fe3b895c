package dev.tiercache;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tiercache.testkit.InMemoryBus;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Issue 10 #14: 2,000 tag invalidations queued 2,000 full L1 sweeps on the common pool, and an unrelated cache's
 * {@code getAsync} waited seconds behind them. Sweeps now run on the library's own pool, many per pass. Also what
 * cancelling a {@code getAsync} future does: it stops that caller's wait, not the load others share.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class InvalidationBurstTest {

  @Test
  void aBurstOfRemoteTagInvalidationsDoesNotStarveAnotherCachesAsyncLoads() throws Exception {
    InMemoryBus bus = new InMemoryBus();
    try (TieredCache<String, String> sender = TieredCache.<String, String>builder("burst").bus(bus).build();
        TieredCache<String, String> receiver = TieredCache.<String, String>builder("burst").bus(bus).build();
        TieredCache<String, String> unrelated = TieredCache.<String, String>builder("unrelated").build()) {
      for (int i = 0; i < 20_000; i++) {
        receiver.get("k" + i, Tags.of("t" + (i % 100)), k -> "v");
      }
      for (int i = 0; i < 2_000; i++) {
        sender.invalidate(Invalidation.tag("t" + i));
      }
      long start = System.nanoTime();
      // On the common pool, as an application's own async loads are.
      CompletableFuture<String> async = unrelated.getAsync("x", Tags.empty(), k -> "loaded");
      assertThat(async.get(10, TimeUnit.SECONDS)).isEqualTo("loaded");
      assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(2));
      // And the invalidations took effect on the receiver at once, however far the sweeps got.
      assertThat(receiver.get("k0", Tags.of("t0"), k -> "reloaded")).isEqualTo("reloaded");
      assertThat(receiver.get("k1", Tags.of("t1"), k -> "reloaded")).isEqualTo("reloaded");
    }
  }

  @Test
  void cancellingOneCallersFutureLeavesTheSharedLoadToTheOthers() throws Exception {
    try (TieredCache<String, String> cache = TieredCache.<String, String>builder("cancel").build()) {
      CountDownLatch release = new CountDownLatch(1);
      AtomicInteger loads = new AtomicInteger();
      CompletableFuture<String> first = cache.getAsync("k", Tags.empty(), k -> {
        loads.incrementAndGet();
        try {
          release.await(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        return "v";
      });
      CompletableFuture<String> second = cache.getAsync("k", Tags.empty(), k -> "unexpected");
      assertThat(first.cancel(true)).isTrue();
      release.countDown();
      assertThat(second.get(10, TimeUnit.SECONDS)).isEqualTo("v");
      assertThat(cache.get("k", k -> "unexpected")).as("the load finished and was cached").isEqualTo("v");
      assertThat(loads).hasValue(1);
    }
  }
}
