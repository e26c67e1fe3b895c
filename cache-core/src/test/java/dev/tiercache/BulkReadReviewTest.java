package dev.tiercache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.entry;

import dev.tiercache.spi.L2Read;
import dev.tiercache.spi.L2Store;
import dev.tiercache.testkit.ForwardingL2Store;
import dev.tiercache.testkit.GatedL2Store;
import dev.tiercache.testkit.InMemoryL2Store;
import dev.tiercache.testkit.TestCodec;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Review 10 of the getAll rebuilt on positions (branch getall): the L2 read before any flight, the departure counter
 * that decides whether the flights read again, and the maximumSize(0) L1.
 */
@Timeout(60)
class BulkReadReviewTest {

  private static final String NAME = "bulk-review";

  private final ExecutorService pool = Executors.newCachedThreadPool();
  private final InMemoryL2Store store = new InMemoryL2Store();
  private final GatedL2Store gated = new GatedL2Store(store);
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final List<TieredCache<String, String>> caches = new ArrayList<>();

  @AfterEach
  void tearDown() {
    pool.shutdownNow();
    caches.forEach(TieredCache::close);
  }

  private TieredCache<String, String> reader(long l1Size) {
    return track(TieredCache.<String, String>builder(NAME)
        .keyCodec(k -> k)
        .l1(l1 -> l1.maximumSize(l1Size))
        .l2(gated)
        .valueCodec(TestCodec.STRING)
        .meterRegistry(registry)
        .build());
  }

  private TieredCache<String, String> writer() {
    return track(TieredCache.<String, String>builder(NAME).keyCodec(k -> k).l2(store).valueCodec(TestCodec.STRING)
        .build());
  }

  private TieredCache<String, String> track(TieredCache<String, String> cache) {
    caches.add(cache);
    return cache;
  }

  private double l2Misses() {
    return registry.find("cache.gets").tags("cache", NAME, "tier", "l2", "result", "miss").functionCounter().count();
  }

  /**
   * DESIGN.md and the README promise a getAll one L2 round trip. The departure counter is one for the whole cache,
   * so a load of any other key that finishes while the bulk read is out makes the flights read the L2 a second time
   * (and count every missed key's L2 miss twice), although no load of the getAll's own keys happened.
   */
  @Test
  void aLoadOfAnUnrelatedKeyDuringTheReadDoesNotCostTheGetAllASecondL2Read() throws Exception {
    TieredCache<String, String> cache = reader(1_000);
    int reads = store.reads.get();
    double misses = l2Misses();
    CountDownLatch reached = gated.holdNextGetAll();

    Future<Map<String, String>> read = pool.submit(() -> cache.getAll(List.of("a"), keys -> Map.of("a", "A")));
    assertThat(reached.await(10, TimeUnit.SECONDS)).as("the getAll read the L2 and missed").isTrue();
    // Another key's whole load (one L2 read of its own) while the getAll's miss is on its way back.
    assertThat(cache.get("b", k -> "B")).isEqualTo("B");
    gated.releaseAll();

    assertThat(read.get(10, TimeUnit.SECONDS)).containsExactly(entry("a", "A"));
    assertThat(store.reads.get() - reads).as("one L2 read for the get of b, one for the getAll of a").isEqualTo(2);
    assertThat(l2Misses() - misses).as("one L2 miss for b, one for a").isEqualTo(2.0);
  }

  /**
   * Held: a put of the key made on this instance between the getAll's L2 read and its return refuses the older
   * value the read found, in the L1 and in what getAll returns.
   */
  @Test
  void aPutMadeHereWhileTheBulkReadIsOutIsNotOverwrittenByWhatTheReadFound() throws Exception {
    TieredCache<String, String> cache = reader(1_000);
    writer().put("k", "old");
    CountDownLatch reached = gated.holdNextGetAll();
    AtomicInteger loads = new AtomicInteger();

    Future<Map<String, String>> read = pool.submit(() -> cache.getAll(List.of("k"), keys -> {
      loads.incrementAndGet();
      return Map.of("k", "loaded");
    }));
    assertThat(reached.await(10, TimeUnit.SECONDS)).isTrue();
    cache.put("k", "new");
    gated.releaseAll();

    assertThat(read.get(10, TimeUnit.SECONDS).get("k")).isNotEqualTo("old");
    assertThat(cache.getIfPresent("k")).isEqualTo("new");
    assertThat(cache.getAll(List.of("k"), keys -> Map.of("k", "unexpected"))).containsExactly(entry("k", "new"));
  }

  /** Held: a bulk read the L2 fails leaves no flight behind; later reads load once and do not hang. */
  @Test
  void aFailedBulkReadLeavesNoFlightBehind() throws Exception {
    TieredCache<String, String> cache = reader(0);
    store.setDown(true);
    AtomicInteger loads = new AtomicInteger();

    assertThat(cache.getAll(List.of("x", "y"), keys -> {
      loads.incrementAndGet();
      return Map.of("x", "X");
    })).containsExactly(entry("x", "X"));
    assertThatThrownBy(() -> cache.getAll(List.of("z"), keys -> {
      throw new IllegalArgumentException("boom");
    })).isInstanceOf(IllegalArgumentException.class);
    store.setDown(false);

    Future<String> later = pool.submit(() -> cache.get("z", k -> "Z"));
    assertThat(later.get(10, TimeUnit.SECONDS)).isEqualTo("Z");
    assertThat(loads).hasValue(1);
  }

