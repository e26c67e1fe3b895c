package dev.tiercache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.tiercache.spi.InvalidationBus;
import dev.tiercache.spi.InvalidationMessage;
import dev.tiercache.testkit.InMemoryBus;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * DESIGN.md invariant 2: an instance serves its L1 only while a heartbeat that came back proves its bus delivered
 * everything published more than {@code maxStaleness} ago. Silence (a frozen bus) is never taken for health.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class StalenessBoundTest {

  private static final Duration BOUND = Duration.ofMillis(200);
  private static final String NAME = "staleness";

  private final InMemoryBus bus = new InMemoryBus();
  private final AtomicInteger loadsA = new AtomicInteger();
  private final AtomicInteger loadsB = new AtomicInteger();
  private TieredCache<String, String> a;
  private TieredCache<String, String> b;

  @AfterEach
  void close() {
    for (TieredCache<String, String> cache : new TieredCache[] {a, b}) {
      if (cache != null) {
        cache.close();
      }
    }
  }

  private TieredCache<String, String> cache(InvalidationBus on) {
    return TieredCache.<String, String>builder(NAME).bus(on).maxStaleness(BOUND).executor(Runnable::run).build();
  }

  private static String read(TieredCache<String, String> cache, AtomicInteger loads) {
    return cache.get("k", k -> "v" + loads.incrementAndGet());
  }

  @Test
  void aFrozenBusStopsTheL1WithinTheBoundAndTheHeldInvalidationsArriveBeforeItIsServedAgain() {
    a = cache(bus);
    b = cache(bus);
    assertThat(read(a, loadsA)).isEqualTo("v1");
    assertThat(read(a, loadsA)).as("an L1 hit while the bus proves delivery").isEqualTo("v1");
    assertThat(read(b, loadsB)).isEqualTo("v1");

    bus.freeze();
    long frozenAt = System.nanoTime();
    // B's invalidation is held by the frozen bus: A cannot know of it, so A must stop trusting its L1.
    b.invalidate(Invalidation.key("k"));
    await()
        .atMost(Duration.ofSeconds(5))
        .pollInterval(Duration.ofMillis(5))
        .until(() -> !read(a, loadsA).equals("v1"));
    long stoppedAfter = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - frozenAt);
    // The proof A held when the bus froze was at most a heartbeat interval old, and lasts the bound: a loaded machine
    // may schedule the read late, never early.
    assertThat(stoppedAfter).as("ms until A read past its L1").isLessThan(BOUND.toMillis() + 2_000);
    int loadsWhileFrozen = loadsA.get();
    read(a, loadsA);
    assertThat(loadsA.get()).as("while frozen every read goes past the L1").isGreaterThan(loadsWhileFrozen);

    assertThat(a.status().l1Served()).as("the status tells health checks the L1 is not served").isFalse();

    bus.thaw();
    await().atMost(Duration.ofSeconds(5)).until(() -> a.status().l1Served());
    await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(5)).untilAsserted(() -> {
      String first = read(a, loadsA);
      assertThat(read(a, loadsA)).as("served from the L1 again once a heartbeat came back").isEqualTo(first);
    });
  }

  @Test
  void aDroppedConnectionStopsTheL1AtOnceAndTheRestoreClearsIt() {
    a = cache(bus);
    assertThat(read(a, loadsA)).isEqualTo("v1");
    assertThat(read(a, loadsA)).isEqualTo("v1");

    bus.connectionLost(NAME);
    assertThat(read(a, loadsA)).as("no grace: what is published now may never arrive").isEqualTo("v2");
    assertThat(read(a, loadsA)).isEqualTo("v3");

    bus.connectionRestored(NAME);
    await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(5)).untilAsserted(() -> {
      String first = read(a, loadsA);
      assertThat(read(a, loadsA)).isEqualTo(first);
    });
  }

  @Test
  void heartbeatsKeepTheProofFreshWithoutReads() {
    a = cache(bus);
    assertThat(read(a, loadsA)).isEqualTo("v1");
    int before = bus.heartbeats.get();
    await().atMost(Duration.ofSeconds(5)).until(() -> bus.heartbeats.get() >= before + 3);
    assertThat(read(a, loadsA)).isEqualTo("v1");
  }

  @Test
  void aBusThatCannotProveDeliveryNeverHasItsL1Served() {
    InvalidationBus mute =
        new InvalidationBus() {
          @Override
          public CompletableFuture<Void> publish(String cache, InvalidationMessage message) {
            return CompletableFuture.completedFuture(null);
          }

          @Override
          public Subscription subscribe(String cache, Listener listener) {
            return () -> {};
          }
        };
    a = cache(mute);
    assertThat(read(a, loadsA)).isEqualTo("v1");
    assertThat(read(a, loadsA)).isEqualTo("v2");
  }
}
