package dev.tiercache.spring;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tiercache.codec.JsonCodec;
import dev.tiercache.redis.RedisTier;
import dev.tiercache.redis.testing.RedisExtension;
import io.lettuce.core.RedisClient;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.cache.Cache;

/**
 * Review (s14, round 3): {@link TiercacheCache#putIfAbsent} decides "stored" by reference identity
 * ({@code now == value}), so a caller whose value is a canonical instance (a {@code Boolean}, a small
 * {@code Integer}, an enum constant, a string constant) is told it stored when the same instance was already present.
 *
 * <p>Spring's {@code Cache.putIfAbsent} contract: "returning null is therefore an indicator that the given value has
 * been associated with the key"; the existing value must be returned otherwise. The common idempotency/claim idiom
 * {@code if (cache.putIfAbsent(requestId, Boolean.TRUE) == null) process()} then processes a request twice.
 */
class PutIfAbsentIdentityReviewTest {

  @RegisterExtension static RedisExtension redis = RedisExtension.standalone();

  private final List<Runnable> closers = new ArrayList<>();

  @AfterEach
  void close() {
    for (int i = closers.size() - 1; i >= 0; i--) {
      closers.get(i).run();
    }
  }

  /**
   * How: one L1-only instance; {@code putIfAbsent(k, "CLAIMED")} twice with the same constant. The second call hits
   * the L1, which holds the very reference passed, and answers null ("stored") although the key was mapped.
   */
  @Test
  void aSecondPutIfAbsentOfTheSameConstantOnOneInstanceIsToldItStored() {
    TiercacheCacheManager manager = TiercacheCacheManager.builder(null).build();
    closers.add(manager::destroy);
    Cache cache = manager.getCache("claims");
    String claimed = "CLAIMED";

    assertThat(cache.putIfAbsent("req-1", claimed)).as("first call stores").isNull();
    Cache.ValueWrapper second = cache.putIfAbsent("req-1", claimed);
    assertThat(second).as("second call: a mapping existed, so it must return it, not null").isNotNull();
  }

  /**
   * How: two instances on one real Redis, values as JSON ({@code JsonCodec.of(Boolean.class)}: Jackson decodes
   * {@code true} to the canonical {@code Boolean.TRUE}). A's {@code putIfAbsent(k, TRUE)} stores; B's
   * {@code putIfAbsent(k, TRUE)}, made afterwards, reads A's entry from Redis, decodes it to {@code Boolean.TRUE} --
   * the reference B passed -- and B is told null ("stored"). No race is needed: both instances "win" every time.
   */
  @Test
  void twoInstancesClaimingWithBooleanTrueAreBothToldTheyStored() {
    RedisClient client = RedisClient.create(redis.uri());
    client.setOptions(RedisTier.recommendedClientOptions());
    closers.add(client::shutdown);
    String name = "claims-" + UUID.randomUUID();
    Cache a = instance(client).getCache(name);
    Cache b = instance(client).getCache(name);

    assertThat(a.putIfAbsent("req-1", Boolean.TRUE)).as("A claims first").isNull();
    Cache.ValueWrapper onB = b.putIfAbsent("req-1", Boolean.TRUE);
    assertThat(onB).as("B's claim came after A's stored entry: B must get it back, not null").isNotNull();
  }

  private TiercacheCacheManager instance(RedisClient client) {
    RedisTier tier = RedisTier.create(client);
    closers.add(tier::close);
    TiercacheCacheManager manager =
        TiercacheCacheManager.builder(tier).defaults(s -> s.valueCodec(JsonCodec.of(Boolean.class))).build();
    closers.add(manager::destroy);
    return manager;
  }
}
