package dev.tiercache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.awaitility.Awaitility.await;

import dev.tiercache.spi.L2Entry;
import dev.tiercache.testkit.ForwardingL2Store;
import dev.tiercache.testkit.InMemoryBus;
import dev.tiercache.testkit.InMemoryL2Store;
import dev.tiercache.testkit.TestCodec;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The retries of an invalidation whose store call keeps throwing an {@link Error} back off as the retries of a failed
 * call do (50 ms, doubling, then {@code l2RetryInterval}): counted as failures, they came every 50 ms for as long as
 * the bug lasted, and the Error escaped on the executor's thread at each.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class StoreErrorRetryTest {

  static final class StoreBug extends Error {
    private static final long serialVersionUID = 1L;

    StoreBug() {
      super("a store's bug");
    }
  }

  private final InMemoryL2Store memory = new InMemoryL2Store();
  private final AtomicBoolean healed = new AtomicBoolean();
  /** When each call of invalidateKey came (nanoTime). */
  private final List<Long> attempts = new CopyOnWriteArrayList<>();
  private final ForwardingL2Store store = new ForwardingL2Store(memory) {
    @Override
    public CompletableFuture<Void> invalidateKey(String cache, String key) {
      attempts.add(System.nanoTime());
      if (!healed.get()) {
        throw new StoreBug();
      }
      return super.invalidateKey(cache, key);
    }
  };
  private final ExecutorService executor = Executors.newCachedThreadPool();
  private final TieredCache<String, String> cache =
      TieredCache.<String, String>builder("store-error-retry")
          .keyCodec(k -> k)
          .l2(store)
          .bus(new InMemoryBus())
          .valueCodec(TestCodec.STRING)
          .executor(executor)
          .l2RetryInterval(Duration.ofSeconds(30))
          .build();

  @AfterEach
  void close() throws InterruptedException {
    healed.set(true);
    cache.close();
    executor.shutdown();
    assertThat(executor.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
  }

  @Test
  void retriesThatMeetTheErrorBackOff() {
    cache.put("user:1", "v1");
    assertThat(catchThrowable(() -> cache.invalidateKey("user:1"))).isInstanceOf(StoreBug.class);

    // The first attempt, then retries after 50, 100, 200 and 400 ms when each counts as a failure.
    await().atMost(Duration.ofSeconds(20)).until(() -> attempts.size() >= 5);
    long lastGapMillis = TimeUnit.NANOSECONDS.toMillis(attempts.get(4) - attempts.get(3));
    assertThat(lastGapMillis).as("the gap before the fourth retry (200 ms when backing off)").isGreaterThanOrEqualTo(150);

    healed.set(true);
    await().atMost(Duration.ofSeconds(20)).until(() -> memory.get("store-error-retry", "user:1").join().entry() == null);
    L2Entry entry = memory.get("store-error-retry", "user:1").join().entry();
    assertThat(entry).as("the retry landed once the bug was gone").isNull();
  }
}
