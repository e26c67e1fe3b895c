package dev.tiercache.spring.boot;

import dev.tiercache.redis.RedisTier;
import io.lettuce.core.AbstractRedisClient;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.resource.ClientResources;
import java.util.ArrayList;
import java.util.List;
import org.springframework.boot.autoconfigure.data.redis.RedisProperties;

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

  static AbstractRedisClient create(RedisProperties redis, ClientResources resources) {
    if (redis.getCluster() != null && redis.getCluster().getNodes() != null
        && !redis.getCluster().getNodes().isEmpty()) {
      List<RedisURI> seeds = new ArrayList<>();
      for (String node : redis.getCluster().getNodes()) {
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

  static RedisURI uri(RedisProperties redis) {
    if (redis.getUrl() != null && !redis.getUrl().isBlank()) {
      RedisURI.Builder builder = RedisURI.builder(RedisURI.create(redis.getUrl()));
      if (redis.getTimeout() != null) {
        builder.withTimeout(redis.getTimeout());
      }
      if (redis.getClientName() != null) {
        builder.withClientName(redis.getClientName());
      }
      return builder.build();
    }
    RedisProperties.Sentinel sentinel = redis.getSentinel();
    RedisURI.Builder builder;
    if (sentinel != null && sentinel.getMaster() != null) {
      builder = RedisURI.builder().withSentinelMasterId(sentinel.getMaster());
      for (String node : sentinel.getNodes()) {
        RedisURI address = RedisURI.create("redis://" + node);
        RedisURI.Builder one = RedisURI.builder().withHost(address.getHost()).withPort(address.getPort());
        if (sentinel.getPassword() != null) {
          one.withAuthentication(sentinel.getUsername(), sentinel.getPassword());
        }
        builder.withSentinel(one.build());
      }
    } else {
      builder = RedisURI.builder().withHost(redis.getHost()).withPort(redis.getPort());
    }
    builder.withDatabase(redis.getDatabase());
    return common(builder, redis).build();
  }

  private static RedisURI.Builder common(RedisURI.Builder builder, RedisProperties redis) {
    if (redis.getPassword() != null) {
      if (redis.getUsername() != null) {
        builder.withAuthentication(redis.getUsername(), redis.getPassword());
      } else {
        builder.withPassword(redis.getPassword().toCharArray());
      }
    }
    if (redis.getSsl().isEnabled()) {
      builder.withSsl(true);
    }
    if (redis.getTimeout() != null) {
      builder.withTimeout(redis.getTimeout());
    }
    if (redis.getClientName() != null) {
      builder.withClientName(redis.getClientName());
    }
    return builder;
  }
}
