package dev.tiercache;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Review (s14, round 5): {@link TieredCache#putIfAbsent} after 179c564, which, having waited for another read of the
 * key, always looks again (L1, then a flight of its own) and gives up with IllegalStateException after 16 such reads.
 * L1 only: no Redis needed.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class PutIfAbsentStarvationReviewTest {

  private final ExecutorService threads = Executors.newFixedThreadPool(3);
  private final AtomicBoolean stop = new AtomicBoolean();
  private TieredCache<String, String> cache;

  @AfterEach
  void close() {
    stop.set(true);
    threads.shutdownNow();
    if (cache != null) {
      cache.close();
    }
  }

  /**
   * Breaks: {@link TieredCache#putIfAbsent} documents that it "reads as get" and that an IllegalStateException means
   * 16 reads in a row left no value it could return. Ordinary gets that each load and return a value must not make a
   * putIfAbsent fail: before 179c564 the joined read's value was returned.
   *
   * <p>How: an L1 of maximumSize(0) (keeps nothing, a documented configuration), no L2. Three threads call get("k")
   * in a bounded loop with a loader that spins 0.2 ms and returns "loaded". The test thread calls putIfAbsent("k",
   * "mine") for at most 8 s, until one fails. Each putIfAbsent joins a get's flight, waits, then (179c564) looks
   * again: the L1 holds nothing, and the hammering thread that owned the flight has already started the next one, which it joins; 16 times in a
   * row, then IllegalStateException, though each of those reads returned a value. Reliability: 3 of 3 runs failed
   * (after 1 to 1,314 calls); passes with the parent's DefaultTieredCache (the joined value is returned).
   */
  @Test
  void getsThatReturnValuesDoNotStarvePutIfAbsent() throws Exception {
    cache = TieredCache.<String, String>builder("pia-starve-review").l1(l1 -> l1.maximumSize(0)).build();
    List<Future<?>> hammers = new ArrayList<>();
    java.util.concurrent.CountDownLatch loading = new java.util.concurrent.CountDownLatch(3);
    for (int t = 0; t < 3; t++) {
      hammers.add(threads.submit(() -> {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!stop.get() && System.nanoTime() < until) {
          cache.get("k", k -> {
            loading.countDown();
            long spin = System.nanoTime() + 200_000;
            while (System.nanoTime() < spin) {
              Thread.onSpinWait();
            }
            return "loaded";
          });
          if (Thread.currentThread().isInterrupted()) {
            return;
          }
        }
      }));
    }
    // The gets are under way (three loader calls seen), bounded.
    assertThat(loading.await(5, TimeUnit.SECONDS)).isTrue();
    int failed = 0;
    int calls = 0;
    RuntimeException first = null;
    long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(8);
    while (failed == 0 && calls < 50_000 && System.nanoTime() < until) {
      calls++;
      try {
        cache.putIfAbsent("k", "mine", Tags.empty(), null);
      } catch (IllegalStateException e) {
        failed++;
        first = e;
      }
    }
    stop.set(true);
    assertThat(failed).as("putIfAbsent calls (of %d) that failed with IllegalStateException: %s", calls, first).isZero();
  }

  /**
   * Breaks: DESIGN.md invariant 9 ("waits are interruptible") as 918462c states it for putIfAbsent ("an interrupted
   * caller stops instead of trying again"): a putIfAbsent interrupted while it waits for another read of the key
   * must not go on to store its own value.
   *
   * <p>How: L1 of maximumSize(0), no L2. A get("k") loads; its loader waits until putIfAbsent("k", "mine") on
   * another thread has joined its flight, then interrupts that thread and returns "loaded". The interrupted waiter
   * wakes to a flight already done: CompletableFuture.get returns the value (flag set again), 179c564's loop
   * "looks again", finds the L1 empty and runs a flight of its own, which stores "mine" and returns null (stored)
   * with the interrupt flag set. Expected: the call stops (CompletionException caused by InterruptedException) or
   * returns what the read found, never a store. Repeated 20 times; fails when any round stores (9 to 14 of 20
   * stored in 3 runs; passes with the parent's DefaultTieredCache, which returned the joined value).
   */
  @Test
  void anInterruptedPutIfAbsentDoesNotStore() throws Exception {
    cache = TieredCache.<String, String>builder("pia-interrupt-review").l1(l1 -> l1.maximumSize(0)).build();
    int stored = 0;
    for (int round = 0; round < 20; round++) {
      java.util.concurrent.CountDownLatch joined = new java.util.concurrent.CountDownLatch(1);
      Thread[] caller = new Thread[1];
      java.util.concurrent.CountDownLatch loading = new java.util.concurrent.CountDownLatch(1);
      Future<String> read = threads.submit(() -> cache.get("k", k -> {
        loading.countDown();
        try {
          if (joined.await(10, TimeUnit.SECONDS)) {
            caller[0].interrupt();
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        return "loaded";
      }));
      assertThat(loading.await(5, TimeUnit.SECONDS)).isTrue();
      Future<Object> put = threads.submit(() -> {
        caller[0] = Thread.currentThread();
        try {
          return cache.putIfAbsent("k", "mine", Tags.empty(), null);
        } catch (RuntimeException e) {
          return e;
        } finally {
          Thread.interrupted();
        }
      });
      org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(5))
          .pollInterval(java.time.Duration.ofMillis(2))
          .until(() -> caller[0] != null && (caller[0].getState() == Thread.State.WAITING
              || caller[0].getState() == Thread.State.TIMED_WAITING));
      joined.countDown();
      assertThat(read.get(10, TimeUnit.SECONDS)).isEqualTo("loaded");
      Object outcome = put.get(10, TimeUnit.SECONDS);
      if (outcome == null) {
        stored++;
      }
    }
    assertThat(stored).as("rounds (of 20) in which the interrupted putIfAbsent stored its value").isZero();
  }
}
