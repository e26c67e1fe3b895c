package dev.tiercache.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tiercache.Invalidation;
import dev.tiercache.TieredCache;
import dev.tiercache.codec.ValueCodecs;
import dev.tiercache.redis.testing.RedisExtension;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.sync.RedisCommands;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/** User input is data, foreign bytes are a miss, and credentials come through Lettuce's RedisURI. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RedisSafetyTest {

  @RegisterExtension static final RedisExtension REDIS = RedisExtension.standalone();

  private static RedisClient client;
  private static RedisTier tier;
  private static TierSession session;
  private static RedisCommands<String, String> redis;

  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final AtomicInteger loads = new AtomicInteger();
  private String name;
  private TieredCache<String, String> cache;

  @BeforeAll
  static void connect() {
    session = new TierSession(REDIS.uri());
    client = session.client;
    tier = session.tier();
    redis = session.redis;
  }

  @AfterAll
  static void disconnect() {
    session.close();
  }

  @BeforeEach
  void build() {
    name = "safety-" + Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 1);
    cache =
        TieredCache.<String, String>builder(name)
            .keyCodec(k -> k)
            .l2(tier)
            .valueCodec(ValueCodecs.string())
            .meterRegistry(registry)
            .build();
  }

  @AfterEach
  void close() {
    cache.close();
  }

  private String read(String key) {
    return cache.get(key, k -> {
      loads.incrementAndGet();
      return "loaded:" + k;
    });
  }

  @Test
  void aPrefixWithGlobCharactersInvalidatesExactlyWhatItNames() {
    for (String key : new String[] {"a*", "a*b", "ab", "a", "a?c", "abc"}) {
      read(key);
    }
    assertThat(loads).hasValue(6);
    cache.invalidate(Invalidation.prefix("a*"));
    // A fresh node has no L1, so what it loads is exactly what the L2 lost.
    TieredCache<String, String> fresh =
        TieredCache.<String, String>builder(name).keyCodec(k -> k).l2(tier).valueCodec(ValueCodecs.string()).build();
    AtomicInteger freshLoads = new AtomicInteger();
    for (String key : new String[] {"a*", "a*b", "ab", "a", "a?c", "abc"}) {
      fresh.get(key, k -> {
        freshLoads.incrementAndGet();
        return "reloaded:" + k;
      });
    }
    fresh.close();
    assertThat(freshLoads).hasValue(2);
    assertThat(read("ab")).isEqualTo("loaded:ab");
    assertThat(read("a*b")).isEqualTo("reloaded:a*b");
  }

  @Test
  void aPatternMatchesOnlyInsideItsOwnCache() {
    TieredCache<String, String> neighbour =
        TieredCache.<String, String>builder(name + "-x").keyCodec(k -> k).l2(tier).valueCodec(ValueCodecs.string())
            .build();
    neighbour.put("user:1", "neighbour");
    read("user:1");
    cache.invalidate(Invalidation.pattern("*"));
    TieredCache<String, String> freshNeighbour =
        TieredCache.<String, String>builder(name + "-x").keyCodec(k -> k).l2(tier).valueCodec(ValueCodecs.string())
            .build();
    assertThat(freshNeighbour.get("user:1", k -> "reloaded")).isEqualTo("neighbour");
    neighbour.close();
    freshNeighbour.close();
    assertThat(read("user:1")).isEqualTo("loaded:user:1");
    assertThat(loads).hasValue(2);
  }

  @Test
  void corruptBytesWrittenByAPlainClientAreAMissAndAMetric() {
    String key = "tiercache:{" + name + "}:k:";
    // A well-formed entry of another codec, at the bucket's clock (not below its floor, not newer than a write-back).
    tier.get(name, "seed").join();
    long clock = Long.parseLong(redis.get("tiercache:{" + name + "}:m:clock"));
    redis.set(key + "plain-string", "not an entry");
    redis.set(key + "wrong-codec", StoredEntry.value(clock, "json", "{}"));
    redis.set(key + "wrong-format", "9" + StoredEntry.value(1, "string", "x").substring(1));

    // Issue 10 #2 and #3: a tag field that once looped the read script, two that made Java throw, and an entry cut
    // short.
    redis.set(key + "looping-tags", StoredEntry.of(1, "v", "string", "0:-3:", "x"));
    redis.set(key + "short-tags", StoredEntry.of(1, "v", "string", "5:ab", "x"));
    redis.set(key + "spaced-tags", StoredEntry.of(1, "v", "string", " 1:a", "x"));
    redis.set(key + "cut-short", StoredEntry.of(1, "v", "string", "1:a", "x").substring(0, 30));
    java.util.List<String> corrupt =
        java.util.List.of("plain-string", "wrong-codec", "wrong-format", "looping-tags", "short-tags",
            "spaced-tags", "cut-short");

    for (String k : corrupt) {
      assertThat(read(k)).isEqualTo("loaded:" + k);
    }
    assertThat(loads).hasValue(corrupt.size());
    assertThat(registry.counter("cache.l2.errors", "cache", name, "op", "decode").count())
        .isEqualTo(corrupt.size());
    assertThat(registry.counter("cache.l2.errors", "cache", name, "op", "get").count()).as("not get failures")
        .isZero();
    // Each was replaced by the write-back of its load: a fresh node reads the loaded values from the L2.
    TieredCache<String, String> fresh =
        TieredCache.<String, String>builder(name).keyCodec(k -> k).l2(tier).valueCodec(ValueCodecs.string()).build();
    for (String k : corrupt) {
      assertThat(fresh.get(k, x -> "reloaded")).isEqualTo("loaded:" + k);
    }
    fresh.close();
  }

  @Test
  void anAclUserWithAPasswordWorks() {
    redis.aclSetuser(
        "tiercache-app",
        io.lettuce.core.AclSetuserArgs.Builder.on().addPassword("s3cret").allKeys().allChannels().allCommands());
    RedisURI uri = REDIS.uri();
    RedisURI asApp =
        RedisURI.builder(uri).withAuthentication("tiercache-app", "s3cret".toCharArray()).build();
    try (RedisTier appTier = RedisTier.create(asApp);
        TieredCache<String, String> appCache =
            TieredCache.<String, String>builder(name).keyCodec(k -> k).l2(appTier).valueCodec(ValueCodecs.string())
                .build()) {
      appCache.put("k", "v");
      assertThat(read("k")).isEqualTo("v");
      assertThat(loads).hasValue(0);
    }
  }

  @Test
  void aWrongPasswordFailsWhenTheTierIsCreatedAndSaysWhy() {
    redis.aclSetuser(
        "tiercache-app2",
        io.lettuce.core.AclSetuserArgs.Builder.on().addPassword("right").allKeys().allChannels().allCommands());
    RedisURI wrong =
        RedisURI.builder(REDIS.uri()).withAuthentication("tiercache-app2", "wrong".toCharArray()).build();
    assertThatThrownBy(() -> RedisTier.create(wrong))
        .hasMessageContaining("tiercache-app2")
        .hasStackTraceContaining("WRONGPASS");
  }
}
