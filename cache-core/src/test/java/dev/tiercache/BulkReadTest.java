package dev.tiercache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.entry;
import static org.awaitility.Awaitility.await;

import dev.tiercache.testkit.GatedL2Store;
import dev.tiercache.testkit.InMemoryL2Store;
import dev.tiercache.testkit.TestCodec;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * getAll reads the L2 before it registers any flight (issue 11): what the L2 serves needs none. These tests force the
 * windows that opens, each held on a latch: an invalidation made while the read is out, a load of the same key that
 * finishes between the read and the flights, and concurrent single reads of the keys the bulk load owns.
 */
@Timeout(60)
class BulkReadTest {

  private static final String NAME = "bulk";

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

  /** The cache under test: on the gated store, with meters. */
  private TieredCache<String, String> reader(long l1Size) {
    return track(TieredCache.<String, String>builder(NAME)
        .keyCodec(k -> k)
        .l1(l1 -> l1.maximumSize(l1Size))
        .l2(gated)
        .valueCodec(TestCodec.STRING)
        .meterRegistry(registry)
        .build());
  }

  /** Another instance on the same store, to write what the reader's L1 does not know. */
  private TieredCache<String, String> writer() {
    return track(TieredCache.<String, String>builder(NAME).keyCodec(k -> k).l2(store).valueCodec(TestCodec.STRING)
        .build());
  }

  private TieredCache<String, String> track(TieredCache<String, String> cache) {
    caches.add(cache);
    return cache;
  }

  private double coalesced() {
    return registry.counter("cache.stampede.coalesced", "cache", NAME).count();
  }

  static Stream<Arguments> coveringInvalidationsAndL1Sizes() {
    List<Invalidation> covering = List.of(
        Invalidation.key("user:42"),
        Invalidation.prefix("user:4"),
        Invalidation.tag("table:users"),
        Invalidation.pattern("user:*"));
    return covering.stream().flatMap(i -> Stream.of(Arguments.of(i, 0L), Arguments.of(i, 1_000L)));
  }

  @ParameterizedTest
  @MethodSource("coveringInvalidationsAndL1Sizes")
  void anInvalidationMadeWhileTheL2ReadIsOutIsNotOverrunByWhatItRead(Invalidation invalidation, long l1Size)
      throws Exception {
    TieredCache<String, String> cache = reader(l1Size);
    writer().put("user:42", "old", Tags.of("table:users"));
    writer().put("other", "kept");
    CountDownLatch reached = gated.holdNextGetAll();
    AtomicInteger loads = new AtomicInteger();

    Future<Map<String, String>> read = pool.submit(() -> cache.getAll(List.of("user:42", "other"), keys -> {
      loads.incrementAndGet();
      assertThat(keys).containsExactly("user:42");
      return Map.of("user:42", "new");
    }));
    assertThat(reached.await(10, TimeUnit.SECONDS)).as("the getAll read the L2").isTrue();
    cache.invalidate(invalidation);
    gated.releaseAll();

    assertThat(read.get(10, TimeUnit.SECONDS)).containsExactly(entry("user:42", "new"), entry("other", "kept"));
    assertThat(loads).hasValue(1);
    assertThat(cache.getAll(List.of("user:42"), keys -> Map.of("user:42", "unexpected")))
        .containsExactly(entry("user:42", "new"));
  }

  @Test
  void aLoadOfTheKeyThatFinishesBetweenTheReadAndTheFlightsIsNotRepeated() throws Exception {
    TieredCache<String, String> cache = reader(0);
    CountDownLatch reached = gated.holdNextGetAll();
    AtomicInteger bulkLoads = new AtomicInteger();

    Future<Map<String, String>> read = pool.submit(() -> cache.getAll(List.of("k"), keys -> {
      bulkLoads.incrementAndGet();
      return Map.of("k", "loaded twice");
    }));
    assertThat(reached.await(10, TimeUnit.SECONDS)).as("the getAll read the L2 and missed").isTrue();
    // A whole load of the key, L2 write-back included, while the getAll's miss is on its way back.
    assertThat(cache.get("k", k -> "v1")).isEqualTo("v1");
    gated.releaseAll();

    assertThat(read.get(10, TimeUnit.SECONDS)).containsExactly(entry("k", "v1"));
    assertThat(bulkLoads).as("the getAll read again instead of loading what the other load wrote").hasValue(0);
  }

