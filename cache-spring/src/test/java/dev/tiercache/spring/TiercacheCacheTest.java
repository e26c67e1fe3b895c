package dev.tiercache.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.tiercache.Tags;
import dev.tiercache.redis.testing.RedisExtension;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.cache.Cache;
import org.springframework.cache.interceptor.SimpleKey;

/** Spring's Cache contract on real Redis, with two instances (two managers) sharing it. */
class TiercacheCacheTest {

  @RegisterExtension static RedisExtension redis = RedisExtension.standalone();

  private static final Duration BUS = Duration.ofSeconds(2);

  private TwoManagers two;
  private Cache a;
  private Cache b;

  @BeforeEach
  void start() {
    redis.flushAll();
    two =
        new TwoManagers(
            redis,
            m -> m.cache("tagged", spec -> spec.tags(key -> Tags.of("group:" + String.valueOf(key).charAt(0))))
                .cache("strict", spec -> spec.allowNullValues(false)));
    a = two.a.getCache("books");
    b = two.b.getCache("books");
  }

  @AfterEach
  void stop() {
    two.close();
  }

  @Test
  void getIsNullWhenAbsentAndAWrapperWhenPresentOnEveryInstance() {
    assertThat(a.get("k")).isNull();
    a.put("k", "v");
    assertThat(a.get("k").get()).isEqualTo("v");
    assertThat(b.get("k").get()).isEqualTo("v");
    assertThat(b.get("k", String.class)).isEqualTo("v");
    assertThatThrownBy(() -> b.get("k", Integer.class)).isInstanceOf(IllegalStateException.class);
  }

  @Test
  void nullsAreCachedAsNullsWhenAllowed() {
    AtomicInteger loads = new AtomicInteger();
    String first = a.get("k", () -> {
      loads.incrementAndGet();
      return null;
    });
    String second = a.get("k", () -> loads.incrementAndGet() + "");
    assertThat(first).isNull();
    assertThat(second).isNull();
    assertThat(loads).hasValue(1);
    assertThat(a.get("k")).isNotNull().extracting(Cache.ValueWrapper::get).isNull();
    assertThat(b.get("k")).as("the null marker crosses the L2").isNotNull().extracting(Cache.ValueWrapper::get)
        .isNull();
    a.put("p", null);
    assertThat(b.get("p")).isNotNull().extracting(Cache.ValueWrapper::get).isNull();
  }

  @Test
  void nullsAreRefusedOrNotCachedWhenNotAllowed() {
    Cache strict = two.a.getCache("strict");
    assertThatThrownBy(() -> strict.put("k", null)).isInstanceOf(IllegalArgumentException.class);
    AtomicInteger loads = new AtomicInteger();
    strict.get("k", () -> {
      loads.incrementAndGet();
      return null;
    });
    strict.get("k", () -> {
      loads.incrementAndGet();
      return null;
    });
    assertThat(loads).hasValue(2);
    assertThat(strict.get("k")).isNull();
  }

  @Test
  void aFailingLoaderIsWrappedAndNothingIsCached() {
    IOException failure = new IOException("db down");
    assertThatThrownBy(() -> a.get("k", () -> {
      throw failure;
    })).isInstanceOf(Cache.ValueRetrievalException.class).hasCause(failure);
    assertThat(a.get("k")).isNull();
    assertThat(a.get("k", () -> "v")).isEqualTo("v");
  }

  @Test
  void putIfAbsentStoresOnlyWhenAbsent() {
    assertThat(a.putIfAbsent("k", "first")).isNull();
    assertThat(b.putIfAbsent("k", "second").get()).isEqualTo("first");
    assertThat(a.get("k").get()).isEqualTo("first");
  }

  @Test
  void evictOnOneInstanceDropsTheOtherInstancesL1() {
    a.put("k", "v");
    assertThat(b.get("k").get()).isEqualTo("v"); // now in b's L1
    a.evict("k");
    await().atMost(BUS).until(() -> b.get("k") == null);
    assertThat(a.get("k")).isNull();
  }

  @Test
  void evictIfPresentTellsWhetherTheKeyWasThere() {
    a.put("k", "v");
    assertThat(b.evictIfPresent("k")).isTrue();
    assertThat(b.evictIfPresent("k")).isFalse();
    await().atMost(BUS).until(() -> a.get("k") == null);
  }

