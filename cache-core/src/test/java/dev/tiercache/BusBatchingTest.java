package dev.tiercache;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tiercache.spi.InvalidationBus;
import dev.tiercache.spi.InvalidationMessage;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** A burst of invalidations leaves in few messages, in order, numbered without gaps. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class BusBatchingTest {

  /** A bus whose sends complete only when the test says so, as a slow network would. */
  static final class SlowBus implements InvalidationBus {
    final List<InvalidationMessage> sent = new CopyOnWriteArrayList<>();
    final List<CompletableFuture<Void>> pending = new CopyOnWriteArrayList<>();

    @Override
    public CompletableFuture<Void> publish(String cache, InvalidationMessage message) {
      sent.add(message);
      CompletableFuture<Void> done = new CompletableFuture<>();
      pending.add(done);
      return done;
    }

    @Override
    public Subscription subscribe(String cache, Listener listener) {
      return () -> {};
    }

    void completeAll() {
      // Completing one send may start the next; loop until nothing is left in flight.
      for (int i = 0; i < pending.size(); i++) {
        pending.get(i).complete(null);
      }
    }
  }

  @Test
  void invalidationsIssuedWhileAMessageIsInFlightShareTheNextMessage() {
    SlowBus bus = new SlowBus();
    TieredCache<String, String> cache = TieredCache.<String, String>builder("batching").bus(bus).build();
    for (int i = 0; i < 100; i++) {
      cache.invalidate(Invalidation.key("k" + i));
    }
    // The first invalidation went out alone; the other 99 wait for it.
    assertThat(bus.sent).hasSize(1);
    bus.completeAll();
    assertThat(bus.sent).hasSize(2);
    assertThat(bus.sent.get(1).invalidations()).hasSize(99);
    bus.completeAll();

    List<String> arguments = new ArrayList<>();
    bus.sent.forEach(m -> m.invalidations().forEach(item -> arguments.add(item.argument())));
    List<String> expected = new ArrayList<>();
    for (int i = 0; i < 100; i++) {
      expected.add("k" + i);
    }
    assertThat(arguments).containsExactlyElementsOf(expected);
    assertThat(bus.sent).extracting(InvalidationMessage::sequence).containsExactly(1L, 2L);
    cache.close();
  }

  @Test
  void aFailedSendKeepsItsNumberSoReceiversSeeTheGap() {
    SlowBus bus = new SlowBus();
    TieredCache<String, String> cache = TieredCache.<String, String>builder("batching-fail").bus(bus).build();
    cache.invalidate(Invalidation.key("a"));
    bus.pending.get(0).completeExceptionally(new IllegalStateException("network down"));
    cache.invalidate(Invalidation.key("b"));
    assertThat(bus.sent).extracting(InvalidationMessage::sequence).containsExactly(1L, 2L);
    cache.close();
  }
}
