package dev.tiercache;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tiercache.spi.InvalidationMessage;
import dev.tiercache.testkit.InMemoryBus;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A single-key invalidation that arrives on the bus is applied on the thread that delivers it (with Redis, the
 * Pub/Sub connection's event loop) and must not wake another thread for it: the L1 removal runs Caffeine's upkeep on
 * that thread, as an L1 fill does. Handing it to the common pool woke a pool thread for every delivered invalidation
 * (about 12 us on the event loop, and one more runnable thread on a two-core machine, measured on the cross-node
 * invalidation path, benchmarks suite 5).
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class DeliveredInvalidationUpkeepTest {

  @Test
  void aDeliveredKeyInvalidationQueuesNothingOnTheCommonPool() throws Exception {
    InMemoryBus bus = new InMemoryBus();
    try (TieredCache<String, String> cache = TieredCache.<String, String>builder("upkeep").bus(bus).build()) {
      cache.get("k1", k -> "v1");
      cache.get("k2", k -> "v2");
      assertThat(cache.estimatedL1Size()).isEqualTo(2);

      // Every worker of the common pool held: whatever is handed to it stays queued, where the test sees it.
      try (HeldCommonPool pool = new HeldCommonPool()) {
        long queuedBefore = pool.queued();

        bus.publish("upkeep", new InvalidationMessage("another-node", 1, System.currentTimeMillis(),
            List.of(new InvalidationMessage.Item("key", "k1"))));

        assertThat(cache.estimatedL1Size()).isEqualTo(1);
        assertThat(pool.queued()).isEqualTo(queuedBefore);
      }
      assertThat(cache.getIfPresent("k1")).isNull();
      assertThat(cache.getIfPresent("k2")).isEqualTo("v2");
    }
  }
}
