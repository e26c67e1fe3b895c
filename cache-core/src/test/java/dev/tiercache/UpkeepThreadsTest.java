package dev.tiercache;

import static dev.tiercache.LoadThreads.THREADS;
import static dev.tiercache.LoadThreads.coalesced;
import static dev.tiercache.LoadThreads.evictions;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.tiercache.codec.ValueCodecs;
import dev.tiercache.testkit.InMemoryL2Store;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The upkeep threads of joined loads ({@link Background#UPKEEP}, a thread per pending drain): many joined loads of one
 * cache whose drain is slow (each eviction counted slowly), or blocked, keep about one of them busy, not one per load,
 * and the counts stay exact.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class UpkeepThreadsTest {

  /** Eviction counter that sleeps, so that a drain evicting many entries is slow. */
  static final class SlowEvictions extends EvictionHook {
    @Override
    protected void beforeEviction() {
      try {
        Thread.sleep(2);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** Upkeep threads now running a task (not idle in the pool's queue). */
  static int busyUpkeepThreads() {
    int busy = 0;
    for (Map.Entry<Thread, StackTraceElement[]> e : Thread.getAllStackTraces().entrySet()) {
      if (!e.getKey().getName().startsWith("tiercache-l1-upkeep")) {
        continue;
      }
      boolean idle = false;
      for (StackTraceElement frame : e.getValue()) {
        if (frame.getMethodName().equals("getTask")) {
          idle = true;
          break;
        }
      }
      if (!idle && e.getKey().isAlive()) {
        busy++;
      }
    }
    return busy;
  }

  @Test
  void manyJoinedLoadsOfOneCacheWithASlowDrainKeepAboutOneUpkeepThreadBusy() throws Exception {
    SlowEvictions registry = new SlowEvictions();
    AtomicInteger peak = new AtomicInteger();
    AtomicBoolean sampling = new AtomicBoolean(true);
    Thread sampler = new Thread(() -> {
      while (sampling.get()) {
        peak.accumulateAndGet(busyUpkeepThreads(), Math::max);
        Thread.onSpinWait();
      }
    });
    sampler.setDaemon(true);
    try (TieredCache<String, String> cache = TieredCache.<String, String>builder("upkeep-threads")
        .keyCodec(k -> k)
        .l1(l1 -> l1.maximumSize(5))
        .l2(new InMemoryL2Store())
        .valueCodec(ValueCodecs.string())
        .meterRegistry(registry)
        .executor(THREADS)
        .build()) {
      sampler.start();
      int rounds = 40;
      int width = 6;
      int loads = 0;
      for (int r = 0; r < rounds; r++) {
        // puts fill the write buffer so that the drains have evictions to count (slowly)
        for (int i = 0; i < 10; i++) {
          cache.put("p" + r + "-" + i, "v");
        }
        double before = coalesced(registry);
        List<CountDownLatch> releases = new ArrayList<>();
        List<CompletableFuture<String>> all = new ArrayList<>();
        for (int w = 0; w < width; w++) {
          String key = "j" + r + "-" + w;
          CountDownLatch started = new CountDownLatch(1);
          CountDownLatch release = new CountDownLatch(1);
          releases.add(release);
          all.add(CompletableFuture.supplyAsync(() -> cache.get(key, k -> {
            started.countDown();
            Rows.await(release);
            return "loaded";
          }), THREADS));
          assertThat(started.await(30, TimeUnit.SECONDS)).isTrue();
          all.add(CompletableFuture.supplyAsync(() -> cache.get(key, k -> "second"), THREADS));
          loads++;
        }
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(1))
            .until(() -> coalesced(registry) == before + width);
        releases.forEach(CountDownLatch::countDown);
        for (CompletableFuture<String> f : all) {
          assertThat(f.get(10, TimeUnit.SECONDS)).as("a joined reader waited for a backlog").isEqualTo("loaded");
        }
      }
      int inserted = rounds * 10 + loads;
      await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
        cache.getIfPresent("absent");
        assertThat(cache.estimatedL1Size()).isLessThanOrEqualTo(5);
        assertThat(evictions(registry)).isEqualTo((double) (inserted - 5));
      });
    } finally {
      sampling.set(false);
      sampler.join(10_000);
    }
    System.out.println("REVIEW peak busy upkeep threads: " + peak.get());
    assertThat(peak.get()).as("busy upkeep threads at once, one cache").isLessThanOrEqualTo(2);
  }

  /**
   * A drain of one cache blocked (its registry gated) on an upkeep thread; 30 more joined loads of that cache must not
   * start more upkeep threads (Caffeine schedules no drain while one is pending) and their readers get their values.
   */
  @Test
  void joinedLoadsWhileTheCachesDrainIsBlockedStartNoMoreUpkeepThreads() throws Exception {
    FillUpkeepStallTest.GatedEvictions gated = new FillUpkeepStallTest.GatedEvictions();
    try (TieredCache<String, String> a = gated.expiredBacklog("upkeep-threads-blocked", 1_000)) {
      try {
        LoadThreads.joinedLoad(a, gated, false);
        assertThat(gated.reached.await(30, TimeUnit.SECONDS)).isTrue();
        int baseline = busyUpkeepThreads();
        int peak = baseline;
        for (int i = 0; i < 30; i++) {
          String key = "b" + i;
          double before = coalesced(gated);
          CountDownLatch started = new CountDownLatch(1);
          CountDownLatch release = new CountDownLatch(1);
          CompletableFuture<String> loader = CompletableFuture.supplyAsync(() -> a.get(key, k -> {
            started.countDown();
            Rows.await(release);
            return "loaded";
          }), THREADS);
          assertThat(started.await(30, TimeUnit.SECONDS)).isTrue();
          CompletableFuture<String> joined = CompletableFuture.supplyAsync(() -> a.get(key, k -> "second"), THREADS);
          await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(1))
              .until(() -> coalesced(gated) == before + 1);
          release.countDown();
          assertThat(joined.get(5, TimeUnit.SECONDS)).isEqualTo("loaded");
          assertThat(loader.get(5, TimeUnit.SECONDS)).isEqualTo("loaded");
          peak = Math.max(peak, busyUpkeepThreads());
        }
        System.out.println("REVIEW blocked: baseline " + baseline + " peak " + peak);
        assertThat(peak).as("busy upkeep threads while a's drain is blocked").isLessThanOrEqualTo(baseline);
      } finally {
        gated.release.countDown();
      }
    }
  }
}