  @Test
  void clearEmptiesEveryInstanceAndLaterPutsStillWork() {
    a.put("k1", "v1");
    a.put("k2", "v2");
    assertThat(b.get("k1").get()).isEqualTo("v1");
    assertThat(b.get("k2").get()).isEqualTo("v2");
    a.clear();
    assertThat(a.get("k1")).isNull();
    await().atMost(BUS).until(() -> b.get("k1") == null && b.get("k2") == null);
    a.put("k1", "new");
    assertThat(b.get("k1").get()).isEqualTo("new");
    b.invalidate();
    assertThat(b.get("k1")).isNull();
    await().atMost(BUS).until(() -> a.get("k1") == null);
  }

  @Test
  void retrieveMapsToGetAsync() throws Exception {
    assertThat(a.retrieve("k").get(5, TimeUnit.SECONDS)).isNull();
    b.put("k", "v");
    assertThat(a.retrieve("k").get(5, TimeUnit.SECONDS)).isEqualTo("v");
    b.put("n", null);
    assertThat(a.retrieve("n").get(5, TimeUnit.SECONDS))
        .isInstanceOfSatisfying(Cache.ValueWrapper.class, w -> assertThat(w.get()).isNull());
    AtomicInteger loads = new AtomicInteger();
    for (int i = 0; i < 2; i++) {
      assertThat(a.retrieve("l", () -> CompletableFuture.completedFuture("loaded" + loads.incrementAndGet()))
              .get(5, TimeUnit.SECONDS))
          .isEqualTo("loaded1");
    }
    IllegalStateException failure = new IllegalStateException("boom");
    CompletableFuture<Object> failed = a.retrieve("f", () -> CompletableFuture.failedFuture(failure));
    assertThatThrownBy(() -> failed.get(5, TimeUnit.SECONDS)).hasCause(failure);
  }

  @Test
  void compositeSpringKeysAddressTheSameEntryOnEveryInstance() {
    a.put(new SimpleKey("x", 1L), "v");
    assertThat(b.get(new SimpleKey("x", 1L)).get()).isEqualTo("v");
    assertThat(b.get(new SimpleKey("x", 1))).as("an Integer 1 is another key").isNull();
  }

  @Test
  void tagAndPrefixEvictionReachEveryInstance() {
    Cache taggedA = two.a.getCache("tagged");
    Cache taggedB = two.b.getCache("tagged");
    taggedA.put("a1", "x");
    taggedA.put("a2", "x");
    taggedA.put("b1", "x");
    assertThat(taggedB.get("a1")).isNotNull();
    new TiercacheEvictor(two.a).evictTag("tagged", "group:a");
    await().atMost(BUS).until(() -> taggedB.get("a1") == null && taggedB.get("a2") == null);
    assertThat(taggedB.get("b1")).isNotNull();

    a.put("user:1", "x");
    a.put("user:2", "x");
    a.put("user*", "x");
    a.put("other", "x");
    assertThat(b.get("user:1")).isNotNull();
    new TiercacheEvictor(two.a).evictPrefix("books", "user:");
    await().atMost(BUS).until(() -> b.get("user:1") == null && b.get("user:2") == null);
    assertThat(b.get("user*")).as("the prefix is literal").isNotNull();
    assertThat(b.get("other")).isNotNull();
  }

  @Test
  void destroyClosesTheCaches() {
    TiercacheCache cache = two.a.getTiercache("books");
    two.a.destroy();
    assertThatThrownBy(() -> cache.get("k")).isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> two.a.getCache("another")).isInstanceOf(IllegalStateException.class);
  }

  @Test
  void aNonDynamicManagerKnowsOnlyItsNamedCaches() {
    TiercacheCacheManager manager =
        TiercacheCacheManager.builder(null).dynamic(false).cacheNames(java.util.List.of("only")).build();
    try {
      assertThat(manager.getCacheNames()).containsExactly("only");
      assertThat(manager.getCache("other")).isNull();
      assertThat(manager.getCache("only")).isNotNull();
    } finally {
      manager.destroy();
    }
  }
}
