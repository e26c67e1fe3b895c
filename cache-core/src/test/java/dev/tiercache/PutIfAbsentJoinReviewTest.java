package dev.tiercache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Review (s14, round 4): {@link TieredCache#putIfAbsent}'s catch-and-retry around a joined read (3c1067c), attacked
 * with an interrupted caller and with the load timeout. L1 only: no Redis needed.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class PutIfAbsentJoinReviewTest {

  private final List<TieredCache<String, String>> caches = new ArrayList<>();
  private final ExecutorService threads = Executors.newFixedThreadPool(2);
  private final CountDownLatch release = new CountDownLatch(1);

  @AfterEach
  void close() {
    release.countDown();
    threads.shutdownNow();
    caches.forEach(TieredCache::close);
  }

  private TieredCache<String, String> cache(Duration loadTimeout) {
    TieredCacheBuilder<String, String> builder = TieredCache.<String, String>builder("pia-join-review");
    if (loadTimeout != null) {
      builder.loadTimeout(loadTimeout);
    }
    TieredCache<String, String> cache = builder.build();
    caches.add(cache);
    return cache;
  }

  /** Starts get("k") whose loader blocks until {@link #release} (at most 10 s), then returns {@code value}. */
  private Future<String> slowGet(TieredCache<String, String> cache, String value) throws InterruptedException {
    CountDownLatch loading = new CountDownLatch(1);
    Future<String> read =
        threads.submit(
            () ->
                cache.get(
                    "k",
                    k -> {
                      loading.countDown();
                      try {
                        release.await(10, TimeUnit.SECONDS);
                      } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                      }
                      return value;
                    }));
    assertThat(loading.await(5, TimeUnit.SECONDS)).as("the read's loader runs").isTrue();
    return read;
  }

  /**
   * Breaks: DESIGN.md invariant 9 ("waits are interruptible") as {@link TieredCache#get} documents it for a wait on
   * another caller's load: a CompletionException caused by InterruptedException, the interrupt flag set again.
   *
   * <p>How: a get(k) on another thread is loading. An interrupted thread calls putIfAbsent(k, ...), which joins that
   * flight. Waits.await throws CompletionException(InterruptedException), which putIfAbsent's
   * {@code catch (RuntimeException otherLoadFailed) { continue; }} takes for "another read's loader failed": it joins
   * the same flight 15 more times (each wait fails at once, the flag being set) and then throws
   * IllegalStateException "putIfAbsent met 16 reads of the key in a row that found nothing; try again" -- which is
   * false (the read has found nothing yet) and invites the caller to retry in a loop while interrupted.
   */
  @Test
  void anInterruptedPutIfAbsentSaysItWasInterrupted() throws Exception {
    TieredCache<String, String> cache = cache(null);
    Future<String> read = slowGet(cache, "loaded");
    Future<Throwable> put =
        threads.submit(
            () -> {
              Thread.currentThread().interrupt();
              try {
                return catchThrowable(() -> cache.putIfAbsent("k", "mine", Tags.empty(), "<absent>"));
              } finally {
                Thread.interrupted();
              }
            });
    Throwable thrown = put.get(10, TimeUnit.SECONDS);
    release.countDown();
    assertThat(read.get(10, TimeUnit.SECONDS)).isEqualTo("loaded");
    assertThat(thrown)
        .as("an interrupted putIfAbsent waiting for another load")
        .isInstanceOf(CompletionException.class)
        .hasCauseInstanceOf(InterruptedException.class);
  }

  /**
   * Breaks: "Without a trusted L2 (none ...) it is stored in this instance's L1 only, ... atomically with the other
   * reads and writes of the key on this instance": a value putIfAbsent reported stored (null) is replaced, with no
   * put and no invalidation, by a get's loaded value; a second putIfAbsent then returns that value, not the first's.
   *
   * <p>How: L1-only cache with loadTimeout 300 ms. get(k) loads slowly. putIfAbsent(k, "mine") joins its flight, its
   * wait times out (Waits detaches the flight), putIfAbsent catches the TimeoutException as "another read's loader
   * failed", registers its own flight and stores "mine" (returns null). The slow loader then returns "loaded" and
   * installs it over "mine" (a load's install is only checked against invalidations, and a putIfAbsent's store
   * bumps no epoch as a put does). Before 3c1067c the timeout reached the caller and nothing was stored.
   */
  @Test
  void aStoreAfterATimedOutJoinIsNotOverwrittenByTheSlowLoad() throws Exception {
    TieredCache<String, String> cache = cache(Duration.ofMillis(300));
    Future<String> read = slowGet(cache, "loaded");
    Throwable[] failed = new Throwable[1];
    String returned = null;
    try {
      returned = cache.putIfAbsent("k", "mine", Tags.empty(), "<absent>");
    } catch (RuntimeException e) {
      failed[0] = e; // a timeout that reaches the caller (nothing stored) is acceptable
    }
    release.countDown();
    read.get(10, TimeUnit.SECONDS);
    if (failed[0] != null) {
      return;
    }
    assertThat(returned).as("putIfAbsent stored").isNull();
    // The slow load has finished: whatever it installed is in the L1 by now.
    await().atMost(Duration.ofSeconds(5)).pollDelay(Duration.ofMillis(100)).until(() -> true);
    assertThat(cache.getIfPresent("k"))
        .as("what a putIfAbsent reported stored, with no put or invalidation since")
        .isEqualTo("mine");
    assertThat(cache.putIfAbsent("k", "other", Tags.empty(), "<absent>"))
        .as("a later putIfAbsent returns the value the first one stored")
        .isEqualTo("mine");
  }
}
