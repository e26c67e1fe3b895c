package dev.tiercache.spring;

import dev.tiercache.codec.ValueCodecs;
import dev.tiercache.redis.RedisTier;
import dev.tiercache.redis.testing.RedisExtension;
import io.lettuce.core.RedisClient;
import java.util.function.Consumer;

/** Two "instances" on one real Redis: each its own tier (connections and bus) and cache manager. */
final class TwoManagers implements AutoCloseable {

  private final RedisClient client;
  private final RedisTier tierA;
  private final RedisTier tierB;
  final TiercacheCacheManager a;
  final TiercacheCacheManager b;

  TwoManagers(RedisExtension redis, Consumer<TiercacheCacheManagerBuilder> settings) {
    client = RedisClient.create(redis.uri());
    client.setOptions(RedisTier.recommendedClientOptions());
    tierA = RedisTier.create(client);
    tierB = RedisTier.create(client);
    a = manager(tierA, settings);
    b = manager(tierB, settings);
  }

  private static TiercacheCacheManager manager(
      RedisTier tier, Consumer<TiercacheCacheManagerBuilder> settings) {
    TiercacheCacheManagerBuilder builder =
        TiercacheCacheManager.builder(tier).defaults(spec -> spec.valueCodec(ValueCodecs.string()));
    settings.accept(builder);
    return builder.build();
  }

  @Override
  public void close() {
    a.destroy();
    b.destroy();
    tierA.close();
    tierB.close();
    client.shutdown();
  }
}
