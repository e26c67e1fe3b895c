package dev.tiercache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.assertj.core.api.Assertions.entry;

import com.github.benmanes.caffeine.cache.Ticker;
import dev.tiercache.codec.ValueCodecs;
import dev.tiercache.spi.L2Entry;
import dev.tiercache.testkit.InMemoryL2Store;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Reads go L1, then L2, then the loader, and fill the tiers on the way back. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class ReadThroughTest {

  private static final String NAME = "users";

  private final InMemoryL2Store store = new InMemoryL2Store();
  private final MeterRegistry registry = new SimpleMeterRegistry();
  private final List<TieredCache<String, String>> opened = new ArrayList<>();
  private final ExecutorService pool = Executors.newFixedThreadPool(2);

  @AfterEach
  void tearDown() {
    opened.forEach(TieredCache::close);
    pool.shutdownNow();
  }

  /** A node of the cache: its own L1, the shared store. */
  private TieredCache<String, String> node() {
    return track(TieredCache.<String, String>builder(NAME).l2(store).valueCodec(ValueCodecs.string()).build());
  }

  private TieredCache<String, String> nodeWithMetrics() {
    return track(
        TieredCache.<String, String>builder(NAME)
            .l2(store)
            .valueCodec(ValueCodecs.string())
            .meterRegistry(registry)
            .executor(Runnable::run)
            .build());
  }

  private TieredCache<String, String> track(TieredCache<String, String> cache) {
    opened.add(cache);
    return cache;
  }

  /** A counter's count, or a function counter's (gets and puts are counted in striped tallies); 0 if absent. */
  private double count(String name, String... tags) {
    Meter meter = registry.find(name).tag("cache", NAME).tags(tags).meter();
    return meter == null ? 0 : meter instanceof FunctionCounter tally ? tally.count() : ((Counter) meter).count();
  }

  /** A loader that counts its calls and answers {@code "v:" + key}. */
  private static final class CountingLoader implements Function<String, String> {
    final AtomicInteger calls = new AtomicInteger();

    @Override
    public String apply(String key) {
      calls.incrementAndGet();
      return "v:" + key;
    }
  }

  // ---- get ----

  @Test
  void getFillsL1AndL2SoTheSecondGetTouchesNeither() {
    TieredCache<String, String> cache = node();
    CountingLoader loader = new CountingLoader();

    assertThat(cache.get("a", loader)).isEqualTo("v:a");
    assertThat(loader.calls).hasValue(1);
    assertThat(store.reads).hasValue(1);
    assertThat(store.writes).hasValue(1);
    assertThat(store.holds(NAME, "a")).isTrue();

    assertThat(cache.get("a", loader)).isEqualTo("v:a");
    assertThat(loader.calls).hasValue(1);
    assertThat(store.reads).hasValue(1);
    assertThat(cache.estimatedL1Size()).isEqualTo(1);
  }

  @Test
  void secondNodeGetsAnL2HitWithoutCallingItsLoader() {
    node().get("a", new CountingLoader());
    TieredCache<String, String> other = node();
    CountingLoader otherLoader = new CountingLoader();

    assertThat(other.get("a", k -> "other:" + otherLoader.apply(k))).isEqualTo("v:a");
    assertThat(otherLoader.calls).hasValue(0);
    int reads = store.reads.get();
    // ...and the L2 hit filled the other node's L1.
    assertThat(other.get("a", otherLoader)).isEqualTo("v:a");
    assertThat(store.reads).hasValue(reads);
    assertThat(otherLoader.calls).hasValue(0);
  }

  @Test
  void aNodeWithAnotherNameDoesNotSeeTheEntry() {
    node().get("a", new CountingLoader());
    try (TieredCache<String, String> other =
        TieredCache.<String, String>builder("orders").l2(store).valueCodec(ValueCodecs.string()).build()) {
      assertThat(other.getIfPresent("a")).isNull();
      assertThat(other.get("a", k -> "orders:" + k)).isEqualTo("orders:a");
    }
  }

  // ---- getIfPresent ----

  @Test
  void getIfPresentServesL1HitsWithoutTheL2() {
    TieredCache<String, String> cache = node();
    cache.get("a", new CountingLoader());
    int reads = store.reads.get();

    assertThat(cache.getIfPresent("a")).isEqualTo("v:a");
    assertThat(store.reads).hasValue(reads);
  }

  @Test
  void getIfPresentFillsL1FromAnL2Hit() {
    node().put("a", "A");
    TieredCache<String, String> other = node();

    assertThat(other.getIfPresent("a")).isEqualTo("A");
    int reads = store.reads.get();
    assertThat(other.getIfPresent("a")).isEqualTo("A");
    assertThat(store.reads).hasValue(reads);
    assertThat(other.estimatedL1Size()).isEqualTo(1);
  }

  @Test
  void getIfPresentMissReturnsNullWithoutLoadingOrStoring() {
    TieredCache<String, String> cache = node();

    assertThat(cache.getIfPresent("nope")).isNull();
    assertThat(store.writes).hasValue(0);
    assertThat(cache.estimatedL1Size()).isZero();
    CountingLoader loader = new CountingLoader();
    assertThat(cache.get("nope", loader)).isEqualTo("v:nope");
    assertThat(loader.calls).hasValue(1);
  }

  // ---- getAll ----

  @Test
  void getAllUsesL1ThenOneL2CallThenOneBulkLoadOfWhatBothMiss() {
    TieredCache<String, String> cache = node();
    cache.get("a", k -> "A"); // in L1 (and L2)
    node().put("b", "B"); // in L2 only, as far as `cache` knows
    int reads = store.reads.get();
    List<Set<String>> asked = new ArrayList<>();

    Map<String, String> result =
        cache.getAll(
            List.of("c", "b", "d", "a", "c"),
            keys -> {
              asked.add(new LinkedHashSet<>(keys));
              return Map.of("c", "C", "unasked", "X"); // "d" is absent
            });

    assertThat(result).containsExactly(entry("c", "C"), entry("b", "B"), entry("a", "A"));
    assertThat(store.reads).hasValue(reads + 1);
    assertThat(asked).containsExactly(Set.of("c", "d"));

    // What was loaded is now in both tiers; the absent key and what the loader was not asked for are not.
    int readsAfter = store.reads.get();
    assertThat(cache.get("c", k -> "reloaded")).isEqualTo("C");
    assertThat(cache.get("b", k -> "reloaded")).isEqualTo("B");
    assertThat(store.reads).hasValue(readsAfter);
    assertThat(node().getIfPresent("c")).isEqualTo("C");
    assertThat(cache.getIfPresent("d")).isNull();
    assertThat(cache.getIfPresent("unasked")).isNull();
  }

  @Test
  void getAllWithEverythingInL1NeitherReadsL2NorLoads() {
    TieredCache<String, String> cache = node();
    cache.put("a", "A");
    cache.put("b", "B");
    int reads = store.reads.get();
    AtomicInteger loads = new AtomicInteger();

    assertThat(cache.getAll(List.of("b", "a"), keys -> {
      loads.incrementAndGet();
      return Map.of();
    })).containsExactly(entry("b", "B"), entry("a", "A"));
    assertThat(store.reads).hasValue(reads);
    assertThat(loads).hasValue(0);
  }

  @Test
  void bulkLoaderFailurePropagatesAndNothingItWasAskedForIsCached() {
    TieredCache<String, String> cache = node();
    cache.put("a", "A");
    int writes = store.writes.get();
    IllegalStateException boom = new IllegalStateException("database down");

    assertThatThrownBy(() -> cache.getAll(List.of("a", "x", "y"), keys -> {
      throw boom;
    })).isSameAs(boom);

    assertThat(store.writes).hasValue(writes);
    assertThat(store.holds(NAME, "x")).isFalse();
    assertThat(store.holds(NAME, "y")).isFalse();
    assertThat(cache.getIfPresent("x")).isNull();
    assertThat(cache.getIfPresent("y")).isNull();
    List<Set<String>> asked = new ArrayList<>();
    assertThat(cache.getAll(List.of("a", "x", "y"), keys -> {
      asked.add(Set.copyOf(keys));
      return Map.of("x", "X", "y", "Y");
    })).containsExactly(entry("a", "A"), entry("x", "X"), entry("y", "Y"));
    assertThat(asked).containsExactly(Set.of("x", "y"));
  }

  // ---- loader failures ----

  @Test
  void loaderExceptionPropagatesAsIsAndNothingIsCached() {
    TieredCache<String, String> cache = node();
    IllegalStateException boom = new IllegalStateException("database down");

    assertThatThrownBy(() -> cache.get("k", k -> {
      throw boom;
    })).isSameAs(boom);

    assertThat(store.writes).hasValue(0);
    assertThat(cache.estimatedL1Size()).isZero();
    CountingLoader loader = new CountingLoader();
    assertThat(cache.get("k", loader)).isEqualTo("v:k");
    assertThat(loader.calls).hasValue(1);
  }

  // ---- getAsync ----

  @Test
  void getAsyncOnAnL1HitIsAlreadyComplete() {
    List<Runnable> queued = new java.util.concurrent.CopyOnWriteArrayList<>();
    TieredCache<String, String> cache =
        track(
            TieredCache.<String, String>builder(NAME)
                .l2(store)
                .valueCodec(ValueCodecs.string())
                .executor(queued::add) // queues, never runs: only a future that needs no task can be complete
                .build());
    cache.put("k", "v");
    int reads = store.reads.get();

    CompletableFuture<String> future = cache.getAsync("k", Tags.empty(), k -> {
      throw new AssertionError("an L1 hit must not load");
    });

    assertThat(future).isCompletedWithValue("v");
    assertThat(store.reads).hasValue(reads);
  }

  @Test
  void getAsyncMissLoadsOnTheExecutor() throws Exception {
    TieredCache<String, String> cache =
        track(
            TieredCache.<String, String>builder(NAME)
                .l2(store)
                .valueCodec(ValueCodecs.string())
                .executor(pool)
                .build());
    Thread caller = Thread.currentThread();
    AtomicBoolean onCaller = new AtomicBoolean(true);

    String value = cache.getAsync("k", Tags.empty(), k -> {
      onCaller.set(Thread.currentThread() == caller);
      return "V";
    }).get(10, TimeUnit.SECONDS);

    assertThat(value).isEqualTo("V");
    assertThat(onCaller).isFalse();
    assertThat(cache.getIfPresent("k")).isEqualTo("V");
  }

  @Test
  void getAsyncCompletesExceptionallyWithTheLoaderException() {
    TieredCache<String, String> cache =
        track(
            TieredCache.<String, String>builder(NAME)
                .l2(store)
                .valueCodec(ValueCodecs.string())
                .executor(pool)
                .build());
    IllegalStateException boom = new IllegalStateException("database down");

    CompletableFuture<String> future = cache.getAsync("k", Tags.empty(), k -> {
      throw boom;
    });

    assertThat(future)
        .failsWithin(Duration.ofSeconds(10))
        .withThrowableOfType(ExecutionException.class)
        .havingCause()
        .isSameAs(boom);
    assertThat(store.writes).hasValue(0);
    CountingLoader loader = new CountingLoader();
    assertThat(cache.get("k", loader)).isEqualTo("v:k");
    assertThat(loader.calls).hasValue(1);
  }

  /**
   * When the executor rejects an async load, that call fails; the key must not stay bound to the dead flight, or
   * every later read of it fails too.
   */
  @Test
  void getAsyncRejectedByTheExecutorDoesNotPoisonTheKey() {
    AtomicBoolean reject = new AtomicBoolean();
    Executor executor =
        task -> {
          if (reject.get()) {
            throw new RejectedExecutionException("saturated");
          }
          task.run();
        };
    TieredCache<String, String> cache =
        track(
            TieredCache.<String, String>builder(NAME)
                .l2(store)
                .valueCodec(ValueCodecs.string())
                .executor(executor)
                .build());

    reject.set(true);
    CompletableFuture<String> rejected = cache.getAsync("k", Tags.empty(), k -> "V");
    reject.set(false);
    assertThat(rejected)
        .failsWithin(Duration.ofSeconds(5))
        .withThrowableOfType(ExecutionException.class)
        .havingCause()
        .isInstanceOf(RejectedExecutionException.class);

    // The next read of the key must load afresh, not rethrow the rejection of the dead flight.
    CountingLoader loader = new CountingLoader();
    Throwable thrown = catchThrowable(() -> assertThat(cache.get("k", loader)).isEqualTo("v:k"));
    assertThat(thrown).as("a later get of the key rethrew the old rejection: the key is poisoned").isNull();
    assertThat(loader.calls).hasValue(1);
    assertThat(cache.getAsync("k", Tags.empty(), loader)).isCompletedWithValue("v:k");
  }

  // ---- put ----

  @Test
  void putIsVisibleToAnotherNode() {
    TieredCache<String, String> cache = node();
    TieredCache<String, String> other = node();

    cache.put("p", "P");

    assertThat(other.getIfPresent("p")).isEqualTo("P");
    assertThat(cache.getIfPresent("p")).isEqualTo("P");
  }

  // ---- L2 failures ----

  @Test
  void l2DownFallsBackToTheLoaderWithoutAnException() {
    TieredCache<String, String> cache = nodeWithMetrics();
    store.setDown(true);
    CountingLoader loader = new CountingLoader();

    assertThat(cache.get("k", loader)).isEqualTo("v:k");
    assertThat(loader.calls).hasValue(1);
    assertThat(count("cache.l2.errors", "op", "get")).isEqualTo(1);
    assertThat(cache.getIfPresent("k")).isEqualTo("v:k"); // served from L1
    assertThat(loader.calls).hasValue(1);

    assertThat(cache.getIfPresent("other")).isNull();
    assertThat(count("cache.l2.errors", "op", "get")).isEqualTo(2);
    assertThat(cache.getAll(List.of("k", "m"), keys -> Map.of("m", "M")))
        .containsExactly(entry("k", "v:k"), entry("m", "M"));
    assertThat(count("cache.l2.errors", "op", "getAll")).isEqualTo(1);
  }

  @Test
  void invalidUtf8InTheL2IsAMissAndADecodeError() {
    TieredCache<String, String> cache = nodeWithMetrics();
    byte[] notUtf8 = {(byte) 0xC3, (byte) 0x28, (byte) 0xFF};
    store.writeRaw(NAME, "bad", new L2Entry("string", notUtf8, Tags.empty()));
    CountingLoader loader = new CountingLoader();

    assertThat(cache.getIfPresent("bad")).isNull();
    assertThat(count("cache.l2.errors", "op", "decode")).isEqualTo(1);

    assertThat(cache.get("bad", loader)).isEqualTo("v:bad");
    assertThat(loader.calls).hasValue(1);
    assertThat(count("cache.l2.errors", "op", "decode")).isEqualTo(2);
    assertThat(count("cache.gets", "result", "miss", "tier", "l2")).isEqualTo(2);
    // The load replaced the corrupt entry.
    assertThat(node().getIfPresent("bad")).isEqualTo("v:bad");
  }

  @Test
  void anEntryOfAForeignCodecIsAMissAndADecodeError() {
    TieredCache<String, String> cache = nodeWithMetrics();
    store.writeRaw(NAME, "java", new L2Entry("java", "looks like text".getBytes(StandardCharsets.UTF_8), Tags.empty()));
    store.writeRaw(NAME, "java2", new L2Entry("json", "\"text\"".getBytes(StandardCharsets.UTF_8), Tags.empty()));
    CountingLoader loader = new CountingLoader();

    assertThat(cache.get("java", loader)).isEqualTo("v:java");
    assertThat(cache.getAll(List.of("java2"), keys -> Map.of("java2", "loaded")))
        .containsExactly(entry("java2", "loaded"));
    assertThat(loader.calls).hasValue(1);
    assertThat(count("cache.l2.errors", "op", "decode")).isEqualTo(2);
  }

  // ---- L1 expiry and bounds ----

  @Test
  void l1ExpireAfterWriteExpiresExactlyAtTheTtl() {
    AtomicLong nanos = new AtomicLong(1_000);
    Ticker ticker = nanos::get;
    TieredCache<String, String> cache =
        track(
            TieredCache.<String, String>builder("expiring")
                .l1(l1 -> l1.expireAfterWrite(Duration.ofSeconds(10)))
                .ticker(ticker)
                .executor(Runnable::run)
                .build());
    CountingLoader loader = new CountingLoader();

    cache.get("k", loader);
    nanos.addAndGet(Duration.ofSeconds(10).toNanos() - 1);
    assertThat(cache.get("k", loader)).isEqualTo("v:k");
    assertThat(loader.calls).hasValue(1);

    nanos.addAndGet(1);
    assertThat(cache.getIfPresent("k")).isNull();
    assertThat(cache.get("k", loader)).isEqualTo("v:k");
    assertThat(loader.calls).hasValue(2);
  }

  @Test
  void l1ExpiryFallsBackToTheL2() {
    AtomicLong nanos = new AtomicLong(1_000);
    TieredCache<String, String> cache =
        track(
            TieredCache.<String, String>builder(NAME)
                .l1(l1 -> l1.expireAfterWrite(Duration.ofSeconds(1)))
                .l2(store)
                .valueCodec(ValueCodecs.string())
                .ticker(nanos::get)
                .executor(Runnable::run)
                .build());
    CountingLoader loader = new CountingLoader();
    cache.get("k", loader);
    int reads = store.reads.get();

    nanos.addAndGet(Duration.ofSeconds(1).toNanos());
    assertThat(cache.get("k", loader)).isEqualTo("v:k");
    assertThat(loader.calls).hasValue(1);
    assertThat(store.reads).hasValue(reads + 1);
  }

  @Test
  void maximumSizeEvictsAndCountsEvictions() {
    TieredCache<String, String> cache =
        track(
            TieredCache.<String, String>builder(NAME)
                .l1(l1 -> l1.maximumSize(2))
                .l2(store)
                .valueCodec(ValueCodecs.string())
                .meterRegistry(registry)
                .executor(Runnable::run)
                .build());
    CountingLoader loader = new CountingLoader();
    int inserted = 50;
    for (int i = 0; i < inserted; i++) {
      cache.get("k" + i, loader);
      assertThat(cache.estimatedL1Size()).isLessThanOrEqualTo(2);
    }

    assertThat(count("cache.evictions", "tier", "l1")).isEqualTo(inserted - cache.estimatedL1Size());
    assertThat(count("cache.evictions", "tier", "l1")).isGreaterThanOrEqualTo(inserted - 2);
    // Evicted from L1 is not lost: the L2 still serves every key.
    for (int i = 0; i < inserted; i++) {
      assertThat(cache.get("k" + i, loader)).isEqualTo("v:k" + i);
    }
    assertThat(loader.calls).hasValue(inserted);
  }
}
