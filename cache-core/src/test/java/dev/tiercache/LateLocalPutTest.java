package dev.tiercache;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Review 9 of the L1-only put that installs after its key's stripe is released (b6c3d78). A put whose install is
 * held past an invalidation that covers it (its entry is then checked as older than that invalidation) must not
 * erase what a later put of the key wrote: both puts returned and nothing else wrote or invalidated the key after the
 * invalidation, so every linearization ends with one of the two values, never with neither.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class LateLocalPutTest {

  private static final String KEY = "user:42";

  private final ExecutorService pool = Executors.newFixedThreadPool(3);

  @AfterEach
  void tearDown() {
    pool.shutdownNow();
  }

  @Test
  void aHeldPutCoveredByATagInvalidationDoesNotEraseALaterPut() throws Exception {
    AtomicReference<Thread> holdIn = new AtomicReference<>();
    CountDownLatch weighing = new CountDownLatch(1);
    CountDownLatch weighed = new CountDownLatch(1);
    try (TieredCache<String, String> cache = TieredCache.<String, String>builder("late-local-put").keyCodec(k -> k)
        .l1(l1 -> l1.<String>maximumWeight(1_000, (k, v) -> {
          if (Thread.currentThread() == holdIn.get()) {
            weighing.countDown();
            Rows.await(weighed);
          }
          return 1;
        })).build()) {
      Future<?> older = pool.submit(() -> {
        holdIn.set(Thread.currentThread());
        cache.put(KEY, "older", Tags.of("tenant:7"));
      });
      assertThat(weighing.await(10, TimeUnit.SECONDS)).as("the older put reached its install").isTrue();
      // The tag invalidation returns while the older put is held: the older put's value is checked as older than it.
      pool.submit(() -> cache.invalidate(Invalidation.tag("tenant:7"))).get(10, TimeUnit.SECONDS);
      AtomicReference<Thread> newerThread = new AtomicReference<>();
      Future<?> newer = pool.submit(() -> {
        newerThread.set(Thread.currentThread());
        cache.put(KEY, "newer");
      });
      // Either the newer put returns (the stripe is not held across the install) or it waits for the older put's
      // stripe (it was before b6c3d78); no time is guessed.
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
      while (!newer.isDone()
          && (newerThread.get() == null || newerThread.get().getState() != Thread.State.BLOCKED)) {
        assertThat(System.nanoTime() - deadline).as("the newer put neither returned nor waits").isNegative();
        Thread.onSpinWait();
      }
      boolean newerReturnedFirst = newer.isDone();
      if (newerReturnedFirst) {
        newer.get();
        assertThat(cache.getIfPresent(KEY)).as("a read after the newer put returned").isEqualTo("newer");
      }
      weighed.countDown();
      older.get(10, TimeUnit.SECONDS);
      newer.get(10, TimeUnit.SECONDS);
      AtomicInteger loads = new AtomicInteger();
      String read = cache.get(KEY, k -> {
        loads.incrementAndGet();
        return "loaded";
      });
      // The older put may come last (then its value, which the invalidation before it does not cover), or before the
      // invalidation (then the newer put's value): not neither.
      assertThat(read).as("after both puts returned (newer returned first: %s)", newerReturnedFirst)
          .isIn("newer", "older");
      assertThat(loads).as("loader calls after both puts returned").hasValue(0);
    } finally {
      weighed.countDown();
    }
  }
  /**
   * The same with the default L1 (no weigher: values may be kept raw) and a put that is refused: the put's check of
   * invalidations that may cover many keys now runs after the stripe is released, and a refused put removes the key
   * unconditionally. The put is held in that check by the matcher of a custom invalidation that is still running (its
   * end waits on the cache's executor) and does not cover the key; meanwhile a prefix invalidation that covers the key
   * runs and returns, and a later put of the key returns. The held put is then refused (it is older than the prefix
   * invalidation) and removes what the later put wrote. A matcher must not block; the latch stands for the thread
   * being descheduled there.
   */
  @Test
  void aPutRefusedAfterItsStripeIsReleasedDoesNotRemoveALaterPut() throws Exception {
    AtomicReference<Thread> holdIn = new AtomicReference<>();
    CountDownLatch matching = new CountDownLatch(1);
    CountDownLatch matched = new CountDownLatch(1);
    ConcurrentLinkedQueue<Runnable> deferred = new ConcurrentLinkedQueue<>();
    InvalidationStrategy holding = new InvalidationStrategy() {
      @Override
      public String name() {
        return "holding";
      }

      @Override
      public EntryMatcher matcher(String argument) {
        return (key, tags) -> {
          if (Thread.currentThread() == holdIn.get()) {
            matching.countDown();
            Rows.await(matched);
          }
          return key.equals(argument);
        };
      }

      @Override
      public CompletableFuture<Void> applyTo(dev.tiercache.spi.L2Store store, String cache, String argument) {
        return CompletableFuture.completedFuture(null);
      }
    };
    try (TieredCache<String, String> cache = TieredCache.<String, String>builder("late-refused-put").keyCodec(k -> k)
        .l1(l1 -> l1.maximumSize(100_000)).executor(deferred::add).build()) {
      // Running until its deferred end is run: it covers another key only.
      CompletableFuture<Void> unrelated = cache.invalidateAsync(Invalidation.of(holding, "other:1"));
      Future<?> older = pool.submit(() -> {
        holdIn.set(Thread.currentThread());
        cache.put(KEY, "older");
      });
      assertThat(matching.await(10, TimeUnit.SECONDS)).as("the older put took its stamp and checks").isTrue();
      pool.submit(() -> cache.invalidate(Invalidation.prefix("user:"))).get(10, TimeUnit.SECONDS);
      AtomicReference<Thread> newerThread = new AtomicReference<>();
      Future<?> newer = pool.submit(() -> {
        newerThread.set(Thread.currentThread());
        cache.put(KEY, "newer");
      });
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
      while (!newer.isDone()
          && (newerThread.get() == null || newerThread.get().getState() != Thread.State.BLOCKED)) {
        assertThat(System.nanoTime() - deadline).as("the newer put neither returned nor waits").isNegative();
        Thread.onSpinWait();
      }
      boolean newerReturnedFirst = newer.isDone();
      if (newerReturnedFirst) {
        newer.get();
        assertThat(cache.getIfPresent(KEY)).as("a read after the newer put returned").isEqualTo("newer");
      }
      matched.countDown();
      older.get(10, TimeUnit.SECONDS);
      newer.get(10, TimeUnit.SECONDS);
      for (Runnable task; (task = deferred.poll()) != null; ) {
        task.run();
      }
      unrelated.get(10, TimeUnit.SECONDS);
      AtomicInteger loads = new AtomicInteger();
      String read = cache.get(KEY, k -> {
        loads.incrementAndGet();
        return "loaded";
      });
      assertThat(read).as("after both puts returned (newer returned first: %s)", newerReturnedFirst)
          .isIn("newer", "older");
      assertThat(loads).as("loader calls after both puts returned").hasValue(0);
    } finally {
      matched.countDown();
      for (Runnable task; (task = deferred.poll()) != null; ) {
        task.run();
      }
    }
  }
}
