package dev.tiercache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.tiercache.codec.ValueCodecs;
import dev.tiercache.spi.L2Store;
import dev.tiercache.testkit.InMemoryL2Store;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.Metrics;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.lang.ref.WeakReference;
import java.time.Duration;
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
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The Micrometer meters: names, tags, and exact counts after scripted sequences. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class MetricsTest {

  private static final String NAME = "metered";
  private static final Pattern METER_NAME = Pattern.compile("[a-z0-9]+(\\.[a-z0-9]+)*");

  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final InMemoryL2Store store = new InMemoryL2Store();
  private final List<TieredCache<String, String>> opened = new ArrayList<>();
  private final ExecutorService threads = Executors.newFixedThreadPool(2);

  @AfterEach
  void tearDown() {
    threads.shutdownNow();
    opened.forEach(TieredCache::close);
  }

  private TieredCache<String, String> metered() {
    return track(
        TieredCache.<String, String>builder(NAME)
            .l2(store)
            .valueCodec(ValueCodecs.string())
            .meterRegistry(registry)
            .executor(Runnable::run)
            .build());
  }

  /** Another node on the same store, without metrics. */
  private TieredCache<String, String> unmetered() {
    return track(TieredCache.<String, String>builder(NAME).l2(store).valueCodec(ValueCodecs.string()).build());
  }

  private TieredCache<String, String> track(TieredCache<String, String> cache) {
    opened.add(cache);
    return cache;
  }

  private double count(String name, String... tags) {
    return Counts.of(registry, NAME, name, tags);
  }

  private long loads(String result) {
    Timer timer = registry.find("cache.loads").tag("cache", NAME).tag("result", result).timer();
    assertThat(timer).as("timer cache.loads result=%s", result).isNotNull();
    return timer.count();
  }

  private double l1Size() {
    Gauge gauge = registry.find("cache.size").tag("cache", NAME).tag("tier", "l1").gauge();
    assertThat(gauge).as("gauge cache.size tier=l1").isNotNull();
    return gauge.value();
  }

  @Test
  void getsPutsAndLoadsAreCountedExactly() {
    TieredCache<String, String> cache = metered();
    TieredCache<String, String> other = unmetered();
    IllegalStateException boom = new IllegalStateException("boom");

    cache.get("k1", k -> "v1"); // L1 miss, L2 miss, load ok, L2 put, L1 put
    cache.get("k1", k -> "unused"); // L1 hit
    cache.getIfPresent("k2"); // L1 miss, L2 miss
    other.put("k3", "v3"); // not metered
    cache.get("k3", k -> "unused"); // L1 miss, L2 hit, L1 put
    cache.getIfPresent("k3"); // L1 hit
    cache.put("k4", "v4"); // L2 put, L1 put
    assertThatThrownBy(() -> cache.get("k5", k -> {
      throw boom;
    })).isSameAs(boom); // L1 miss, L2 miss, load failed
    cache.getAll(List.of("k1", "k3", "k6", "k7"), keys -> Map.of("k6", "v6"));
    // k1, k3: L1 hits; k6, k7: L1 misses, L2 misses; one bulk load; k6: L2 put, L1 put

    assertThat(count("cache.gets", "result", "hit", "tier", "l1")).isEqualTo(4);
    assertThat(count("cache.gets", "result", "miss", "tier", "l1")).isEqualTo(6);
    assertThat(count("cache.gets", "result", "hit", "tier", "l2")).isEqualTo(1);
    assertThat(count("cache.gets", "result", "miss", "tier", "l2")).isEqualTo(5);
    assertThat(count("cache.puts", "tier", "l1")).isEqualTo(4);
    assertThat(count("cache.puts", "tier", "l2")).isEqualTo(3);
    assertThat(loads("success")).isEqualTo(2);
    assertThat(loads("failure")).isEqualTo(1);
    assertThat(l1Size()).isEqualTo(4); // k1, k3, k4, k6
  }

  @Test
  void invalidationsAreCountedByStrategy() {
    TieredCache<String, String> cache = metered();

    cache.invalidate(Invalidation.key("a"));
    cache.invalidateKey("b");
    cache.invalidate(Invalidation.prefix("user:"));
    cache.invalidate(Invalidation.tag("tenant:7"));
    cache.invalidateAsync(Invalidation.tag("tenant:8")).join();
    cache.invalidate(Invalidation.pattern("user:*:profile"));

    assertThat(count("cache.invalidations", "strategy", "key")).isEqualTo(2);
    assertThat(count("cache.invalidations", "strategy", "prefix")).isEqualTo(1);
    assertThat(count("cache.invalidations", "strategy", "tag")).isEqualTo(2);
    assertThat(count("cache.invalidations", "strategy", "pattern")).isEqualTo(1);
  }

  @Test
  void customStrategyInvalidationsAreCountedUnderItsName() {
    InvalidationStrategy everything =
        new InvalidationStrategy() {
          @Override
          public String name() {
            return "everything";
          }

          @Override
          public EntryMatcher matcher(String argument) {
            return (key, tags) -> true;
          }

          @Override
          public CompletableFuture<Void> applyTo(L2Store l2, String cache, String argument) {
            return l2.invalidatePattern(cache, "*");
          }
        };
    TieredCache<String, String> cache =
        track(
            TieredCache.<String, String>builder(NAME)
                .invalidationStrategy(everything)
                .meterRegistry(registry)
                .build());

    cache.invalidate(Invalidation.of(everything, "x"));

    assertThat(count("cache.invalidations", "strategy", "everything")).isEqualTo(1);
  }

  @Test
  void l1SizeGaugeFollowsTheL1() {
    TieredCache<String, String> cache = metered();
    assertThat(l1Size()).isZero();

    cache.put("a", "A");
    cache.put("b", "B");
    cache.get("c", k -> "C");
    assertThat(l1Size()).isEqualTo(3);

    cache.invalidateKey("a");
    assertThat(l1Size()).isEqualTo(2);
  }

  /**
   * Micrometer gauges hold their state object weakly by default. The gauge must not depend on an object that only
   * the registry references, or it reads NaN after the next garbage collection.
   */
  @Test
  void l1SizeGaugeSurvivesGarbageCollection() {
    TieredCache<String, String> cache = metered();
    cache.put("a", "A");
    cache.put("b", "B");
    cache.put("c", "C");
    assertThat(l1Size()).isEqualTo(3);

    collectGarbage();

    assertThat(cache.estimatedL1Size()).isEqualTo(3);
    assertThat(l1Size()).isEqualTo(3);
  }

  /** Runs full collections until a weakly reachable canary is gone (bounded). */
  private static void collectGarbage() {
    WeakReference<Object> canary = new WeakReference<>(new Object());
    for (int i = 0; i < 20 && canary.get() != null; i++) {
      System.gc();
    }
    assertThat(canary.get()).as("a garbage collection cleared weak references").isNull();
    System.gc();
  }

  @Test
  void aGetThatJoinsAnInFlightLoadIsCountedAsCoalesced() throws Exception {
    TieredCache<String, String> cache = metered();
    CountDownLatch started = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    AtomicInteger loaderCalls = new AtomicInteger();

    Future<String> first =
        threads.submit(
            () ->
                cache.get(
                    "hot",
                    k -> {
                      loaderCalls.incrementAndGet();
                      started.countDown();
                      try {
                        if (!release.await(10, TimeUnit.SECONDS)) {
                          throw new IllegalStateException("never released");
                        }
                      } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new IllegalStateException(e);
                      }
                      return "HOT";
                    }));
    assertThat(started.await(10, TimeUnit.SECONDS)).isTrue();
    assertThat(count("cache.stampede.coalesced")).isZero();

    Future<String> second = threads.submit(() -> cache.get("hot", k -> "second loader must not run"));
    await().atMost(Duration.ofSeconds(10)).until(() -> count("cache.stampede.coalesced") == 1);
    assertThat(second.isDone()).isFalse();

    release.countDown();
    assertThat(first.get(10, TimeUnit.SECONDS)).isEqualTo("HOT");
    assertThat(second.get(10, TimeUnit.SECONDS)).isEqualTo("HOT");
    assertThat(loaderCalls).hasValue(1);
    assertThat(count("cache.stampede.coalesced")).isEqualTo(1);
    assertThat(loads("success")).isEqualTo(1);
  }

  @Test
  void l2ErrorsAreCountedByOperation() {
    TieredCache<String, String> cache = metered();
    store.setDown(true);

    cache.get("a", k -> "A");
    assertThatThrownBy(() -> cache.invalidate(Invalidation.key("a")))
        .isInstanceOf(InvalidationPendingException.class);
    // An invalidation waits for the L2, and the put is still tried: it fails on its own account.
    assertThatThrownBy(() -> cache.put("b", "B")).isInstanceOf(InvalidationPendingException.class);

    assertThat(count("cache.l2.errors", "op", "get")).isEqualTo(1);
    assertThat(count("cache.l2.errors", "op", "invalidate")).isEqualTo(1);
    assertThat(count("cache.l2.errors", "op", "put")).isEqualTo(1);
    assertThat(registry.get("cache.l2.pending").gauge().value()).isEqualTo(2);
  }

  @Test
  void aFailedL2PutIsCountedAndQueuesTheKeysInvalidation() {
    TieredCache<String, String> cache = metered();
    store.setDown(true);
    assertThatThrownBy(() -> cache.put("b", "B")).isInstanceOf(InvalidationPendingException.class);
    assertThat(count("cache.l2.errors", "op", "put")).isEqualTo(1);
    assertThat(registry.get("cache.l2.pending").gauge().value()).isEqualTo(1);
  }

  @Test
  void meterNamesAndTagKeysAreLowercaseAndDotSeparated() {
    TieredCache<String, String> cache = metered();
    cache.get("a", k -> "A");
    cache.invalidate(Invalidation.key("a"));
    store.setDown(true);
    cache.get("b", k -> "B");

    assertThat(registry.getMeters()).isNotEmpty();
    for (Meter meter : registry.getMeters()) {
      Meter.Id id = meter.getId();
      assertThat(id.getName()).as("meter name").matches(METER_NAME).startsWith("cache.");
      assertThat(id.getTag("cache")).as("cache tag of %s", id.getName()).isEqualTo(NAME);
      for (Tag tag : id.getTags()) {
        assertThat(tag.getKey()).as("tag key of %s", id.getName()).matches(METER_NAME);
      }
      String tier = id.getTag("tier");
      if (tier != null) {
        assertThat(tier).isIn("l1", "l2");
      }
      String result = id.getTag("result");
      if (result != null) {
        assertThat(result).isIn("hit", "miss", "success", "failure");
      }
    }
  }

  @Test
  void aCacheWithoutARegistryWorksAndPublishesNothing() {
    String name = "unmetered-" + System.nanoTime();
    try (TieredCache<String, String> cache =
        TieredCache.<String, String>builder(name).l2(store).valueCodec(ValueCodecs.string()).build()) {
      assertThat(cache.get("a", k -> "A")).isEqualTo("A");
      assertThat(cache.get("a", k -> "unused")).isEqualTo("A");
      cache.put("b", "B");
      assertThat(cache.getAll(List.of("a", "b", "c"), keys -> Map.of("c", "C"))).hasSize(3);
      cache.invalidate(Invalidation.prefix("a"));
      assertThat(cache.getIfPresent("a")).isNull();
      store.setDown(true);
      assertThat(cache.get("d", k -> "D")).isEqualTo("D");
      assertThat(cache.estimatedL1Size()).isGreaterThan(0);
    }
    assertThat(Metrics.globalRegistry.find("cache.gets").tag("cache", name).meters()).isEmpty();
    assertThat(registry.getMeters()).isEmpty();
  }
}
