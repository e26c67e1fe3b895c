package dev.tiercache;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tiercache.testkit.InMemoryBus;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * DESIGN.md invariant 2 while the bus is down: the L1 is served for the grace period, then read past until the bus
 * is back and the L1 has been cleared. Time is a fake ticker, so the boundaries are exact.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class BusOutageTest {

  private final AtomicLong now = new AtomicLong(1_000);
  private final InMemoryBus bus = new InMemoryBus();
  private final AtomicInteger loads = new AtomicInteger();

  private TieredCache<String, String> cache(Duration grace) {
    return TieredCache.<String, String>builder("bus-outage")
        .bus(bus)
        .ticker(now::get)
        .executor(Runnable::run)
        .busGracePeriod(grace)
        .build();
  }

  private String read(TieredCache<String, String> cache) {
    return cache.get("k", k -> "v" + loads.incrementAndGet());
  }

  @Test
  void theL1IsServedForTheGracePeriodThenReadPastUntilTheBusIsBack() {
    TieredCache<String, String> cache = cache(Duration.ofSeconds(2));
    assertThat(read(cache)).isEqualTo("v1");

    bus.connectionLost("bus-outage");
    now.addAndGet(Duration.ofMillis(1_999).toNanos());
    assertThat(read(cache)).as("within the grace period").isEqualTo("v1");
    now.addAndGet(Duration.ofMillis(1).toNanos());
    assertThat(read(cache)).as("grace over: the L1 is not trusted").isEqualTo("v2");
    assertThat(read(cache)).isEqualTo("v3");

    bus.connectionRestored("bus-outage");
    assertThat(read(cache)).as("the L1 was cleared on restore").isEqualTo("v4");
    assertThat(read(cache)).as("and is served again").isEqualTo("v4");
    cache.close();
  }

  @Test
  void aLongGracePrefersAvailabilityButTheL1IsStillClearedOnRestore() {
    TieredCache<String, String> cache = cache(Duration.ofDays(36_500));
    assertThat(read(cache)).isEqualTo("v1");
    bus.connectionLost("bus-outage");
    now.addAndGet(Duration.ofHours(1).toNanos());
    assertThat(read(cache)).isEqualTo("v1");
    bus.connectionRestored("bus-outage");
    assertThat(read(cache)).isEqualTo("v2");
    cache.close();
  }
}