  /**
   * DESIGN.md invariant 6: nothing a caller passes makes the JVM do super-linear work. Keys are caller input, and
   * Strings with one hash code are trivial to make ("Aa" and "BB" hash alike). The old getAll deduplicated keys in a
   * LinkedHashMap, whose bins of Comparable keys become trees (O(n log n) in all); Batch.of's linear probing compares
   * each new key with every earlier one of its hash, O(n^2): 65,536 such keys took seconds where 65,536 others take
   * milliseconds.
   */
  @Test
  void keysThatShareAHashCodeCostNoQuadraticWork() {
    int bits = 16;
    List<String> keys = new ArrayList<>(1 << bits);
    for (int i = 0; i < (1 << bits); i++) {
      StringBuilder key = new StringBuilder("user:");
      for (int b = 0; b < bits; b++) {
        key.append((i >>> b & 1) == 0 ? "Aa" : "BB");
      }
      keys.add(key.toString());
    }
    assertThat(keys.stream().map(String::hashCode).distinct().count()).isEqualTo(1);
    TieredCache<String, String> cache = track(TieredCache.<String, String>builder(NAME + "-collide")
        .keyCodec(k -> k)
        .l1(l1 -> l1.maximumSize(0))
        .build());
    // Warm up: the first call also pays for class loading and the JIT.
    cache.getAll(keys.subList(0, 1_024), missing -> Map.of());

    long start = System.nanoTime();
    Map<String, String> all = cache.getAll(keys, missing -> Map.of(keys.get(0), "first"));
    long millis = (System.nanoTime() - start) / 1_000_000;

    assertThat(all).containsExactly(entry(keys.get(0), "first"));
    // About 0.1 s here for distinct hash codes and for the LinkedHashMap of the old code; generous for two busy cores.
    assertThat(millis).as("getAll of %d keys sharing one hash code, in ms", keys.size()).isLessThan(3_000);
  }

  /** The fallback past the probe budget keeps what the batch promises: distinct keys, in order, first given kept. */
  @Test
  void keysThatShareAHashCodeAreStillDeduplicatedInOrder() {
    List<String> keys = new ArrayList<>();
    for (int i = 0; i < 1 << 10; i++) {
      StringBuilder key = new StringBuilder();
      for (int b = 0; b < 10; b++) {
        key.append((i >>> b & 1) == 0 ? "Aa" : "BB");
      }
      keys.add(key.toString());
    }
    List<String> given = new ArrayList<>(keys);
    given.addAll(keys.subList(0, 512));
    given.add(1, keys.get(0).toLowerCase(java.util.Locale.ROOT));
    given.addAll(keys);

    // As the cache sees it: the originals are an Object[] (a String[] view would be a cast the cache never makes).
    Batch<?> batch = Batch.<String>of(given, k -> k.toUpperCase(java.util.Locale.ROOT));

    assertThat(batch.size).isEqualTo(keys.size());
    for (int i = 0; i < batch.size; i++) {
      assertThat(batch.keys[i]).isEqualTo(keys.get(i).toUpperCase(java.util.Locale.ROOT));
      assertThat((Object) batch.originals[i]).isEqualTo(keys.get(i));
    }
  }

  /**
   * DESIGN.md invariant 3: reads never throw because the L2 is unwell. The old getAll took a key the store's answer
   * left out for a miss; on positions, a store (a public SPI) that answers a shorter array or a null read made
   * getAll throw ArrayIndexOutOfBounds or NullPointerException to the caller.
   */
  @Test
  void aStoreThatAnswersTooFewReadsIsAFailedReadNotAnException() {
    writer().put("s", "in L2");
    L2Store shortAnswers = new ForwardingL2Store(store) {
      @Override
      public CompletableFuture<L2Read[]> getAll(String cache, String[] keys) {
        return super.getAll(cache, keys).thenApply(reads -> java.util.Arrays.copyOf(reads, reads.length - 1));
      }
    };
    L2Store nullReads = new ForwardingL2Store(store) {
      @Override
      public CompletableFuture<L2Read[]> getAll(String cache, String[] keys) {
        return super.getAll(cache, keys).thenApply(reads -> new L2Read[reads.length]);
      }
    };
    for (L2Store odd : List.of(shortAnswers, nullReads)) {
      TieredCache<String, String> cache = track(TieredCache.<String, String>builder(NAME)
          .keyCodec(k -> k).l2(odd).valueCodec(TestCodec.STRING).build());

      assertThat(cache.getAll(List.of("s", "t"), keys -> Map.of("s", "loaded", "t", "T")))
          .containsOnlyKeys("s", "t")
          .containsEntry("t", "T");
    }
  }

  /** Held: a bulk loader that asks getAll for a key its own thread loads, which the L2 misses, gets the clear error. */
  @Test
  void aReentrantBulkLoaderWhoseKeyTheL2MissesGetsTheClearError() {
    TieredCache<String, String> cache = reader(1_000);

    assertThatThrownBy(() -> cache.getAll(List.of("r"), keys -> cache.getAll(List.of("q", "r"), inner -> Map.of())))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("its own thread is loading");
    // Nothing the inner call registered stays behind.
    assertThat(cache.getAll(List.of("q", "r"), keys -> Map.of("q", "Q", "r", "R")))
        .containsExactly(entry("q", "Q"), entry("r", "R"));
  }
}
