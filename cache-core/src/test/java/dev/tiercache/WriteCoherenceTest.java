package dev.tiercache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tiercache.spi.L2Entry;
import dev.tiercache.spi.L2Store;
import dev.tiercache.testkit.ForwardingL2Store;
import dev.tiercache.testkit.InMemoryL2Store;
import dev.tiercache.testkit.TestCodec;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Writes and invalidations that the review found leaving the tiers disagreeing or an invalidation undone. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class WriteCoherenceTest {

  private final InMemoryL2Store store = new InMemoryL2Store();
  private final ExecutorService pool = Executors.newFixedThreadPool(8);

  @AfterEach
  void tearDown() {
    pool.shutdownNow();
  }

  private TieredCacheBuilder<String, String> builder(String name, L2Store l2) {
    return TieredCache.<String, String>builder(name).keyCodec(k -> k).l2(l2).valueCodec(TestCodec.STRING);
  }

  /** A store whose unconditional writes answer late, by a random delay: concurrent puts then end out of order. */
  private static final class SlowAnswers extends ForwardingL2Store {
    SlowAnswers(L2Store delegate) {
      super(delegate);
    }

    @Override
    public CompletableFuture<Void> put(String cache, String key, L2Entry entry, Duration ttl) {
      CompletableFuture<Void> written = super.put(cache, key, entry, ttl);
      written.join();
      LockSupport.parkNanos(ThreadLocalRandom.current().nextLong(TimeUnit.MILLISECONDS.toNanos(3)));
      return written;
    }
  }

  /** Review defect: concurrent puts of one key left the L1 with the first value and the L2 with the second. */
  @Test
  void concurrentPutsOfOneKeyLeaveTheL1AndTheL2WithTheSameValue() throws Exception {
    try (TieredCache<String, String> cache = builder("puts", new SlowAnswers(store)).build();
        TieredCache<String, String> reader = builder("puts", store).build()) {
      for (int round = 0; round < 30; round++) {
        String key = "k" + round;
        CountDownLatch start = new CountDownLatch(1);
        List<Future<?>> writers = new ArrayList<>();
        for (int w = 0; w < 4; w++) {
          String value = "r" + round + "w" + w;
          writers.add(pool.submit(() -> {
            start.await(10, TimeUnit.SECONDS);
            cache.put(key, value);
            return null;
          }));
        }
        start.countDown();
        for (Future<?> writer : writers) {
          writer.get(10, TimeUnit.SECONDS);
        }
        String inL1 = cache.getIfPresent(key);
        String inL2 = reader.getIfPresent(key);
        assertThat(inL1).as("round %d: the L1 keeps what the L2 ended with", round).isEqualTo(inL2);
      }
    }
  }

  /** Review defect: close() dropped pending invalidations, and other instances read the old value until its TTL. */
  @Test
  void closeAppliesWhatIsPendingWhenTheL2IsBack() {
    try (TieredCache<String, String> other = builder("close", store).build()) {
      TieredCache<String, String> cache = builder("close", store).l2RetryInterval(Duration.ofHours(1)).build();
      assertThat(cache.get("k", k -> "old")).isEqualTo("old");
      store.setDown(true);
      assertThatThrownBy(() -> cache.invalidate(Invalidation.key("k")))
          .isInstanceOf(InvalidationPendingException.class);
      store.setDown(false);
      cache.close(); // the retry is an hour away: only close can apply it now
      assertThat(store.holds("close", "k")).isFalse();
      assertThat(other.get("k", k -> "new")).isEqualTo("new");
    }
  }

  /** Review defect: a custom matcher that threw left its invalidation running, and the key was never cached again. */
  @Test
  void anInvalidationWhoseMatcherThrowsStillEndsAndCoversConservatively() {
    InvalidationStrategy throwing =
        new InvalidationStrategy() {
          @Override
          public String name() {
            return "throwing";
          }

          @Override
          public EntryMatcher matcher(String argument) {
            return (key, tags) -> {
              throw new IllegalStateException("matcher bug");
            };
          }

          @Override
          public CompletableFuture<Void> applyTo(L2Store l2, String cache, String argument) {
            return l2.invalidatePattern(cache, "*");
          }
        };
    try (TieredCache<String, String> cache = builder("matcher", store).invalidationStrategy(throwing).build()) {
      assertThat(cache.get("k", k -> "v1")).isEqualTo("v1");
      cache.invalidate(Invalidation.of(throwing, "x"));
      assertThat(cache.get("k", k -> "v2")).as("covered, conservatively").isEqualTo("v2");
      assertThat(cache.get("k", k -> "v3")).as("and cached again").isEqualTo("v2");
    }
  }

  /** Review defect: invalidateAsync on an executor that rejects the task left the invalidation running forever. */
  @Test
  void anAsyncInvalidationThatTheExecutorRejectsRunsOnTheCaller() {
    try (TieredCache<String, String> cache =
        builder("rejecting", store)
            .executor(task -> {
              throw new java.util.concurrent.RejectedExecutionException("full");
            })
            .build()) {
      assertThat(cache.get("k", k -> "v1")).isEqualTo("v1");
      assertThat(cache.invalidateAsync(Invalidation.key("k"))).succeedsWithin(Duration.ofSeconds(5));
      assertThat(cache.get("k", k -> "v2")).isEqualTo("v2");
      assertThat(cache.get("k", k -> "v3")).as("the key is cached again").isEqualTo("v2");
    }
  }

  /** Review defect: meters outlived their cache, and a successor of the same name reported the dead cache's size. */
  @Test
  void closeRemovesTheCachesMetersSoASuccessorReportsItsOwn() {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    TieredCache<String, String> first = builder("metered", store).meterRegistry(registry).build();
    first.get("a", k -> "A");
    first.get("b", k -> "B");
    first.close();
    assertThat(registry.find("cache.size").tag("cache", "metered").gauge()).isNull();
    assertThat(registry.getMeters()).isEmpty();

    try (TieredCache<String, String> second = builder("metered", store).meterRegistry(registry).build()) {
      second.get("c", k -> "C");
      assertThat(registry.get("cache.size").tag("cache", "metered").gauge().value()).isEqualTo(1);
    }
  }
}
