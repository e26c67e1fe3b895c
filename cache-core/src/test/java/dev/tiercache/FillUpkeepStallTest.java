package dev.tiercache;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tiercache.codec.ValueCodecs;
import dev.tiercache.spi.L2Store;
import dev.tiercache.testkit.ExpiryBacklog;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A read's L1 fill runs Caffeine's upkeep on the reading thread, and with an expiry that upkeep expires every entry
 * past it, however many. It ran under the key's {@code KeyLog} stripe, so the stripe's installs and writes (and
 * another instance's invalidation of one of its keys, on the bus's delivering thread) waited for the whole backlog.
 * Here the upkeep is held at its first expiry (the eviction counter blocks), and an invalidation of the filled key,
 * which takes that stripe, must still complete.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class FillUpkeepStallTest {

  private static final int ENTRIES = 50_000;

  /** A registry whose eviction counter, once armed, holds the thread that counts until released. */
  static final class GatedEvictions extends SimpleMeterRegistry {
    final CountDownLatch reached = new CountDownLatch(1);
    final CountDownLatch release = new CountDownLatch(1);
    final AtomicReference<Thread> held = new AtomicReference<>();
    volatile boolean armed;

    /**
     * A cache counting on this registry, with a TTL of a minute on a clock of its own, holding {@code entries} keys
     * that all expired a minute ago (none expired yet by Caffeine), and this gate armed.
     */
    TieredCache<String, String> expiredBacklog(String name, int entries) {
      return expiredBacklog(name, entries, null);
    }

    /** As {@link #expiredBacklog(String, int)}, in front of an L2 when {@code l2} is not null. */
    TieredCache<String, String> expiredBacklog(String name, int entries, L2Store l2) {
      long[] now = {1};
      TieredCacheBuilder<String, String> builder = TieredCache.<String, String>builder(name)
          .keyCodec(k -> k)
          .l1(l1 -> l1.maximumSize(1_000_000).expireAfterWrite(Duration.ofMinutes(1)))
          .ticker(() -> now[0])
          .meterRegistry(this);
      if (l2 != null) {
        builder.l2(l2).valueCodec(ValueCodecs.string());
      }
      TieredCache<String, String> cache = builder.build();
      ExpiryBacklog.fill(cache, entries);
      assertThat(cache.estimatedL1Size()).isEqualTo(entries);
      now[0] += TimeUnit.MINUTES.toNanos(2);
      armed = true;
      return cache;
    }

    @Override
    protected Counter newCounter(Meter.Id id) {
      Counter real = super.newCounter(id);
      if (!id.getName().equals("cache.evictions")) {
        return real;
      }
      return new Counter() {
        @Override
        public void increment(double amount) {
          if (armed && held.compareAndSet(null, Thread.currentThread())) {
            reached.countDown();
            try {
              release.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
          }
          real.increment(amount);
        }

        @Override
        public double count() {
          return real.count();
        }

        @Override
        public Meter.Id getId() {
          return real.getId();
        }
      };
    }
  }

  @Test
  void aFillThatExpiresABacklogDoesNotHoldItsKeysStripeMeanwhile() throws Exception {
    GatedEvictions registry = new GatedEvictions();
    try (TieredCache<String, String> cache = registry.expiredBacklog("fill-stall", ENTRIES)) {

      AtomicReference<String> filled = new AtomicReference<>();
      Thread reader = new Thread(() -> filled.set(cache.get("fresh", k -> "loaded")), "filling-reader");
      reader.start();
      assertThat(registry.reached.await(30, TimeUnit.SECONDS)).as("the upkeep reached its first expiry").isTrue();
      assertThat(registry.held.get()).as("the fill's own thread runs its upkeep").isSameAs(reader);

      CountDownLatch invalidated = new CountDownLatch(1);
      Thread writer = new Thread(() -> {
        cache.invalidateKey("fresh");
        invalidated.countDown();
      }, "stripe-writer");
      writer.start();
      boolean done = invalidated.await(10, TimeUnit.SECONDS);
      registry.release.countDown();
      reader.join(TimeUnit.SECONDS.toMillis(30));
      writer.join(TimeUnit.SECONDS.toMillis(30));
      assertThat(done).as("an invalidation of the filled key while its fill's upkeep expires the backlog").isTrue();
      assertThat(filled.get()).isEqualTo("loaded");
      assertThat(cache.getIfPresent("fresh")).as("the invalidation came after the install").isNull();
      assertThat(cache.estimatedL1Size()).as("the backlog expired").isZero();
    }
  }
}
