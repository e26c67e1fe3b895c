package dev.tiercache;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tiercache.spi.InvalidationMessage;
import dev.tiercache.testkit.ExpiryBacklog;
import dev.tiercache.testkit.InMemoryBus;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Review 13 of e631cdd (a delivered single-key invalidation runs Caffeine's upkeep on the delivering thread).
 *
 * <p>Caffeine's upkeep is not bounded by the one key removed: with an L1 TTL it expires every entry past it, however
 * many, and calls the eviction listener for each. Run on the delivering thread (with Redis, the Pub/Sub connection's
 * event loop, shared by Lettuce with other connections), one delivered key then costs that thread time proportional
 * to the L1's size, while it holds the key's {@code KeyLog} stripe (installs and local writes of that stripe wait) and
 * while every later message and heartbeat echo on the connection waits behind it (DESIGN.md invariant 2's proof
 * stalls; invariant 3: the event loop may also carry L2 commands). Before e631cdd this work went to the common pool.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class DeliveredInvalidationExpiryStallTest {

  private static final int ENTRIES = 200_000;

  @Test
  void aDeliveredKeyInvalidationDoesNotExpireTheWholeL1OnTheDeliveringThread() throws Exception {
    InMemoryBus bus = new InMemoryBus();
    AtomicLong now = new AtomicLong(1);
    try (TieredCache<String, String> cache = TieredCache.<String, String>builder("expiry-stall")
        .keyCodec(k -> k)
        .l1(l1 -> l1.maximumSize(1_000_000).expireAfterWrite(Duration.ofMinutes(1)))
        .ticker(now::get)
        .bus(bus)
        .build()) {
      ExpiryBacklog.fill(cache, ENTRIES);
      assertThat(cache.estimatedL1Size()).isEqualTo(ENTRIES);
      now.addAndGet(TimeUnit.MINUTES.toNanos(2));

      // The common pool held: the upkeep it would run waits there, and what the delivering thread does shows.
      long size;
      long tookNanos;
      try (HeldCommonPool held = new HeldCommonPool()) {
        long start = System.nanoTime();
        bus.publish("expiry-stall", new InvalidationMessage("another-node", 1, System.currentTimeMillis(),
            List.of(new InvalidationMessage.Item("key", "k7"))));
        tookNanos = System.nanoTime() - start;
        size = cache.estimatedL1Size();
      }
      assertThat(size)
          .as("entries left after one delivered key invalidation: the delivering thread expired %d entries in %d ms",
              ENTRIES - 1 - size, TimeUnit.NANOSECONDS.toMillis(tookNanos))
          .isGreaterThan(ENTRIES - 1_000L);
    }
  }
}
