package dev.tiercache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.tiercache.testkit.InMemoryBus;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * On the system clock, Caffeine reads a coarse copy of the cache's own clock readings ({@link CoarseTicker}) and the
 * cache judges expiry from a precise reading: a value must stop being served at its TTL, not up to the coarse clock's
 * lag or Caffeine's slack later, with and without a bus whose proof shares the hit's reading.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class CoarseClockTest {

  private static final Duration TTL = Duration.ofMillis(200);

  @ParameterizedTest(name = "with a bus: {0}")
  @ValueSource(booleans = {false, true})
  void aValueIsNotServedPastItsTtl(boolean withBus) {
    TieredCacheBuilder<String, String> builder =
        TieredCache.<String, String>builder("coarse-" + withBus).keyCodec(k -> k)
            .l1(l1 -> l1.maximumSize(100).expireAfterWrite(TTL));
    if (withBus) {
      builder.bus(new InMemoryBus());
    }
    try (TieredCache<String, String> cache = builder.build()) {
      for (int round = 0; round < 3; round++) {
        long before = System.nanoTime();
        cache.put("k", "v" + round);
        long after = System.nanoTime();
        String early = cache.getIfPresent("k");
        if (System.nanoTime() - before < TTL.toNanos()) {
          assertThat(early).as("read within the TTL").isEqualTo("v" + round);
        }
        // Other keys keep the coarse clock moving, as traffic does.
        cache.put("other", "x");
        waitUntil(after + TTL.toNanos());
        assertThat(cache.getIfPresent("k")).as("read at the TTL, round %d", round).isNull();
        assertThat(cache.get("k", k -> "loaded")).isEqualTo("loaded");
      }
    }
  }

  /**
   * The proof reads the hit's precise clock reading, never the coarse copy: with the coarse clock in use (a TTL on
   * the system clock) and a frozen bus, the L1 stops being served within the bound all the same.
   */
  @Test
  void aFrozenBusStopsTheL1WithinTheBoundWhileTheCoarseClockIsInUse() {
    InMemoryBus bus = new InMemoryBus();
    Duration bound = Duration.ofMillis(200);
    AtomicInteger loads = new AtomicInteger();
    TieredCacheBuilder<String, String> builder = TieredCache.<String, String>builder("coarse-proof").keyCodec(k -> k)
        .l1(l1 -> l1.maximumSize(100).expireAfterWrite(Duration.ofMinutes(1))).bus(bus).maxStaleness(bound)
        .executor(Runnable::run);
    try (TieredCache<String, String> a = builder.build(); TieredCache<String, String> b = builder.build()) {
      Function<String, String> loader = k -> "v" + loads.incrementAndGet();
      assertThat(a.get("k", loader)).isEqualTo("v1");
      assertThat(a.get("k", loader)).as("an L1 hit").isEqualTo("v1");
      bus.freeze();
      long frozenAt = System.nanoTime();
      b.invalidate(Invalidation.prefix("k"));
      await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(5))
          .until(() -> !a.get("k", loader).equals("v1"));
      assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - frozenAt)).as("ms until A read past its L1")
          .isLessThan(bound.toMillis() + 2_000);
      int before = loads.get();
      a.get("k", loader);
      assertThat(loads.get()).as("while frozen every read goes past the L1").isGreaterThan(before);
      bus.thaw();
    }
  }

  @Test
  void theCoarseClockNeverMovesBackAndStaysWithinItsGranularityOfAReading() {
    CoarseTicker ticker = new CoarseTicker();
    long start = ticker.read();
    ticker.advance(start - 5 * CoarseTicker.GRANULARITY_NANOS);
    assertThat(ticker.read()).isEqualTo(start);
    ticker.advance(start + CoarseTicker.GRANULARITY_NANOS);
    assertThat(ticker.read()).as("within the granularity: no write").isEqualTo(start);
    long later = start + 3 * CoarseTicker.GRANULARITY_NANOS;
    ticker.advance(later);
    assertThat(ticker.read()).isEqualTo(later);
    ticker.advance(start + 2 * CoarseTicker.GRANULARITY_NANOS);
    assertThat(ticker.read()).isEqualTo(later);
  }

  /** Parks until {@link System#nanoTime()} has passed {@code deadline}; bounded by the test's timeout. */
  private static void waitUntil(long deadline) {
    long left;
    while ((left = deadline - System.nanoTime()) >= 0) {
      LockSupport.parkNanos(left + 1);
    }
  }
}
