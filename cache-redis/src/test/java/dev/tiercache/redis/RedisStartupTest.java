package dev.tiercache.redis;

import static org.assertj.core.api.Assertions.assertThatThrownBy;
import dev.tiercache.InvalidationPendingException;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.tiercache.Invalidation;
import dev.tiercache.TieredCache;
import dev.tiercache.codec.ValueCodecs;
import dev.tiercache.redis.testing.RedisExtension;
import io.lettuce.core.RedisClient;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/** DESIGN.md invariant 3 at start-up: an application starts while Redis is down, and uses Redis once it is up. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RedisStartupTest {

  @RegisterExtension
  static final RedisExtension REDIS = RedisExtension.standalone().withProcessControl();

  @Test
  void aCacheBuiltWhileRedisIsDownServesFromItsLoaderThenUsesRedisWhenItAppears() {
    REDIS.stop();
    RedisTierOptions options =
        RedisTierOptions.builder().connectRetryInterval(Duration.ofMillis(200)).build();
    RedisClient clientA = client();
    RedisClient clientB = client();
    AtomicReference<String> database = new AtomicReference<>("v1");
    AtomicInteger loadsA = new AtomicInteger();
    AtomicInteger loadsB = new AtomicInteger();
    try (RedisTier tierA = RedisTier.create(clientA, options);
        RedisTier tierB = RedisTier.create(clientB, options);
        TieredCache<String, String> a = cache(tierA);
        TieredCache<String, String> b = cache(tierB)) {
      long start = System.nanoTime();
      assertThat(a.get("k", k -> database.get() + "#" + loadsA.incrementAndGet())).isEqualTo("v1#1");
      assertThatThrownBy(() -> a.invalidate(Invalidation.key("k"))).isInstanceOf(InvalidationPendingException.class);
      assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(2));

      REDIS.start();
      // Once Redis is reachable, what A writes B reads from the L2, without loading.
      await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
        assertThat(FaultKit.completed(() -> a.put("shared", "from-a"))).isTrue();
        assertThat(b.get("shared", k -> "loaded-by-b#" + loadsB.incrementAndGet())).isEqualTo("from-a");
      });
      // And the bus carries A's invalidations to B.
      database.set("v2");
      assertThat(b.get("k", k -> database.get())).isEqualTo("v2");
      database.set("v3");
      await().atMost(Duration.ofSeconds(10)).until(() -> FaultKit.completed(() -> a.invalidate(Invalidation.key("k"))));
      await().atMost(Duration.ofSeconds(10)).untilAsserted(
          () -> assertThat(b.get("k", k -> database.get())).isEqualTo("v3"));
    } finally {
      clientA.shutdown(Duration.ZERO, Duration.ofSeconds(2));
      clientB.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
  }

  /**
   * Issue 9 defect 10: the tier had connected, Redis went down, and then a cache was built on it. The build used to
   * throw RedisConnectionException (a synchronous subscribe); now it returns at once and the cache subscribes when
   * Redis is back.
   */
  @Test
  void aCacheBuiltOnAConnectedTierWhileRedisIsDownSubscribesWhenItIsBack() throws Exception {
    RedisTierOptions options =
        RedisTierOptions.builder().connectRetryInterval(Duration.ofMillis(100)).build();
    RedisClient clientA = client();
    RedisClient clientB = client();
    AtomicReference<String> database = new AtomicReference<>("v1");
    try (RedisTier tierA = RedisTier.create(clientA, options);
        RedisTier tierB = RedisTier.create(clientB, options)) {
      REDIS.stop();
      long start = System.nanoTime();
      RecordingListener listener = new RecordingListener();
      try (TieredCache<String, String> a = cache(tierA);
          TieredCache<String, String> b = cache(tierB);
          var subscription = tierB.bus().subscribe("startup", listener)) {
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(2));
        assertThat(listener.events).containsExactly("lost");
        assertThat(b.get("k", k -> database.get())).isEqualTo("v1");

        REDIS.start();
        await().atMost(Duration.ofSeconds(5)).untilAsserted(
            () -> assertThat(listener.events).containsExactly("lost", "suspect", "restored"));
        tierA.bus().publish("startup", RecordingListener.message("a", 1, "k")).get(5, TimeUnit.SECONDS);
        await().atMost(Duration.ofSeconds(5)).until(() -> listener.messages.size() == 1);
        // Once both subscribed, an invalidation on A reaches B's L1.
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
          database.set(database.get() + "+");
          assertThat(FaultKit.completed(() -> a.invalidate(Invalidation.key("k")))).isTrue();
          String expected = database.get();
          await().atMost(Duration.ofSeconds(1)).untilAsserted(
              () -> assertThat(b.get("k", k -> database.get())).isEqualTo(expected));
        });
      }
    } finally {
      clientA.shutdown(Duration.ZERO, Duration.ofSeconds(2));
      clientB.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
  }

  private static RedisClient client() {
    RedisClient client = RedisClient.create(REDIS.uri());
    client.setOptions(RedisTier.recommendedClientOptions());
    return client;
  }

  private static TieredCache<String, String> cache(RedisTier tier) {
    return TieredCache.<String, String>builder("startup")
        .keyCodec(k -> k)
        .l2(tier)
        .valueCodec(ValueCodecs.string())
        .l2RetryInterval(Duration.ofMillis(100))
        .build();
  }
}
