package dev.tiercache.spring.boot;

import io.lettuce.core.AbstractRedisClient;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.api.StatefulConnection;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * Pings Redis on a connection of its own (opened on first use, reopened after a failure), so the health check never
 * waits behind the cache's traffic.
 */
final class RedisPing implements AutoCloseable {

  private final AbstractRedisClient client;
  private StatefulConnection<String, String> connection;

  RedisPing(AbstractRedisClient client) {
    this.client = client;
  }

  synchronized void ping(Duration timeout) throws Exception {
    try {
      if (connection == null || !connection.isOpen()) {
        connection =
            client instanceof RedisClusterClient
                ? ((RedisClusterClient) client).connect()
                : ((RedisClient) client).connect();
      }
      RedisFuture<String> pong =
          connection instanceof StatefulRedisClusterConnection
              ? ((StatefulRedisClusterConnection<String, String>) connection).async().ping()
              : ((StatefulRedisConnection<String, String>) connection).async().ping();
      pong.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (Exception e) {
      close();
      throw e;
    }
  }

  @Override
  public synchronized void close() {
    if (connection != null) {
      connection.closeAsync();
      connection = null;
    }
  }
}
