package dev.tiercache.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.tiercache.Invalidation;
import dev.tiercache.TieredCache;
import dev.tiercache.codec.ValueCodecs;
import dev.tiercache.redis.testing.RedisExtension;
import dev.tiercache.redis.testing.RedisSentinel;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Two nodes reach their L2 and bus through a real Redis Sentinel, with nothing Sentinel-specific in Tiercache. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RedisSentinelTest {

  @RegisterExtension
  static final RedisExtension REDIS = RedisExtension.standalone().withProcessControl();

  @Test
  void twoNodesShareTheL2AndTheBusThroughASentinelUri() {
    AtomicReference<String> database = new AtomicReference<>("v1");
    try (RedisSentinel sentinel = RedisSentinel.start(REDIS.uri());
        RedisTier tierA = RedisTier.create(sentinel.uri());
        RedisTier tierB = RedisTier.create(sentinel.uri());
        TieredCache<String, String> a = cache(tierA);
        TieredCache<String, String> b = cache(tierB)) {
      assertThat(a.get("k", k -> database.get())).isEqualTo("v1");
      assertThat(b.get("k", k -> "b-loaded")).as("an L2 hit through the sentinel").isEqualTo("v1");
      database.set("v2");
      a.invalidate(Invalidation.key("k"));
      await().atMost(Duration.ofSeconds(10)).untilAsserted(
          () -> assertThat(b.get("k", k -> database.get())).isEqualTo("v2"));
    }
  }

  private static TieredCache<String, String> cache(RedisTier tier) {
    return TieredCache.<String, String>builder("sentinel").keyCodec(k -> k).l2(tier)
        .valueCodec(ValueCodecs.string()).build();
  }
}
