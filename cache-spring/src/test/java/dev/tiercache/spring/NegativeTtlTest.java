package dev.tiercache.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.tiercache.redis.testing.RedisExtension;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.cache.Cache;

/**
 * A cached null is the tiered cache's own absence: it lives for the negative TTL in Redis (not the L2 TTL of values),
 * another instance sees it as a cached null, and once it expires the loader runs again.
 */
class NegativeTtlTest {

  @RegisterExtension static RedisExtension redis = RedisExtension.standalone();

  private static final Duration NEGATIVE_TTL = Duration.ofMillis(800);
  private static final Duration L2_TTL = Duration.ofMinutes(10);

  private TwoManagers two;
  private Cache a;
  private Cache b;
  private RedisClient admin;
  private StatefulRedisConnection<String, String> inspect;

  @BeforeEach
  void start() {
    redis.flushAll();
    two = new TwoManagers(redis, m -> m.defaults(spec -> spec.l2Ttl(L2_TTL).negativeTtl(NEGATIVE_TTL)));
    a = two.a.getCache("books");
    b = two.b.getCache("books");
    admin = RedisClient.create(redis.uri());
    inspect = admin.connect();
  }

  @AfterEach
  void stop() {
    inspect.close();
    admin.shutdown();
    two.close();
  }

  private long pttl(String key) {
    return inspect.sync().pttl("tiercache:{books}:k:" + key);
  }

  @Test
  void aLoadedNullLivesForTheNegativeTtlInRedisAndEveryInstanceSeesIt() {
    AtomicInteger loads = new AtomicInteger();
    String first = a.get("nope", () -> {
      loads.incrementAndGet();
      return null;
    });
    assertThat(first).isNull();
    long nullTtl = pttl("nope");
    assertThat(nullTtl).as("the absence's PTTL in Redis").isPositive().isLessThanOrEqualTo(NEGATIVE_TTL.toMillis());

    Cache.ValueWrapper onB = b.get("nope");
    assertThat(onB).as("a cached null, not a miss, on the other instance").isNotNull();
    assertThat(onB.get()).isNull();
    String onBLoaded = b.get("nope", () -> {
      loads.incrementAndGet();
      return "loaded on b";
    });
    assertThat(onBLoaded).as("b serves the cached null").isNull();
    assertThat(loads).hasValue(1);

    a.put("value", "v");
    assertThat(pttl("value")).as("a value keeps the L2 TTL").isGreaterThan(L2_TTL.toMillis() - 60_000);

    // Past the negative TTL (b's L1 copy counts it from b's read) every tier has let the absence go.
    await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(50))
        .until(() -> a.get("nope") == null && b.get("nope") == null);
    assertThat(pttl("nope")).as("gone from Redis").isEqualTo(-2L);
    String later = b.get("nope", () -> {
      loads.incrementAndGet();
      return "found later";
    });
    assertThat(later).isEqualTo("found later");
    assertThat(loads).hasValue(2);
    assertThat(a.get("nope").get()).isEqualTo("found later");
  }

  @Test
  void aPutNullIsACachedNullForTheNegativeTtlAndReplacesAValue() {
    a.put("k", "v");
    assertThat(b.get("k").get()).isEqualTo("v");
    a.put("k", null);
    assertThat(pttl("k")).isPositive().isLessThanOrEqualTo(NEGATIVE_TTL.toMillis());
    await().atMost(Duration.ofSeconds(2)).until(() -> b.get("k") != null && b.get("k").get() == null);
    assertThat(a.get("k").get()).isNull();
    assertThat(a.get("k", String.class)).isNull();
    assertThat(b.putIfAbsent("k", "other")).as("the cached null is present").isNotNull()
        .extracting(Cache.ValueWrapper::get).isNull();
    assertThat(a.evictIfPresent("k")).as("a cached null is present").isTrue();
    assertThat(a.get("k")).isNull();
    assertThat(a.putIfAbsent("k", null)).as("stored").isNull();
    assertThat(pttl("k")).isPositive().isLessThanOrEqualTo(NEGATIVE_TTL.toMillis());
    await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(50))
        .until(() -> a.get("k") == null && b.get("k") == null);
  }

  @Test
  void retrieveTellsACachedNullFromAMissAndCachesNothingOnAMiss() throws Exception {
    assertThat(a.retrieve("missing").get(5, TimeUnit.SECONDS)).isNull();
    assertThat(a.get("missing")).as("a miss is not cached as an absence").isNull();
    assertThat(pttl("missing")).isEqualTo(-2L);
    b.put("n", null);
    assertThat(a.retrieve("n").get(5, TimeUnit.SECONDS))
        .isInstanceOfSatisfying(Cache.ValueWrapper.class, w -> assertThat(w.get()).isNull());
    assertThat(a.retrieve("n", () -> java.util.concurrent.CompletableFuture.completedFuture("x"))
        .get(5, TimeUnit.SECONDS)).as("served the cached null").isNull();
  }
}