  @Test
  void aGetOfAKeyThatAGetAllIsLoadingJoinsItsLoad() throws Exception {
    TieredCache<String, String> cache = reader(0);
    CountDownLatch loading = new CountDownLatch(1);
    AtomicInteger bulkLoads = new AtomicInteger();
    AtomicInteger singleLoads = new AtomicInteger();

    Future<Map<String, String>> bulk = pool.submit(() -> cache.getAll(List.of("k", "j"), keys -> {
      bulkLoads.incrementAndGet();
      loading.countDown();
      await().atMost(Duration.ofSeconds(10)).until(() -> coalesced() >= 1);
      return Map.of("k", "K", "j", "J");
    }));
    assertThat(loading.await(10, TimeUnit.SECONDS)).isTrue();
    Future<String> single = pool.submit(() -> cache.get("k", k -> {
      singleLoads.incrementAndGet();
      return "loaded twice";
    }));

    assertThat(single.get(10, TimeUnit.SECONDS)).isEqualTo("K");
    assertThat(bulk.get(10, TimeUnit.SECONDS)).containsExactly(entry("k", "K"), entry("j", "J"));
    assertThat(bulkLoads).hasValue(1);
    assertThat(singleLoads).hasValue(0);
  }

  @Test
  void aGetAllJoinsTheLoadOfAKeyThatAGetIsLoadingAndLoadsOnlyTheRest() throws Exception {
    TieredCache<String, String> cache = reader(0);
    CountDownLatch loading = new CountDownLatch(1);
    List<Set<String>> asked = new ArrayList<>();

    Future<String> single = pool.submit(() -> cache.get("k", k -> {
      loading.countDown();
      await().atMost(Duration.ofSeconds(10)).until(() -> coalesced() >= 1);
      return "K";
    }));
    assertThat(loading.await(10, TimeUnit.SECONDS)).isTrue();
    Map<String, String> all = cache.getAll(List.of("j", "k"), keys -> {
      asked.add(Set.copyOf(keys));
      return Map.of("j", "J", "k", "loaded twice");
    });

    assertThat(all).containsExactly(entry("j", "J"), entry("k", "K"));
    assertThat(asked).containsExactly(Set.of("j"));
    assertThat(single.get(10, TimeUnit.SECONDS)).isEqualTo("K");
  }

  @Test
  void keysThatEncodeAlikeAreReadAndLoadedOnceUnderTheFirstGiven() {
    TieredCache<String, String> cache = track(TieredCache.<String, String>builder(NAME)
        .keyCodec(k -> k.toLowerCase(java.util.Locale.ROOT))
        .l1(l1 -> l1.maximumSize(0))
        .l2(gated)
        .valueCodec(TestCodec.STRING)
        .build());
    writer().put("a", "in L2");
    int reads = store.reads.get();
    List<Set<String>> asked = new ArrayList<>();

    Map<String, String> all = cache.getAll(List.of("A", "b", "a", "B", "A"), keys -> {
      asked.add(Set.copyOf(keys));
      return Map.of("b", "loaded");
    });

    assertThat(all).containsExactly(entry("A", "in L2"), entry("b", "loaded"));
    assertThat(asked).containsExactly(Set.of("b"));
    assertThat(store.reads).as("one L2 read: the flight of b reuses its miss").hasValue(reads + 1);
  }

  @Test
  void aBatchTheL2ServesWholeReadsItOnceAndLoadsNothing() {
    TieredCache<String, String> cache = reader(0);
    List<String> keys = new ArrayList<>();
    for (int i = 0; i < 100; i++) {
      keys.add("k" + i);
      writer().put("k" + i, "v" + i);
    }
    int reads = store.reads.get();

    Map<String, String> all = cache.getAll(keys, missing -> {
      throw new AssertionError("loaded " + missing);
    });

    assertThat(all.keySet()).containsExactlyElementsOf(keys);
    all.forEach((k, v) -> assertThat(v).isEqualTo("v" + k.substring(1)));
    assertThat(store.reads).hasValue(reads + 1);
    assertThat(coalesced()).isZero();
  }
}
