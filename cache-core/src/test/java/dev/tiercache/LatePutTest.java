package dev.tiercache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.tiercache.spi.L2Entry;
import dev.tiercache.testkit.ForwardingL2Store;
import dev.tiercache.testkit.InMemoryBus;
import dev.tiercache.testkit.InMemoryL2Store;
import dev.tiercache.testkit.TestCodec;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Review of issue 9 (QUEUED_BEHIND removed): a store that cannot bound when a put takes effect (the SPI's default
 * {@code put(..., giveUpAfter)}) lets a put the cache gave up on land after a later put of the same key succeeded and
 * after the key's retried invalidation. Without more, the L2 keeps the older value for good; the cache invalidates the
 * key again when the store reports such a late write done.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class LatePutTest {

  private final InMemoryL2Store memory = new InMemoryL2Store();
  private final InMemoryBus bus = new InMemoryBus();
  private final AtomicBoolean holdNextPut = new AtomicBoolean();
  private final CountDownLatch release = new CountDownLatch(1);
  private final CountDownLatch landed = new CountDownLatch(1);

  private final ForwardingL2Store store =
      new ForwardingL2Store(memory) {
        @Override
        public CompletableFuture<Void> put(String cache, String key, L2Entry entry, Duration ttl) {
          if (!holdNextPut.compareAndSet(true, false)) {
            return super.put(cache, key, entry, ttl);
          }
          // A write stuck on its way: it takes effect only when the test lets it.
          return CompletableFuture.runAsync(
              () -> {
                try {
                  release.await(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                  Thread.currentThread().interrupt();
                }
                memory.put(cache, key, entry, ttl).join();
                landed.countDown();
              });
        }
      };

  private TieredCache<String, String> node() {
    return TieredCache.<String, String>builder("late")
        .keyCodec(k -> k)
        .l2(store)
        .bus(bus)
        .valueCodec(TestCodec.STRING)
        .l2Timeout(Duration.ofMillis(100))
        .l2RetryInterval(Duration.ofMillis(50))
        .meterRegistry(new SimpleMeterRegistry())
        .build();
  }

  @Test
  void aPutThatThrewButLandsAfterALaterPutAndTheRetriedInvalidationIsRemovedAgain() throws Exception {
    TieredCache<String, String> a = node();
    TieredCache<String, String> b = node();

    holdNextPut.set(true);
    assertThatThrownBy(() -> a.put("k", "old")).isInstanceOf(InvalidationPendingException.class);
    // Not refused while the invalidation waits: it goes through and is reported done.
    a.put("k", "new");
    await().atMost(Duration.ofSeconds(10)).until(() -> a.status().pendingInvalidations() == 0);

    release.countDown();
    assertThat(landed.await(10, TimeUnit.SECONDS)).isTrue();

    // Another instance may read it in the short window before it is removed again, not for good.
    await().atMost(Duration.ofSeconds(10)).untilAsserted(
        () -> assertThat(b.get("k", k -> "from the database")).isEqualTo("from the database"));
    TieredCache<String, String> c = node();
    assertThat(c.get("k", k -> "from the database")).as("what the L2 ended with").isEqualTo("from the database");
    c.close();
    a.close();
    b.close();
  }
}
