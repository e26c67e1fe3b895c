package dev.tiercache;

import static dev.tiercache.LoadThreads.THREADS;
import static dev.tiercache.LoadThreads.coalesced;
import static dev.tiercache.LoadThreads.evictions;
import static dev.tiercache.LoadThreads.joinedLoad;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.tiercache.codec.ValueCodecs;
import dev.tiercache.testkit.InMemoryL2Store;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * One cache's slow drain (a blocking meter registry here, a large expired backlog likewise) on the library's upkeep
 * threads must not hold back another cache's: Caffeine, a drain pending, schedules no other, and that cache would stop
 * evicting, and its writers, once its write buffer is full, would expire its backlog themselves while their joined
 * readers wait.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class CrossCacheUpkeepTest {

  /**
   * Cache "a" (its meter registry blocks on its first eviction, as FillUpkeepStallTest.GatedEvictions) runs a joined
   * load whose drain expires a backlog and blocks. Cache "b", unrelated (size 1, an L2), then runs a joined load and
   * 20 puts: its L1 must stay within its bound.
   */
  @Test
  void aSlowDrainOfOneCacheDoesNotStopAnotherCacheEvicting() throws Exception {
    FillUpkeepStallTest.GatedEvictions gated = new FillUpkeepStallTest.GatedEvictions();
    SimpleMeterRegistry registryB = new SimpleMeterRegistry();
    try (TieredCache<String, String> a = gated.expiredBacklog("cross-cache-a", 1_000);
        TieredCache<String, String> b = TieredCache.<String, String>builder("cross-cache-b")
            .keyCodec(k -> k)
            .l1(l1 -> l1.maximumSize(1))
            .l2(new InMemoryL2Store())
            .valueCodec(ValueCodecs.string())
            .meterRegistry(registryB)
            .executor(THREADS)
            .build()) {
      try {
        joinedLoad(a, gated, false);
        assertThat(gated.reached.await(30, TimeUnit.SECONDS)).as("a's drain blocked in its registry").isTrue();

        joinedLoad(b, registryB, true);
        for (int i = 0; i < 20; i++) {
          b.put("p" + i, "v");
        }
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
          b.getIfPresent("absent");
          assertThat(b.estimatedL1Size()).as("b's L1 within its bound of 1 while a's drain is slow")
              .isLessThanOrEqualTo(1);
        });
        assertThat(evictions(registryB)).isEqualTo(20.0);
      } finally {
        gated.release.countDown();
      }
    }
  }

  /**
   * As above, with "b" holding an expired backlog (its registry gated too): b's joined loads go on, each joined reader
   * getting its value, until b's own drain reaches its backlog on an upkeep thread. Were that drain queued behind a's,
   * b's write buffer would fill, and the writer that found it full would expire b's backlog itself, under its key's
   * stripe, while its joined reader waited.
   */
  @Test
  void aSlowDrainOfOneCacheMakesAnotherCachesJoinedReadersWaitForItsBacklog() throws Exception {
    FillUpkeepStallTest.GatedEvictions gatedA = new FillUpkeepStallTest.GatedEvictions();
    FillUpkeepStallTest.GatedEvictions gatedB = new FillUpkeepStallTest.GatedEvictions();
    try (TieredCache<String, String> a = gatedA.expiredBacklog("cross-cache-a2", 1_000);
        TieredCache<String, String> b = gatedB.expiredBacklog("cross-cache-b2", 1_000)) {
      try {
        joinedLoad(a, gatedA, false);
        assertThat(gatedA.reached.await(30, TimeUnit.SECONDS)).as("a's drain blocked in its registry").isTrue();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        int loads = 0;
        CompletableFuture<String> stuckReader = null;
        while (loads < 2_000 && System.nanoTime() < deadline && gatedB.reached.getCount() > 0) {
          String key = "j" + loads++;
          double before = coalesced(gatedB);
          CountDownLatch started = new CountDownLatch(1);
          CountDownLatch release = new CountDownLatch(1);
          CompletableFuture<String> loader = CompletableFuture.supplyAsync(() -> b.get(key, k -> {
            started.countDown();
            Rows.await(release);
            return "loaded";
          }), THREADS);
          assertThat(started.await(30, TimeUnit.SECONDS)).isTrue();
          CompletableFuture<String> joined = CompletableFuture.supplyAsync(() -> b.get(key, k -> "second"), THREADS);
          await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(1))
              .until(() -> coalesced(gatedB) == before + 1);
          release.countDown();
          try {
            assertThat(joined.get(5, TimeUnit.SECONDS)).isEqualTo("loaded");
            assertThat(loader.get(5, TimeUnit.SECONDS)).isEqualTo("loaded");
          } catch (java.util.concurrent.TimeoutException e) {
            stuckReader = joined;
            break;
          }
        }
        assertThat(stuckReader)
            .as("after %d joined loads, a joined reader of b waited for b's backlog (expired by %s)", loads,
                gatedB.held.get())
            .isNull();
      } finally {
        gatedA.release.countDown();
        gatedB.release.countDown();
      }
    }
  }
}
