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
    // Boot's order: sentinel (when a master is named), then cluster nodes, then (Boot 4) static master/replica nodes,
    // then standalone (url, else host/port).
    if (redis.sentinelMaster() == null && !redis.clusterNodes().isEmpty()) {
      RedisURI url = url(redis);
      List<RedisURI> seeds = new ArrayList<>();
      for (String node : redis.clusterNodes()) {
        RedisURI.Builder seed = RedisURI.builder(RedisURI.create("redis://" + node));
        seeds.add(common(seed, redis, url).build());
      }
      RedisClusterClient client =
          resources == null ? RedisClusterClient.create(seeds) : RedisClusterClient.create(resources, seeds);
      client.setOptions(RedisTier.recommendedClusterClientOptions());
      return client;
    }
    if (redis.sentinelMaster() == null && !redis.masterReplicaNodes().isEmpty()) {
      // Boot 4 would connect to these nodes; host/port (default localhost:6379) would silently be another server.
      throw new IllegalStateException(
          "spring.data.redis.masterreplica.nodes (static master/replica) is not supported by the Tiercache L2: "
              + "declare your own L2Store bean (RedisTier.create on a client of your choice), use sentinel, "
              + "cluster or a single url/host, or set tiercache.l2.enabled=false");
    }
    RedisURI uri = uri(redis);
    RedisClient client = resources == null ? RedisClient.create(uri) : RedisClient.create(resources, uri);
    client.setOptions(RedisTier.recommendedClientOptions());
    return client;
  }

  /**
   * The URI of a standalone or sentinel client. As in Boot, a url replaces host, port, database, username and
   * password (in sentinel and cluster mode too: its credentials and database are the data nodes'), and SSL is on if
   * {@code ssl.enabled} (or an SSL bundle) says so or the url is {@code rediss://}.
   */
  static RedisURI uri(BootRedisSettings redis) {
    RedisURI url = url(redis);
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
      builder.withDatabase(url != null ? url.getDatabase() : redis.database());
    } else if (url != null) {
      builder = RedisURI.builder(url);
    } else {
      builder = RedisURI.builder().withHost(redis.host()).withPort(redis.port()).withDatabase(redis.database());
    }
    return common(builder, redis, url).build();
  }

  private static RedisURI url(BootRedisSettings redis) {
    return redis.url() != null && !redis.url().isBlank() ? RedisURI.create(redis.url()) : null;
  }

  /** Credentials (the url's if there is one, as in Boot, else username/password), SSL, timeout and client name. */
  @SuppressWarnings("deprecation") // RedisURI.getPassword: the url's static password
  private static RedisURI.Builder common(RedisURI.Builder builder, BootRedisSettings redis, RedisURI url) {
    String username = url != null ? url.getUsername() : redis.username();
    char[] password =
        url != null ? url.getPassword() : redis.password() == null ? null : redis.password().toCharArray();
    if (password != null) {
      if (username != null) {
        builder.withAuthentication(username, password);
      } else {
        builder.withPassword(password);
      }
    }
    if (redis.ssl() || (url != null && url.isSsl())) {
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
