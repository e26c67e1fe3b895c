package dev.tiercache;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.lang.reflect.Field;
import java.util.Collection;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Adversarial review of MicrometerMetrics' new meter ownership (removal on close). */
@Timeout(60)
class AdversarialMetricsTest {

  private static Collection<?> ownedMeters(TieredCache<?, ?> cache) throws ReflectiveOperationException {
    Field metrics = DefaultTieredCache.class.getDeclaredField("metrics");
    metrics.setAccessible(true);
    Object micrometer = metrics.get(cache);
    Field meters = MicrometerMetrics.class.getDeclaredField("meters");
    meters.setAccessible(true);
    return (Collection<?>) meters.get(micrometer);
  }

  /**
   * Fixed defect: invalidation() and l2Error() look their counter up through counter(), which also own()s it: every call
   * appends the same meter again to a CopyOnWriteArrayList. Memory grows by one reference per invalidation for the
   * cache's lifetime, and each append copies the whole array, so n invalidations cost O(n^2) (a busy cache doing
   * 1,000 invalidations a second holds 86 million references after a day, and copies them on every call).
   */
  @Test
  void invalidationsDoNotGrowTheOwnedMeterList() throws Exception {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    try (TieredCache<String, String> cache = TieredCache.<String, String>builder("adv-meters-growth")
        .keyCodec(k -> k).meterRegistry(registry).build()) {
      int before = ownedMeters(cache).size();
      for (int i = 0; i < 5_000; i++) {
        cache.invalidate(Invalidation.key("k" + (i % 10)));
      }
      assertThat(registry.find("cache.invalidations").counter().count()).isEqualTo(5_000.0);
      assertThat(ownedMeters(cache).size() - before)
          .as("meters owned by the cache after 5,000 invalidations of one strategy").isLessThanOrEqualTo(1);
    }
  }

  /**
   * Fixed defect: two live caches with one name (two nodes in one JVM, as the tests do; or a context refreshed before the
   * old one is closed) share their meters, since Micrometer hands back the existing meter for an equal id. Closing the
   * first removes them from the registry: the second keeps counting into detached meters and reports nothing.
   */
  @Test
  void closingOneCacheDoesNotRemoveTheMetersOfALiveCacheOfTheSameName() {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    TieredCache<String, String> old = TieredCache.<String, String>builder("adv-meters-shared")
        .keyCodec(k -> k).meterRegistry(registry).build();
    try (TieredCache<String, String> successor = TieredCache.<String, String>builder("adv-meters-shared")
        .keyCodec(k -> k).meterRegistry(registry).build()) {
      old.close();
      successor.get("k", k -> "v");
      successor.get("k", k -> "v");
      assertThat(registry.find("cache.gets").tag("cache", "adv-meters-shared").tag("result", "hit")
              .tag("tier", "l1").functionCounter())
          .as("the live cache's hit counter is still registered").isNotNull();
      assertThat(registry.find("cache.size").tag("cache", "adv-meters-shared").gauge())
          .as("the live cache's size gauge is still registered").isNotNull();
    }
  }
}
