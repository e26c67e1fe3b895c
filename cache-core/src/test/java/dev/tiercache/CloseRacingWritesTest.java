package dev.tiercache;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tiercache.testkit.InMemoryBus;
import dev.tiercache.testkit.InMemoryL2Store;
import dev.tiercache.testkit.TestCodec;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * close() while real threads put, invalidate and read through a cache with an L2, a bus and a tiny L1 (the writers'
 * inline upkeep): close returns, the bus subscription is released, and every racing call either completes or is
 * refused with the documented IllegalStateException, never another exception nor a hang.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class CloseRacingWritesTest {

  @Test
  void closeRacingWritersEndsCleanly() throws Exception {
    for (int round = 0; round < 20; round++) {
      InMemoryBus bus = new InMemoryBus();
      TieredCache<String, String> cache =
          TieredCache.<String, String>builder("close-race")
              .keyCodec(k -> k)
              .valueCodec(TestCodec.STRING)
              .l2(new InMemoryL2Store())
              .bus(bus)
              .l1(l1 -> l1.maximumSize(2))
              .build();
      AtomicReference<Throwable> unexpected = new AtomicReference<>();
      AtomicInteger done = new AtomicInteger();
      CountDownLatch running = new CountDownLatch(4);
      List<Thread> threads = new ArrayList<>();
      for (int t = 0; t < 4; t++) {
        int id = t;
        Thread thread = new Thread(() -> {
          running.countDown();
          for (int i = 0; ; i++) {
            String key = "k" + (i % 16);
            try {
              switch ((i + id) % 3) {
                case 0 -> cache.put(key, "v" + i);
                case 1 -> cache.invalidateKey(key);
                default -> cache.get(key, k -> "loaded");
              }
              done.incrementAndGet();
            } catch (IllegalStateException closed) {
              return;
            } catch (InvalidationPendingException pending) {
              // The bus was closed under the write: documented, and the message is kept.
            } catch (Throwable e) {
              unexpected.compareAndSet(null, e);
              return;
            }
          }
        });
        thread.start();
        threads.add(thread);
      }
      assertThat(running.await(10, TimeUnit.SECONDS)).isTrue();
      int before = done.get();
      org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10)).until(() -> done.get() > before + 50);
      cache.close();
      for (Thread thread : threads) {
        thread.join(TimeUnit.SECONDS.toMillis(10));
        assertThat(thread.isAlive()).as("round %d: a racing call returned", round).isFalse();
      }
      assertThat(unexpected.get()).as("round %d", round).isNull();
      assertThat(bus.subscribers("close-race")).as("round %d: unsubscribed", round).isZero();
    }
  }
}
