package dev.tiercache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.tiercache.testkit.InMemoryBus;
import dev.tiercache.testkit.InMemoryL2Store;
import dev.tiercache.testkit.TestCodec;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The L2 goes away and comes back (DESIGN.md invariants 1 and 3): nothing reaches the caller, invalidations made
 * meanwhile are not lost, and no instance serves what they covered.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class L2OutageTest {

  private static final Duration HEAL = Duration.ofSeconds(10);

  private final InMemoryL2Store store = new InMemoryL2Store();
  private final InMemoryBus bus = new InMemoryBus();
  private final AtomicReference<String> database = new AtomicReference<>("v1");

  private final class Node {
    final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    final AtomicInteger loads = new AtomicInteger();
    final TieredCache<String, String> cache;

    Node(TieredCacheBuilder<String, String> builder) {
      cache = builder.meterRegistry(registry).build();
    }

    String read(String key) {
      return cache.get(key, k -> {
        loads.incrementAndGet();
        return database.get() + ":" + k;
      });
    }

    double gauge(String name) {
      return registry.get(name).gauge().value();
    }
  }

  private TieredCacheBuilder<String, String> builder() {
    return TieredCache.<String, String>builder("outage")
        .keyCodec(k -> k)
        .l2(store)
        .bus(bus)
        .valueCodec(TestCodec.STRING)
        .l2RetryInterval(Duration.ofMillis(50));
  }

  @Test
  void anInvalidationDuringTheOutageIsAppliedWhenTheL2IsBackAndNothingStaleIsServedMeanwhile() {
    Node a = new Node(builder());
    Node b = new Node(builder());
    assertThat(a.read("k")).isEqualTo("v1:k");
    assertThat(b.read("k")).isEqualTo("v1:k");

    assertThat(a.cache.status()).isEqualTo(new CacheStatus(true, true, 0, "closed"));
    store.setDown(true);
    database.set("v2");
    assertThatThrownBy(() -> a.cache.invalidate(Invalidation.key("k")))
        .isInstanceOf(InvalidationPendingException.class);
    assertThat(a.gauge("cache.l2.pending")).isEqualTo(1);
    assertThat(a.cache.status().pendingInvalidations()).isEqualTo(1);
    assertThat(a.cache.status().l2Trusted()).as("not while an invalidation waits for it").isFalse();

    // The L2 is back but still holds v1: A does not trust it until its invalidation is applied.
    store.setDown(false);
    assertThat(a.read("k")).isEqualTo("v2:k");
    await().atMost(HEAL).until(() -> a.gauge("cache.l2.pending") == 0);
    assertThat(store.holds("outage", "k")).isFalse();
    // B may have read v1 from the L2 in between; the re-published invalidation removes it.
    await().atMost(HEAL).untilAsserted(() -> assertThat(b.read("k")).isEqualTo("v2:k"));
    a.cache.close();
    b.cache.close();
  }

  @Test
  void writesAfterTheL2CameBackGoThroughAlthoughAnEarlierInvalidationStillWaitsForItsRetry() {
    Node a = new Node(builder().l2RetryInterval(Duration.ofMinutes(1)));
    Node b = new Node(builder());
    assertThat(a.read("k")).isEqualTo("v1:k");
    assertThat(b.read("k")).isEqualTo("v1:k");
    store.setDown(true);
    database.set("v2");
    assertThatThrownBy(() -> a.cache.invalidate(Invalidation.key("k")))
        .isInstanceOf(InvalidationPendingException.class);
    store.setDown(false);

    // The retry is due 50 ms later; these do not wait for it, nor fail because of it.
    a.cache.invalidate(Invalidation.key("other"));
    a.cache.put("k", "v2:k");
    assertThat(store.holds("outage", "k")).isTrue();
    assertThat(b.cache.getIfPresent("k")).as("B dropped its copy when the put was announced").isEqualTo("v2:k");

    // The older invalidation, applied after the put, only costs the put's L2 entry.
    await().atMost(HEAL).until(() -> a.gauge("cache.l2.pending") == 0);
    assertThat(a.read("k")).isEqualTo("v2:k");
    assertThat(b.read("k")).isEqualTo("v2:k");
    a.cache.close();
    b.cache.close();
  }

  @Test
  void aPutThatTheL2CannotTakeIsCachedNowhereAndItsOldL2ValueIsRemovedLater() {
    Node a = new Node(builder());
    assertThat(a.read("k")).isEqualTo("v1:k");
    store.setDown(true);
    database.set("v2");
    assertThatThrownBy(() -> a.cache.put("k", "v2:k"))
        .isInstanceOf(InvalidationPendingException.class);
    assertThat(a.cache.getIfPresent("k")).isNull();
    store.setDown(false);
    await().atMost(HEAL).until(() -> a.gauge("cache.l2.pending") == 0);
    Node fresh = new Node(builder());
    assertThat(fresh.read("k")).isEqualTo("v2:k");
    assertThat(fresh.loads).hasValue(1);
    a.cache.close();
    fresh.cache.close();
  }

  @Test
  void theCircuitOpensStopsCallingTheL2AndClosesByItselfWhenTheL2IsBack() {
    CircuitBreakerConfig breaker =
        CircuitBreakerConfig.custom()
            .slidingWindowSize(4)
            .minimumNumberOfCalls(4)
            .failureRateThreshold(50)
            // Long enough that the 46 reads below all fall in the open window on a loaded machine.
            .waitDurationInOpenState(Duration.ofSeconds(2))
            .permittedNumberOfCallsInHalfOpenState(1)
            .build();
    Node a = new Node(builder().l2CircuitBreaker(breaker));
    store.setDown(true);
    for (int i = 0; i < 4; i++) {
      assertThat(a.read("k" + i)).isEqualTo("v1:k" + i);
    }
    assertThat(a.gauge("cache.l2.circuit")).isEqualTo(2);
    int attemptsWhenOpen = store.attempts.get();
    for (int i = 4; i < 50; i++) {
      assertThat(a.read("k" + i)).isEqualTo("v1:k" + i);
    }
    assertThat(store.attempts.get()).as("no L2 call while the circuit is open").isEqualTo(attemptsWhenOpen);

    store.setDown(false);
    await().atMost(HEAL).untilAsserted(() -> {
      a.read("probe-" + System.nanoTime());
      assertThat(a.gauge("cache.l2.circuit")).isEqualTo(0);
    });
    a.cache.close();
  }

  @Test
  void anOverflowingQueueClearsTheL1AndInvalidatesTheWholeL2OnceItIsBack() {
    Node a = new Node(builder().pendingInvalidations(2));
    Node b = new Node(builder());
    assertThat(a.read("untouched")).isEqualTo("v1:untouched");
    store.setDown(true);
    database.set("v2");
    for (int i = 0; i < 3; i++) {
      String key = "other" + i;
      assertThatThrownBy(() -> a.cache.invalidate(Invalidation.key(key)))
          .isInstanceOf(InvalidationPendingException.class);
    }
    assertThat(a.registry.counter("cache.l1.clears", "cache", "outage").count()).isEqualTo(1);
    store.setDown(false);
    await().atMost(HEAL).until(() -> a.gauge("cache.l2.pending") == 0);
    // "untouched" was covered by none of the three, but what the queue dropped is unknown: the L2 forgot it all.
    assertThat(b.read("untouched")).isEqualTo("v2:untouched");
    a.cache.close();
    b.cache.close();
  }
}
