package dev.tiercache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * What the tests of a load's fills and the L1's upkeep share: threads of their own to load and join on (not the common
 * pool, whose workers some of them occupy), and the counts they check.
 */
final class LoadThreads {

  /** Daemon threads named {@value #NAME}, never shut down (idle ones end after a minute). */
  static final ExecutorService THREADS = Executors.newCachedThreadPool(r -> {
    Thread thread = new Thread(r, LoadThreads.NAME);
    thread.setDaemon(true);
    return thread;
  });

  static final String NAME = "load-upkeep";

  private LoadThreads() {}

  static double evictions(MeterRegistry registry) {
    return registry.get("cache.evictions").counter().count();
  }

  static double coalesced(MeterRegistry registry) {
    return registry.get("cache.stampede.coalesced").counter().count();
  }

  /** A load of "x" in {@code cache} that a second reader joins; returns when both readers have the value. */
  static void joinedLoad(TieredCache<String, String> cache, MeterRegistry registry, boolean waitForLoader)
      throws Exception {
    double before = coalesced(registry);
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
      await().atMost(Duration.ofSeconds(30)).until(() -> coalesced(registry) == before + 1);
      release.countDown();
      if (waitForLoader) {
        assertThat(joined.get(30, TimeUnit.SECONDS)).isEqualTo("loaded");
        assertThat(loader.get(30, TimeUnit.SECONDS)).isEqualTo("loaded");
      }
    } finally {
      release.countDown();
    }
  }
}
