package dev.tiercache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Under sustained writes from real threads, eviction keeps up and every entry past the bound is evicted exactly once
 * (counted by cache.evictions); a mixed read/write load from 8 threads converges to the bound.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class L1EvictionUnderLoadTest {

  private static final int MAX = 100;

  @Test
  void sustainedWritesFromRealThreadsEvictExactlyWhatIsPastTheBound() throws Exception {
    for (int threads : new int[] {1, 2, 8}) {
      SimpleMeterRegistry registry = new SimpleMeterRegistry();
      try (TieredCache<String, String> cache =
          TieredCache.<String, String>builder("load-" + threads)
              .l1(l1 -> l1.maximumSize(MAX))
              .meterRegistry(registry)
              .build()) {
        int per = 20_000;
        CountDownLatch start = new CountDownLatch(1);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        List<Thread> writers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
          int id = t;
          Thread w = new Thread(() -> {
            try {
              start.await();
              for (int i = 0; i < per; i++) {
                cache.put(id + ":" + i, "v");
                // 6 reads per 2 writes, as the L1 suite's mix
                for (int r = 1; r <= 3; r++) {
                  cache.getIfPresent(id + ":" + Math.max(0, i - r));
                }
              }
            } catch (Throwable e) {
              failure.compareAndSet(null, e);
            }
          });
          w.start();
          writers.add(w);
        }
        start.countDown();
        for (Thread w : writers) {
          w.join(TimeUnit.SECONDS.toMillis(30));
          assertThat(w.isAlive()).as("writer finished").isFalse();
        }
        assertThat(failure.get()).isNull();
        long puts = (long) threads * per;
        // Caffeine's upkeep may be left pending once the writers stop; the next access runs it.
        await()
            .atMost(Duration.ofSeconds(10))
            .pollInterval(Duration.ofMillis(10))
            .until(() -> {
              cache.getIfPresent("probe");
              return cache.estimatedL1Size() == MAX;
            });
        double evicted = registry.get("cache.evictions").tag("tier", "l1").counter().count();
        assertThat((long) evicted).as("threads %d: every entry past the bound evicted once", threads)
            .isEqualTo(puts - MAX);
      }
    }
  }
}
