package dev.tiercache.spring.boot;

import dev.tiercache.redis.RedisTier;
import io.lettuce.core.AbstractRedisClient;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.resource.ClientResources;
import java.util.ArrayList;
import java.util.List;

/**
 * A Lettuce client made from Spring Boot's {@code spring.data.redis.*} settings: url or host/port/database,
 * username/password, ssl.enabled, timeout, client-name, sentinel (master, nodes, username, password) and cluster
 * nodes. Boot's own Lettuce client lives inside spring-data-redis's connection factory, where nothing else can use
 * it, and its options queue commands while disconnected; so this client has the same settings and
 * {@link RedisTier#recommendedClientOptions()} instead, and shares Boot's {@link ClientResources} (event loops) when
 * there is such a bean.
 */
final class BootRedisClients {

  private BootRedisClients() {}

  static AbstractRedisClient create(BootRedisSettings redis, ClientResources resources) {
    if (!redis.clusterNodes().isEmpty()) {
      List<RedisURI> seeds = new ArrayList<>();
      for (String node : redis.clusterNodes()) {
        RedisURI.Builder seed = RedisURI.builder(RedisURI.create("redis://" + node));
        seeds.add(common(seed, redis).build());
      }
      RedisClusterClient client =
          resources == null ? RedisClusterClient.create(seeds) : RedisClusterClient.create(resources, seeds);
      client.setOptions(RedisTier.recommendedClusterClientOptions());
      return client;
    }
    RedisURI uri = uri(redis);
    RedisClient client = resources == null ? RedisClient.create(uri) : RedisClient.create(resources, uri);
    client.setOptions(RedisTier.recommendedClientOptions());
    return client;
  }

  static RedisURI uri(BootRedisSettings redis) {
    if (redis.url() != null && !redis.url().isBlank()) {
      RedisURI.Builder builder = RedisURI.builder(RedisURI.create(redis.url()));
      if (redis.timeout() != null) {
        builder.withTimeout(redis.timeout());
      }
      if (redis.clientName() != null) {
        builder.withClientName(redis.clientName());
      }
      return builder.build();
    }
    RedisURI.Builder builder;
    if (redis.sentinelMaster() != null) {
      builder = RedisURI.builder().withSentinelMasterId(redis.sentinelMaster());
      for (String node : redis.sentinelNodes()) {
        RedisURI address = RedisURI.create("redis://" + node);
        RedisURI.Builder one = RedisURI.builder().withHost(address.getHost()).withPort(address.getPort());
        if (redis.sentinelPassword() != null && redis.sentinelUsername() != null) {
          one.withAuthentication(redis.sentinelUsername(), redis.sentinelPassword());
        } else if (redis.sentinelPassword() != null) {
          one.withPassword(redis.sentinelPassword().toCharArray());
        }
        builder.withSentinel(one.build());
      }
    } else {
      builder = RedisURI.builder().withHost(redis.host()).withPort(redis.port());
    }
    builder.withDatabase(redis.database());
    return common(builder, redis).build();
  }

  private static RedisURI.Builder common(RedisURI.Builder builder, BootRedisSettings redis) {
    if (redis.password() != null) {
      if (redis.username() != null) {
        builder.withAuthentication(redis.username(), redis.password());
      } else {
        builder.withPassword(redis.password().toCharArray());
      }
    }
    if (redis.ssl()) {
      builder.withSsl(true);
    }
    if (redis.timeout() != null) {
      builder.withTimeout(redis.timeout());
    }
    if (redis.clientName() != null) {
      builder.withClientName(redis.clientName());
    }
    return builder;
  }
}
