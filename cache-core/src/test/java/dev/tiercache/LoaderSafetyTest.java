package dev.tiercache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tiercache.testkit.InMemoryL2Store;
import dev.tiercache.testkit.TestCodec;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * DESIGN.md invariant 9 (loaders are user code) and the one key rule of invariant 6: re-entrant loaders get a clear
 * error instead of a deadlock, waits are interruptible and bounded by the load timeout, failures reach sync and
 * async callers the same way, and keys and values are bounded.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class LoaderSafetyTest {

  private final ExecutorService pool = Executors.newCachedThreadPool();
  private final InMemoryL2Store store = new InMemoryL2Store();

  @AfterEach
  void tearDown() {
    pool.shutdownNow();
  }

  private TieredCacheBuilder<String, String> builder(String name) {
    return TieredCache.<String, String>builder(name).keyCodec(k -> k);
  }

  // ---- re-entrance ----

  @Test
  void aLoaderThatAsksForItsOwnKeyGetsAClearErrorInsteadOfADeadlock() {
    try (TieredCache<String, String> cache = builder("reentry").build()) {
      AtomicReference<Function<String, String>> loader = new AtomicReference<>();
      loader.set(k -> cache.get(k, loader.get()));
      assertThatThrownBy(() -> cache.get("a", loader.get()))
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("its own thread is loading");
      assertThat(cache.get("a", k -> "fine")).as("the key is usable afterwards").isEqualTo("fine");
    }
  }

  @Test
  void aCycleThroughAnotherKeyIsRefusedToo() {
    try (TieredCache<String, String> cache = builder("cycle").build()) {
      AtomicReference<Function<String, String>> loader = new AtomicReference<>();
      loader.set(k -> cache.get(k.equals("a") ? "b" : "a", loader.get()));
      assertThatThrownBy(() -> cache.get("a", loader.get())).isInstanceOf(IllegalStateException.class);
    }
  }

  @Test
  void aBulkLoaderThatAsksForAKeyItIsLoadingIsRefused() {
    try (TieredCache<String, String> cache = builder("bulk-reentry").build()) {
      assertThatThrownBy(() -> cache.getAll(List.of("a", "b"), keys -> Map.of("a", cache.get("b", k -> "x"))))
          .isInstanceOf(IllegalStateException.class);
      assertThat(cache.getAll(List.of("a"), keys -> Map.of("a", "A"))).containsEntry("a", "A");
    }
  }

  // ---- waits ----

  @Test
  void aWaiterCanBeInterrupted() throws Exception {
    try (TieredCache<String, String> cache = builder("interrupt").build()) {
      CountDownLatch release = new CountDownLatch(1);
      Future<String> owner = blockedLoad(cache, release, "v");
      AtomicReference<Throwable> thrown = new AtomicReference<>();
      AtomicBoolean flagKept = new AtomicBoolean();
      Thread waiter = new Thread(() -> {
        try {
          cache.get("k", k -> "unexpected");
        } catch (Throwable t) {
          thrown.set(t);
          flagKept.set(Thread.currentThread().isInterrupted());
        }
      });
      waiter.start();
      org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10))
          .until(() -> waiter.getState() == Thread.State.WAITING || waiter.getState() == Thread.State.TIMED_WAITING);
      waiter.interrupt();
      waiter.join(10_000);
      assertThat(thrown.get()).isInstanceOf(CompletionException.class).hasCauseInstanceOf(InterruptedException.class);
      assertThat(flagKept).isTrue();
      release.countDown();
      assertThat(owner.get(10, TimeUnit.SECONDS)).isEqualTo("v");
    }
  }

  @Test
  void theLoadTimeoutFreesWaitersAndTheNextCallerLoadsAfresh() throws Exception {
    try (TieredCache<String, String> cache = builder("timeout").loadTimeout(Duration.ofMillis(200)).build()) {
      CountDownLatch release = new CountDownLatch(1);
      Future<String> stuck = blockedLoad(cache, release, "late");
      long start = System.nanoTime();
      assertThatThrownBy(() -> cache.get("k", k -> "unexpected"))
          .isInstanceOf(CompletionException.class)
          .hasCauseInstanceOf(TimeoutException.class);
      assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
      assertThat(cache.getAsync("k", Tags.empty(), k -> "async"))
          .as("the stuck flight was detached: a new one loads")
          .succeedsWithin(Duration.ofSeconds(5))
          .isEqualTo("async");
      release.countDown();
      assertThat(stuck.get(10, TimeUnit.SECONDS)).isEqualTo("late");
    }
  }

  @Test
  void anAsyncWaiterTimesOutWithTheTimeoutException() throws Exception {
    try (TieredCache<String, String> cache = builder("async-timeout").loadTimeout(Duration.ofMillis(100)).build()) {
      CountDownLatch release = new CountDownLatch(1);
      CompletableFuture<String> first = cache.getAsync("k", Tags.empty(), k -> {
        await(release);
        return "v";
      });
      CompletableFuture<String> joined = cache.getAsync("k", Tags.empty(), k -> "unexpected");
      assertThat(joined).failsWithin(Duration.ofSeconds(5))
          .withThrowableOfType(ExecutionException.class).withCauseInstanceOf(TimeoutException.class);
      assertThat(first).as("the getAsync that started the load waits on the executor like any other")
          .failsWithin(Duration.ofSeconds(5))
          .withThrowableOfType(ExecutionException.class).withCauseInstanceOf(TimeoutException.class);
      release.countDown();
    }
  }

  // ---- failures ----

  @Test
  void aCheckedExceptionReachesSyncAndAsyncCallersAsTheSameCause() {
    IOException io = new IOException("disk");
    try (TieredCache<String, String> cache = builder("checked").executor(Runnable::run).build()) {
      assertThatThrownBy(() -> cache.get("k", k -> sneakyThrow(io)))
          .isInstanceOf(CompletionException.class)
          .hasCause(io);
      assertThat(cache.getAsync("k", Tags.empty(), k -> sneakyThrow(io)))
          .failsWithin(Duration.ofSeconds(5))
          .withThrowableOfType(ExecutionException.class)
          .withCause(io);
      IllegalStateException unchecked = new IllegalStateException("db");
      assertThatThrownBy(() -> cache.get("k", k -> {
        throw unchecked;
      })).isSameAs(unchecked);
    }
  }

  @SuppressWarnings("unchecked")
  private static <T extends Throwable> String sneakyThrow(Throwable t) throws T {
    throw (T) t;
  }

  // ---- keys and values ----

  @Test
  void everyOperationRefusesTheEmptyKey() {
    try (TieredCache<String, String> cache = builder("empty").build()) {
      assertThatThrownBy(() -> cache.get("", k -> "v")).isInstanceOf(IllegalArgumentException.class);
      assertThatThrownBy(() -> cache.getIfPresent("")).isInstanceOf(IllegalArgumentException.class);
      assertThatThrownBy(() -> cache.getAll(List.of(""), keys -> Map.of())).isInstanceOf(IllegalArgumentException.class);
      assertThatThrownBy(() -> cache.put("", "v")).isInstanceOf(IllegalArgumentException.class);
      assertThatThrownBy(() -> cache.invalidateKey("")).isInstanceOf(IllegalArgumentException.class);
    }
  }

  @Test
  void aKeyWithALoneSurrogateIsRefusedSoItCannotBecomeAnotherKeysBytes() {
    try (TieredCache<String, String> cache = builder("surrogate").build()) {
      assertThatThrownBy(() -> cache.put("user\uD800", "v"))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageNotContaining("user");
      assertThatThrownBy(() -> cache.get("user\uDC00x", k -> "v")).isInstanceOf(IllegalArgumentException.class);
      assertThat(cache.get("emoji \uD83D\uDE00", k -> "v")).as("a pair is fine").isEqualTo("v");
    }
  }

  @Test
  void keysLongerThanTheLimitAreRefused() {
    try (TieredCache<String, String> cache = builder("long-keys").maxKeyBytes(10).build()) {
      assertThat(cache.get("0123456789", k -> "v")).isEqualTo("v");
      assertThatThrownBy(() -> cache.get("01234567890", k -> "v"))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("maxKeyBytes");
      assertThatThrownBy(() -> cache.get("ééééé\u00e9", k -> "v")).as("12 bytes of UTF-8")
          .isInstanceOf(IllegalArgumentException.class);
    }
  }

  @Test
  void aValueLargerThanTheLimitIsRefusedByPutAndNotWrittenToTheL2ByALoad() {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    AtomicInteger loads = new AtomicInteger();
    try (TieredCache<String, String> cache =
        builder("big").l2(store).valueCodec(TestCodec.STRING).maxValueBytes(8).meterRegistry(registry).build()) {
      assertThatThrownBy(() -> cache.put("k", "123456789"))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("maxValueBytes");
      assertThat(store.holds("big", "k")).isFalse();

      assertThat(cache.get("loaded", k -> {
        loads.incrementAndGet();
        return "123456789";
      })).isEqualTo("123456789");
      assertThat(store.holds("big", "loaded")).as("too big for the L2").isFalse();
      assertThat(registry.counter("cache.l2.errors", "cache", "big", "op", "size").count()).isEqualTo(1);
      cache.put("small", "1234");
      assertThat(store.holds("big", "small")).isTrue();
    }
  }

  /** Starts a load of "k" on another thread that holds until {@code release}; returns once it is loading. */
  private Future<String> blockedLoad(TieredCache<String, String> cache, CountDownLatch release, String value)
      throws InterruptedException {
    CountDownLatch loading = new CountDownLatch(1);
    Future<String> load = pool.submit(() -> cache.get("k", k -> {
      loading.countDown();
      await(release);
      return value;
    }));
    assertThat(loading.await(10, TimeUnit.SECONDS)).isTrue();
    return load;
  }

  private static void await(CountDownLatch latch) {
    try {
      latch.await(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
