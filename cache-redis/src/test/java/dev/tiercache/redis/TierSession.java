package dev.tiercache.redis;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * What a test class of the Redis store opens once: a client, the tiers made from it, and a plain connection to look
 * at (or tamper with) what the tiers wrote. {@link #close()} releases them in reverse order.
 */
final class TierSession implements AutoCloseable {

  final RedisClient client;
  final RedisCommands<String, String> redis;
  private final StatefulRedisConnection<String, String> plain;
  private final List<RedisTier> tiers = new ArrayList<>();

  TierSession(RedisURI uri) {
    client = RedisClient.create(uri);
    plain = client.connect();
    redis = plain.sync();
  }

  /** A tier with default options. */
  RedisTier tier() {
    return tier(RedisTier::create);
  }

  /** A tier made by {@code factory} on this session's client, closed with the session. */
  RedisTier tier(Function<RedisClient, RedisTier> factory) {
    RedisTier tier = factory.apply(client);
    tiers.add(tier);
    return tier;
  }

  @Override
  public void close() {
    plain.close();
    for (int i = tiers.size() - 1; i >= 0; i--) {
      tiers.get(i).close();
    }
    client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
  }
}
