package dev.tiercache.redis.history;

import dev.tiercache.TieredCache;
import dev.tiercache.TieredCacheBuilder;
import dev.tiercache.codec.KeyCodec;
import dev.tiercache.codec.ValueCodecs;
import dev.tiercache.redis.RedisTier;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.cluster.RedisClusterClient;
import java.lang.reflect.Method;
import java.time.Duration;
import java.util.List;
import java.util.function.IntFunction;

/**
 * Opens the application instances of a run: each its own Lettuce client (the recommended options), its own
 * {@link RedisTier} and its own {@link TieredCache}, all with library defaults but the codecs, as separate
 * application processes would be.
 */
@FunctionalInterface
interface CacheInstances {

  /** One open instance and what it must close. */
  record Instance(TieredCache<String, String> cache, RedisTier tier, AutoCloseable client) implements AutoCloseable {
    @Override
    public void close() throws Exception {
      try {
        cache.close();
      } finally {
        try {
          tier.close();
        } finally {
          client.close();
        }
      }
    }
  }

  /**
   * Opens instance {@code index} of the cache named {@code cacheName}.
   *
   * @param index 0-based
   * @param cacheName the cache's name, shared by every instance of a run
   * @param maxStaleness the staleness bound to configure, if the builder has such a setting
   * @return the instance
   */
  Instance open(int index, String cacheName, Duration maxStaleness);

  /** Standalone Redis; {@code uriOf} says where instance {@code i} connects (a proxy for a cut-off instance). */
  static CacheInstances standalone(IntFunction<RedisURI> uriOf) {
    return (index, cacheName, maxStaleness) -> {
      RedisClient client = RedisClient.create(uriOf.apply(index));
      client.setOptions(RedisTier.recommendedClientOptions());
      try {
        RedisTier tier = RedisTier.create(client);
        return new Instance(build(cacheName, tier, maxStaleness), tier, () -> shutdown(client));
      } catch (RuntimeException e) {
        shutdown(client);
        throw e;
      }
    };
  }

  /** Redis Cluster, seeded with {@code seeds}. */
  static CacheInstances cluster(List<RedisURI> seeds) {
    return (index, cacheName, maxStaleness) -> {
      RedisClusterClient client = RedisClusterClient.create(seeds);
      client.setOptions(RedisTier.recommendedClusterClientOptions());
      try {
        RedisTier tier = RedisTier.create(client);
        return new Instance(build(cacheName, tier, maxStaleness), tier,
            () -> client.shutdown(Duration.ZERO, Duration.ofSeconds(2)));
      } catch (RuntimeException e) {
        client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
        throw e;
      }
    };
  }

  private static void shutdown(RedisClient client) {
    client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
  }

  private static TieredCache<String, String> build(String cacheName, RedisTier tier, Duration maxStaleness) {
    TieredCacheBuilder<String, String> builder =
        TieredCache.<String, String>builder(cacheName)
            .keyCodec(KeyCodec.identity())
            .l1(l1 -> l1.maximumSize(10_000))
            .l2(tier)
            .valueCodec(ValueCodecs.string());
    applyMaxStaleness(builder, maxStaleness);
    return builder.build();
  }

  /**
   * Sets {@code maxStaleness(Duration)} on the builder when the product has it (issue 9 adds it), so that the checker
   * and the instances agree on the bound; without it the instances run on library defaults and the bound is only the
   * checker's. Found by reflection so that this checker compiles before and after the setting lands.
   */
  static boolean applyMaxStaleness(TieredCacheBuilder<?, ?> builder, Duration bound) {
    try {
      Method setter = TieredCacheBuilder.class.getMethod("maxStaleness", Duration.class);
      setter.invoke(builder, bound);
      return true;
    } catch (NoSuchMethodException e) {
      return false;
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException("TieredCacheBuilder.maxStaleness(" + bound + ") failed", e);
    }
  }

  /** Tells whether the product has a {@code maxStaleness(Duration)} setting that the instances use. */
  static boolean productHasMaxStaleness() {
    try {
      TieredCacheBuilder.class.getMethod("maxStaleness", Duration.class);
      return true;
    } catch (NoSuchMethodException e) {
      return false;
    }
  }
}
