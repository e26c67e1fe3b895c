package dev.tiercache;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Review of 0e09014 (s13-l1): a load now runs its install (and so the user's weigher) inside
 * {@code L1Upkeep.fillAfterLock}'s deferral scope ({@code Loads.finishAhead}), and a {@code getAsync} future whose flight
 * completes on a thread inside such a scope is only queued ({@code L1Upkeep.afterUpkeep}), to be completed when that
 * scope ends. User code that runs inside the scope (the weigher, documented as "called before the entry is installed,
 * outside the cache's locks") and waits for a {@code getAsync} future completed on its own thread therefore waits for
 * the end of the very scope it is holding open: it can never complete. On main the weigher ran outside any deferral
 * scope (L1Tier.install weighs before its own fillAfterLock), and the same code returns at once.
 *
 * <p>The cache uses a direct executor ({@code Runnable::run}, as several of the suite's own tests do), so the nested
 * {@code getAsync} load runs on the weighing thread. The waits are bounded (2 s inside the weigher), so the test reports
 * instead of hanging. Without them (a plain join()) the loading thread waits for ever, and with it the outer key's
 * flight and every reader joined to it. Same results with s13-l1 at 07b8b54 (holdUpkeep/runHeldUpkeep refactor).
 * Any executor that may run a task on the submitting thread (CallerRunsPolicy when saturated) meets it too. Fixed by
 * weighing (and decoding) before the scope opens ({@code L1Tier#weigh}, {@code Loads.finishAhead}): red before.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class UpkeepScopeUserCodeReviewTest {

  private static final ExecutorService THREADS = Executors.newCachedThreadPool(r -> {
    Thread thread = new Thread(r, "upkeep-scope-review");
    thread.setDaemon(true);
    return thread;
  });

  @AfterAll
  static void stop() {
    THREADS.shutdownNow();
  }

  /** What the weigher's nested getAsync gave: the value, or the failure of waiting 2 s for it. */
  private static final class Nested {
    final AtomicReference<Object> outcome = new AtomicReference<>();
    final AtomicReference<CompletableFuture<String>> future = new AtomicReference<>();
  }

  private static TieredCache<String, String> weighingCache(String name, Nested nested) {
    return weighingCache(name, nested, null);
  }

  private static TieredCache<String, String> weighingCache(String name, Nested nested, java.time.Duration loadTimeout) {
    AtomicReference<TieredCache<String, String>> self = new AtomicReference<>();
    TieredCacheBuilder<String, String> builder = TieredCache.<String, String>builder(name)
        .l1(l1 -> l1.maximumWeight(10_000, (String k, String v) -> {
          if (k.startsWith("outer")) {
            // The weight of an outer value depends on another entry of the cache, read asynchronously.
            CompletableFuture<String> inner = self.get().getAsync("inner-" + k, Tags.empty(), x -> "iv");
            nested.future.set(inner);
            try {
              nested.outcome.set(inner.get(2, TimeUnit.SECONDS));
            } catch (Exception e) {
              nested.outcome.set(e);
            }
          }
          return 1;
        }))
        .executor(Runnable::run);
    if (loadTimeout != null) {
      builder.loadTimeout(loadTimeout);
    }
    TieredCache<String, String> cache = builder.build();
    self.set(cache);
    return cache;
  }

  /**
   * Expected: the weigher's getAsync of another key (loaded inline by the direct executor) completes, and the outer get
   * returns "ov" at once. Observed on s13-l1: the nested future is not completed within 2 s (TimeoutException inside
   * the weigher): it is queued behind the outer load's deferral scope, which the weigher holds open. It completes only
   * after the outer load's scope ends (asserted below, to show where it went). Green on main.
   */
  @Test
  void aWeigherWaitingForAGetAsyncOnItsOwnThreadIsNotQueuedBehindItsOwnLoad() throws Exception {
    Nested nested = new Nested();
    try (TieredCache<String, String> cache = weighingCache("weigher-get", nested)) {
      long start = System.nanoTime();
      String got = CompletableFuture.supplyAsync(() -> cache.get("outer-1", Tags.empty(), k -> "ov"), THREADS)
          .get(20, TimeUnit.SECONDS);
      long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
      assertThat(got).isEqualTo("ov");
      // Where the nested future went: completed after the outer scope ended (not lost, but too late for its waiter).
      assertThat(nested.future.get()).isNotNull();
      assertThat(nested.future.get().isDone()).as("nested future completed once the outer scope ended").isTrue();
      assertThat(nested.outcome.get())
          .as("the weigher's getAsync(...).get(2 s) on its own thread (outer get took %d ms)", tookMs)
          .isEqualTo("iv");
    }
  }

  /** As above, for the bulk load: getAll's install runs the weigher inside Loads.loadMissing's finishAhead. */
  @Test
  void aWeigherWaitingForAGetAsyncInsideAGetAllIsNotQueuedBehindTheBulkLoad() throws Exception {
    Nested nested = new Nested();
    try (TieredCache<String, String> cache = weighingCache("weigher-getall", nested)) {
      Map<String, String> got = CompletableFuture.supplyAsync(
              () -> cache.getAll(Set.of("outer-2"), keys -> Map.of("outer-2", "ov")), THREADS)
          .get(20, TimeUnit.SECONDS);
      assertThat(got).containsEntry("outer-2", "ov");
      assertThat(nested.outcome.get()).as("the weigher's getAsync(...).get(2 s) inside getAll").isEqualTo("iv");
    }
  }

  /**
   * With a load timeout (500 ms) the nested future does not wait for ever: it fails with the load timeout's
   * TimeoutException ("the load did not finish within the load timeout") although its load finished at once.
   * Expected "iv"; observed on s13-l1: ExecutionException caused by TimeoutException after 500 ms.
   */
  @Test
  void withALoadTimeoutTheWeighersGetAsyncGetsItsValue() throws Exception {
    Nested nested = new Nested();
    try (TieredCache<String, String> cache =
        weighingCache("weigher-timeout", nested, java.time.Duration.ofMillis(500))) {
      String got = CompletableFuture.supplyAsync(() -> cache.get("outer-4", Tags.empty(), k -> "ov"), THREADS)
          .get(20, TimeUnit.SECONDS);
      assertThat(got).isEqualTo("ov");
      assertThat(nested.outcome.get()).as("the weigher's getAsync with a 500 ms load timeout").isEqualTo("iv");
    }
  }

  /** Control: the same getAsync from the same weigher, on a put (no load, so no deferral scope), completes. */
  @Test
  void controlTheSameWeigherOnAPutGetsItsValue() throws Exception {
    Nested nested = new Nested();
    try (TieredCache<String, String> cache = weighingCache("weigher-put", nested)) {
      CompletableFuture.runAsync(() -> cache.put("outer-3", "ov"), THREADS).get(20, TimeUnit.SECONDS);
      assertThat(nested.outcome.get()).isEqualTo("iv");
      assertThat(nested.outcome.get()).isNotInstanceOf(TimeoutException.class);
    }
  }
}
