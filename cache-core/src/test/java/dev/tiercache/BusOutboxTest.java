package dev.tiercache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.tiercache.spi.InvalidationBus;
import dev.tiercache.spi.InvalidationMessage;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * An invalidation that returns normally has reached the bus; one the bus refuses throws
 * {@link InvalidationPendingException} and is retried until it goes out, never dropped (issue: a failed publish was
 * never retried, and the other instance served the old value until expiry).
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class BusOutboxTest {

  /** A bus that refuses every publish while it is down, and records what it took. */
  static final class FlakyBus implements InvalidationBus {
    final AtomicBoolean down = new AtomicBoolean();
    final List<InvalidationMessage> taken = new CopyOnWriteArrayList<>();

    @Override
    public CompletableFuture<Void> publish(String cache, InvalidationMessage message) {
      if (down.get()) {
        return CompletableFuture.failedFuture(new IllegalStateException("test: down"));
      }
      taken.add(message);
      return CompletableFuture.completedFuture(null);
    }

    @Override
    public CompletableFuture<Long> heartbeat(String cache) {
      return CompletableFuture.completedFuture(System.nanoTime());
    }

    @Override
    public Subscription subscribe(String cache, Listener listener) {
      return () -> {};
    }
  }

  @Test
  void aRefusedPublishIsReportedAndRetriedUntilTheBusTakesIt() {
    FlakyBus bus = new FlakyBus();
    try (TieredCache<String, String> cache =
        TieredCache.<String, String>builder("outbox").bus(bus).l2RetryInterval(Duration.ofMillis(20)).build()) {
      cache.invalidate(Invalidation.key("before"));
      assertThat(bus.taken).hasSize(1);

      bus.down.set(true);
      assertThatThrownBy(() -> cache.invalidate(Invalidation.key("during")))
          .isInstanceOf(InvalidationPendingException.class)
          .satisfies(e -> assertThat(((InvalidationPendingException) e).invalidation())
              .isEqualTo(Invalidation.key("during")));
      assertThatThrownBy(() -> cache.put("written", "v")).isInstanceOf(InvalidationPendingException.class);
      assertThat(cache.get("written", k -> "loaded")).as("a put the bus refused is still applied here").isEqualTo("v");

      bus.down.set(false);
      await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(bus.taken).hasSize(3));
      assertThat(bus.taken.stream().map(m -> m.invalidations().get(0).argument()))
          .containsExactlyInAnyOrder("before", "during", "written");
    }
  }
}
