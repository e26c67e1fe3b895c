package dev.tiercache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.tiercache.testkit.GatedL2Store;
import dev.tiercache.testkit.InMemoryL2Store;
import dev.tiercache.testkit.TestCodec;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
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
 * An L1 of {@code maximumSize(0)} keeps nothing: no read, load or write installs an entry, and the counts say so (no
 * L1 put, eviction or refused install; an L1 miss per key for get and getAll alike), while loads are still shared, a
 * put is read back from the L2, and a read whose L2 answer an invalidation overtook serves nothing it covered.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class KeepsNothingTest {

  private static final String NAME = "keeps-nothing";

  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final InMemoryL2Store store = new InMemoryL2Store();
  private final ExecutorService pool = Executors.newCachedThreadPool();
  private final List<TieredCache<String, String>> opened = new ArrayList<>();

  @AfterEach
  void tearDown() {
    pool.shutdownNow();
    opened.forEach(TieredCache::close);
  }

  private TieredCache<String, String> track(TieredCache<String, String> cache) {
    opened.add(cache);
    return cache;
  }

  /** A metered cache that keeps nothing in its L1, in front of the shared store, with more settings. */
  private TieredCache<String, String> throughL2(java.util.function.Consumer<TieredCacheBuilder<String, String>> more) {
    TieredCacheBuilder<String, String> builder = TieredCache.<String, String>builder(NAME).keyCodec(k -> k)
        .l1(l1 -> l1.maximumSize(0))
        .l2(store)
        .valueCodec(TestCodec.STRING)
        .meterRegistry(registry)
        .executor(Runnable::run);
    more.accept(builder);
    return track(builder.build());
  }

  private double count(String name, String... tags) {
    return Counts.of(registry, NAME, name, tags);
  }

  /**
   * {@code maximumSize(0)} keeps nothing in the L1: no read, load or write inserts an entry that Caffeine would evict
   * at once (a single key's load did, and each such load counted an eviction and an L1 put).
   */
  @Test
  void anL1ThatKeepsNothingIsNeverFilledNorCountsEvictions() {
    TieredCache<String, String> cache = throughL2(b -> {});
    track(TieredCache.<String, String>builder(NAME).l2(store).valueCodec(TestCodec.STRING).build()).put("k3", "v3");

    assertThat(cache.get("k1", k -> "v1")).isEqualTo("v1"); // load, L2 put
    assertThat(cache.get("k1", k -> "unused")).isEqualTo("v1"); // L2 hit
    assertThat(cache.getIfPresent("k3")).isEqualTo("v3"); // L2 hit
    cache.put("k4", "v4");
    assertThat(cache.getAll(List.of("k1", "k4", "k5"), keys -> Map.of("k5", "v5")))
        .containsEntry("k5", "v5");

    assertThat(count("cache.puts", "tier", "l1")).isZero();
    assertThat(count("cache.evictions", "tier", "l1")).isZero();
    assertThat(count("cache.gets", "result", "hit", "tier", "l1")).isZero();
    assertThat(count("cache.puts", "tier", "l2")).isEqualTo(3); // k1, k4, k5
    assertThat(cache.estimatedL1Size()).isZero();
  }

  /**
   * An L1-only cache's put, overlapped by an invalidation that covers it, is neither installed nor counted as a refused
   * install ({@code cache.stale.refused{tier=l1}}), as a load overlapped by the same invalidation is not.
   */
  @Test
  void anL1OnlyPutOverlappedByAnInvalidationCountsNoRefusedInstall() throws Exception {
    ConcurrentLinkedQueue<Runnable> deferred = new ConcurrentLinkedQueue<>();
    TieredCache<String, String> cache = track(TieredCache.<String, String>builder(NAME).keyCodec(k -> k)
        .l1(l1 -> l1.maximumSize(0))
        .meterRegistry(registry)
        .executor(deferred::add)
        .build());
    try {
      // Running until its deferred end runs: covers k1 and k2.
      var held = cache.invalidateAsync(Invalidation.prefix("k"));
      assertThat(cache.get("k2", k -> "loaded")).isEqualTo("loaded");
      assertThat(count("cache.stale.refused", "tier", "l1"))
          .as("a load overlapped by the invalidation (control: not counted since afda0ce)").isZero();
      cache.put("k1", "v1");
      assertThat(count("cache.stale.refused", "tier", "l1"))
          .as("a put into an L1 that keeps nothing, overlapped by the same invalidation, refuses nothing").isZero();
      for (Runnable task; (task = deferred.poll()) != null; ) {
        task.run();
      }
      held.get(10, TimeUnit.SECONDS);
    } finally {
      for (Runnable task; (task = deferred.poll()) != null; ) {
        task.run();
      }
    }
  }

  /**
   * {@code cache.gets{tier=l1,result=miss}} counts one per key whatever the call's shape: a get of one key and a getAll
   * of two count three, though getAll does not look into an L1 that keeps nothing.
   */
  @Test
  void getAllCountsAnL1MissPerKeyAsGetDoes() {
    TieredCache<String, String> cache = throughL2(b -> {});
    cache.get("a", k -> "va");
    double afterGet = count("cache.gets", "result", "miss", "tier", "l1");
    assertThat(afterGet).as("one get of one key").isEqualTo(1);
    cache.getAll(List.of("b", "c"), keys -> Map.of("b", "vb", "c", "vc"));
    assertThat(count("cache.gets", "result", "miss", "tier", "l1"))
        .as("one get of one key and one getAll of two keys, none served by the L1").isEqualTo(3);
  }

  /** An L1-only cache that keeps nothing: single flight, waiters, put, getIfPresent, putAbsent. */
  @Test
  void anL1OnlyCacheThatKeepsNothingSharesLoadsAndKeepsNoWrite() throws Exception {
    TieredCache<String, String> cache = track(TieredCache.<String, String>builder(NAME).keyCodec(k -> k)
        .l1(l1 -> l1.maximumSize(0))
        .negativeTtl(Duration.ofMinutes(1))
        .meterRegistry(registry)
        .build());
    CountDownLatch release = new CountDownLatch(1);
    AtomicInteger calls = new AtomicInteger();
    List<Future<String>> readers = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      readers.add(pool.submit(() -> cache.get("k", k -> {
        calls.incrementAndGet();
        Rows.await(release);
        return "v";
      })));
    }
    await().atMost(Duration.ofSeconds(10)).until(() -> count("cache.stampede.coalesced") == 3);
    release.countDown();
    for (Future<String> reader : readers) {
      assertThat(reader.get(10, TimeUnit.SECONDS)).isEqualTo("v");
    }
    assertThat(calls).as("one load for four readers").hasValue(1);
    assertThat(cache.getIfPresent("k")).isNull();
    cache.put("k", "p");
    assertThat(cache.getIfPresent("k")).isNull();
    assertThat(cache.get("k", k -> "v2")).isEqualTo("v2");
    cache.putAbsent("k", Tags.empty());
    assertThat(cache.getIfPresent("k", "ifAbsent")).isNull();
    assertThat(cache.getAsync("k", Tags.empty(), k -> "v3").get(10, TimeUnit.SECONDS)).isEqualTo("v3");
    assertThatThrownBy(() -> cache.get("boom", k -> {
      throw new IllegalStateException("boom");
    })).hasMessage("boom");
    assertThat(cache.estimatedL1Size()).isZero();
    assertThat(count("cache.puts", "tier", "l1")).isZero();
    assertThat(count("cache.evictions", "tier", "l1")).isZero();
    assertThat(count("cache.stale.refused", "tier", "l1")).isZero();
  }

  /** With an L2, a put is read back from the L2, and the put's install (refused) counts no refusal. */
  @Test
  void aPutThroughAnL1ThatKeepsNothingIsServedByTheL2() {
    TieredCache<String, String> cache = throughL2(b -> b.negativeTtl(Duration.ofMinutes(1)));
    cache.put("k", "v", Tags.of("t"));
    assertThat(cache.getIfPresent("k")).isEqualTo("v");
    assertThat(cache.get("k", k -> "unused")).isEqualTo("v");
    assertThat(cache.getAll(List.of("k"), keys -> Map.of())).containsExactly(Map.entry("k", "v"));
    cache.putAbsent("n", Tags.empty());
    assertThat(cache.getIfPresent("n", "ifAbsent")).isEqualTo("ifAbsent");
    assertThat(cache.get("n", k -> "unused")).isNull();
    cache.invalidate(Invalidation.tag("t"));
    assertThat(cache.getIfPresent("k")).isNull();
    assertThat(cache.status().l2Trusted()).isTrue();
    assertThat(count("cache.stale.refused", "tier", "l1")).isZero();
    assertThat(count("cache.stale.refused", "tier", "l2")).isZero();
    assertThat(count("cache.puts", "tier", "l1")).isZero();
    assertThat(count("cache.puts", "tier", "l2")).isEqualTo(2);
  }

  /**
   * Invariant 1 (L2-read-then-fill): a read through an L1 that keeps nothing whose L2 answer is held past an
   * invalidation that returned serves nothing it covered: getIfPresent misses, get goes to its loader; for a key and
   * for a prefix invalidation.
   */
  @Test
  void aReadHeldPastAReturnedInvalidationServesNothingItCovered() throws Exception {
    GatedL2Store gated = new GatedL2Store(store);
    TieredCache<String, String> writer = track(TieredCache.<String, String>builder(NAME).keyCodec(k -> k)
        .l2(store).valueCodec(TestCodec.STRING).build());
    TieredCache<String, String> reader = track(TieredCache.<String, String>builder(NAME).keyCodec(k -> k)
        .l1(l1 -> l1.maximumSize(0)).l2(gated).valueCodec(TestCodec.STRING).build());
    for (Invalidation invalidation : List.of(Invalidation.key("user:1"), Invalidation.prefix("user:"))) {
      writer.put("user:1", "old");
      CountDownLatch read = gated.holdNextGet();
      Future<String> peeked = pool.submit(() -> reader.getIfPresent("user:1"));
      assertThat(read.await(10, TimeUnit.SECONDS)).isTrue();
      reader.invalidate(invalidation);
      gated.release();
      assertThat(peeked.get(10, TimeUnit.SECONDS)).as("getIfPresent after %s", invalidation).isNull();

      writer.put("user:1", "old");
      read = gated.holdNextGet();
      Future<String> got = pool.submit(() -> reader.get("user:1", k -> "fresh"));
      assertThat(read.await(10, TimeUnit.SECONDS)).isTrue();
      reader.invalidate(invalidation);
      gated.release();
      assertThat(got.get(10, TimeUnit.SECONDS)).as("get after %s", invalidation).isEqualTo("fresh");
    }
  }
}
