package dev.tiercache.redis;

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
    RedisClient clientA = RedisClient.create(REDIS.uri());
    clientA.setOptions(RedisTier.recommendedClientOptions());
    RedisClient clientB = RedisClient.create(REDIS.uri());
    clientB.setOptions(RedisTier.recommendedClientOptions());
    AtomicReference<String> database = new AtomicReference<>("v1");
    AtomicInteger loadsA = new AtomicInteger();
    AtomicInteger loadsB = new AtomicInteger();
    try (RedisTier tierA = RedisTier.create(clientA, options);
        RedisTier tierB = RedisTier.create(clientB, options);
        TieredCache<String, String> a = cache(tierA);
        TieredCache<String, String> b = cache(tierB)) {
      long start = System.nanoTime();
      assertThat(a.get("k", k -> database.get() + "#" + loadsA.incrementAndGet())).isEqualTo("v1#1");
      a.invalidate(Invalidation.key("k"));
      assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(2));

      REDIS.start();
      // Once Redis is reachable, what A writes B reads from the L2, without loading.
      await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
        a.put("shared", "from-a");
        assertThat(b.get("shared", k -> "loaded-by-b#" + loadsB.incrementAndGet())).isEqualTo("from-a");
      });
      // And the bus carries A's invalidations to B.
      database.set("v2");
      assertThat(b.get("k", k -> database.get())).isEqualTo("v2");
      database.set("v3");
      a.invalidate(Invalidation.key("k"));
      await().atMost(Duration.ofSeconds(10)).untilAsserted(
          () -> assertThat(b.get("k", k -> database.get())).isEqualTo("v3"));
    } finally {
      clientA.shutdown(Duration.ZERO, Duration.ofSeconds(2));
      clientB.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
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
