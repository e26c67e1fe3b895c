package dev.tiercache.bench;

import dev.tiercache.TieredCache;
import dev.tiercache.TieredCacheBuilder;
import dev.tiercache.codec.ValueCodecs;
import dev.tiercache.redis.RedisTier;
import dev.tiercache.redis.RedisTierOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.codec.ByteArrayCodec;
import java.time.Duration;
import java.util.function.Consumer;

/**
 * One application instance as the benchmarks see it: its own Lettuce client (and so its own event loops), a
 * {@link RedisTier} on it, and a raw connection of the same client for the reference measurements. The client has
 * {@link RedisTier#recommendedClientOptions()}, the raw connection included.
 */
final class Node implements AutoCloseable {

  final RedisClient client;
  final RedisTier tier;
  final StatefulRedisConnection<byte[], byte[]> raw;

  Node(String namespace) {
    client = RedisClient.create(BenchRedis.shared().uri());
    client.setOptions(RedisTier.recommendedClientOptions());
    tier = RedisTier.create(client, RedisTierOptions.builder().namespace(namespace).build());
    raw = client.connect(ByteArrayCodec.INSTANCE);
  }

  /**
   * A cache of strings on this node's tier, with the UTF-8 codec.
   *
   * @param name the cache name
   * @param customize further builder settings (L1 size ...)
   */
  TieredCache<String, String> cache(String name, Consumer<TieredCacheBuilder<String, String>> customize) {
    TieredCacheBuilder<String, String> builder =
        TieredCache.<String, String>builder(name).l2(tier).valueCodec(ValueCodecs.string());
    customize.accept(builder);
    return builder.build();
  }

  @Override
  public void close() {
    raw.close();
    tier.close();
    client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
  }
}
