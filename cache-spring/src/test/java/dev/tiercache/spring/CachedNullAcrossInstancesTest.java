package dev.tiercache.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.tiercache.Invalidation;
import dev.tiercache.Tags;
import dev.tiercache.TieredCache;
import dev.tiercache.redis.testing.RedisExtension;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.cache.Cache;

/**
 * A cached null on real Redis against what should end it: an invalidation by tag, prefix or of everything on the
 * other instance drops the null there too (and Redis does not hand it back), and a {@code put(key, null)} made while
 * a load of the key is in flight is not overwritten by that load.
 */
class CachedNullAcrossInstancesTest {

  @RegisterExtension static RedisExtension redis = RedisExtension.standalone();

  private TwoManagers two;
  private Cache a;
  private Cache b;

  @BeforeEach
  void start() {
    redis.flushAll();
    two = new TwoManagers(redis, m -> m.defaults(spec -> spec
        .negativeTtl(Duration.ofMinutes(5))
        .tags(key -> Tags.of("tenant:" + key.toString().substring(0, 2)))));
    a = two.a.getCache("books");
    b = two.b.getCache("books");
  }

  @AfterEach
  void stop() {
    two.close();
  }

  @SuppressWarnings("unchecked")
  private static TieredCache<Object, Object> tiered(Cache cache) {
    return (TieredCache<Object, Object>) cache.getNativeCache();
  }

  private void cachedNullOnBothThen(String key, Consumer<TieredCache<Object, Object>> invalidateOnA) {
    assertThat((Object) a.get(key, () -> null)).isNull();
    assertThat(b.get(key)).as("b holds the cached null").isNotNull();
    invalidateOnA.accept(tiered(a));
    assertThat(a.get(key)).as("gone on the invalidating instance at once").isNull();
    await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(20)).until(() -> b.get(key) == null);
    assertThat((Object) b.get(key, () -> "found")).as("b loads again").isEqualTo("found");
    assertThat(a.get(key).get()).isEqualTo("found");
  }

  @Test
  void aTagInvalidationOnOneInstanceEndsTheCachedNullOnTheOther() {
    cachedNullOnBothThen("t1:x", cache -> cache.invalidate(Invalidation.tag("tenant:t1")));
  }

  @Test
  void aPrefixInvalidationOnOneInstanceEndsTheCachedNullOnTheOther() {
    cachedNullOnBothThen("t2:x", cache -> cache.invalidate(Invalidation.prefix("t2:")));
  }

  @Test
  void clearOnOneInstanceEndsTheCachedNullOnTheOther() {
    cachedNullOnBothThen("t3:x", cache -> a.clear());
  }

  @Test
  void aPutOfNullDuringALoadIsNotOverwrittenByTheLoad() throws Exception {
    CountDownLatch loading = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    CompletableFuture<String> load = CompletableFuture.supplyAsync(() -> a.get("t4:x", () -> {
      loading.countDown();
      release.await(10, TimeUnit.SECONDS);
      return "stale";
    }));
    assertThat(loading.await(10, TimeUnit.SECONDS)).isTrue();
    a.put("t4:x", null);
    release.countDown();
    load.get(10, TimeUnit.SECONDS);

    Cache.ValueWrapper onA = a.get("t4:x");
    assertThat(onA).as("the cached null, not the overtaken load").isNotNull();
    assertThat(onA.get()).isNull();
    await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(20))
        .until(() -> b.get("t4:x") != null && b.get("t4:x").get() == null);
  }
}
