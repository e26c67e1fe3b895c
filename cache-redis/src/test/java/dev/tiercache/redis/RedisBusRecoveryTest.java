package dev.tiercache.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.tiercache.Invalidation;
import dev.tiercache.TieredCache;
import dev.tiercache.codec.ValueCodecs;
import dev.tiercache.redis.testing.RedisExtension;
import io.lettuce.core.KillArgs;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * DESIGN.md invariant 2: a node whose subscription dropped, or whose Redis restarted, may have missed invalidations;
 * it clears its L1 and serves nothing stale once it is back.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class RedisBusRecoveryTest {

  @RegisterExtension
  static final RedisExtension REDIS = RedisExtension.standalone().withProcessControl();

  private static final Duration HEAL = Duration.ofSeconds(20);

  private final List<AutoCloseable> resources = new ArrayList<>();
  private final String name = "recovery-" + Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 1);
  private final AtomicReference<String> database = new AtomicReference<>("v1");

  /** A node with its own client and registry, so its L1 clears can be counted. */
  private final class Node {
    final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    final AtomicInteger loads = new AtomicInteger();
    final TieredCache<String, String> cache;

    Node() {
      RedisClient client = RedisClient.create(REDIS.uri());
      RedisTier tier = RedisTier.create(client);
      cache =
          TieredCache.<String, String>builder(name)
              .keyCodec(k -> k)
              .l2(tier)
              .valueCodec(ValueCodecs.string())
              .meterRegistry(registry)
              .build();
      resources.add(cache);
      resources.add(tier);
      resources.add(() -> client.shutdown(Duration.ZERO, Duration.ofSeconds(2)));
    }

    String read(String key) {
      return cache.get(key, k -> {
        loads.incrementAndGet();
        return database.get();
      });
    }

    double l1Clears() {
      return registry.counter("cache.l1.clears", "cache", name).count();
    }
  }

  @AfterEach
  void close() throws Exception {
    for (int i = resources.size() - 1; i >= 0; i--) {
      resources.get(i).close();
    }
  }

  @Test
  void aKilledSubscriptionClearsTheL1AndMessagesFlowAgainAfterResubscription() {
    Node a = new Node();
    Node b = new Node();
    assertThat(b.read("k")).isEqualTo("v1");

    RedisClient admin = RedisClient.create(REDIS.uri());
    try (StatefulRedisConnection<String, String> connection = admin.connect()) {
      assertThat(connection.sync().clientKill(KillArgs.Builder.typePubsub())).isPositive();
    } finally {
      admin.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
    // Published while B is resubscribing, maybe lost: B must not keep v1 in its L1 either way.
    database.set("v2");
    a.cache.invalidate(Invalidation.key("k"));
    await().atMost(HEAL).untilAsserted(() -> assertThat(b.read("k")).isEqualTo("v2"));

    // The resubscription cleared B's L1, and messages reach B again.
    await().atMost(HEAL).until(() -> b.l1Clears() >= 1);
    assertThat(b.read("k")).isEqualTo("v2");
    database.set("v3");
    a.cache.invalidate(Invalidation.key("k"));
    await().atMost(HEAL).untilAsserted(() -> assertThat(b.read("k")).isEqualTo("v3"));
  }

  @Test
  void aRedisRestartClearsEveryL1AndNoNodeServesTheOldValue() {
    Node a = new Node();
    Node b = new Node();
    assertThat(a.read("k")).isEqualTo("v1");
    assertThat(b.read("k")).isEqualTo("v1");
    assertThat(a.loads.get() + b.loads.get()).isEqualTo(1);

    REDIS.restart();
    database.set("v2");

    await().atMost(HEAL).until(() -> a.l1Clears() >= 1 && b.l1Clears() >= 1);
    // The L2 is empty after the restart and both L1s were cleared: both read the database again.
    await().atMost(HEAL).untilAsserted(() -> assertThat(b.read("k")).isEqualTo("v2"));
    await().atMost(HEAL).untilAsserted(() -> assertThat(a.read("k")).isEqualTo("v2"));

    // And the bus works again: an invalidation on A reaches B.
    database.set("v3");
    a.cache.invalidate(Invalidation.key("k"));
    await().atMost(HEAL).untilAsserted(() -> assertThat(b.read("k")).isEqualTo("v3"));
  }
}
