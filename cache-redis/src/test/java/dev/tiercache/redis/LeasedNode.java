package dev.tiercache.redis;

import dev.tiercache.TieredCache;
import dev.tiercache.codec.ValueCodecs;
import dev.tiercache.spi.L2Store;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import java.time.Duration;
import java.util.function.UnaryOperator;

/**
 * One instance of a cache with distributed single-flight on its own Redis client, for tests of load leases: its
 * cache reaches Redis through {@code wrap} applied to its tier (a hook, or the tier itself).
 */
final class LeasedNode implements AutoCloseable {

  final TieredCache<String, String> cache;
  private final RedisClient client;
  private final RedisTier tier;

  LeasedNode(RedisURI uri, String name, Duration lease, UnaryOperator<L2Store> wrap) {
    client = RedisClient.create(uri);
    tier = RedisTier.create(client);
    cache = TieredCache.<String, String>builder(name).keyCodec(k -> k).l2(wrap.apply(tier))
        .valueCodec(ValueCodecs.string()).distributedSingleFlight(lease).build();
  }

  @Override
  public void close() {
    cache.close();
    tier.close();
    client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
  }
}
