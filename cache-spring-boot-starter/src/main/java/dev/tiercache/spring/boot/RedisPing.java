package dev.tiercache.spring.boot;

import io.lettuce.core.AbstractRedisClient;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.api.StatefulConnection;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Pings Redis on a connection of its own (opened on first use, reopened after a failure), so the health check never
 * waits behind the cache's traffic. Each ping answers within its timeout, connecting included: against a frozen
 * Redis a connection's handshake waits for the client's own timeout (a minute by default), so the connection is
 * opened on a thread of its own, and a ping that runs out of time leaves the attempt running for the next ping to
 * wait on, rather than starting another one each time.
 */
final class RedisPing implements AutoCloseable {

  private final AbstractRedisClient client;
  private final ReentrantLock lock = new ReentrantLock();
  private final ExecutorService connector =
      Executors.newSingleThreadExecutor(task -> {
        Thread thread = new Thread(task, "tiercache-health-connect");
        thread.setDaemon(true);
        return thread;
      });
  private CompletableFuture<StatefulConnection<String, String>> connecting;
  private StatefulConnection<String, String> connection;
  private boolean closed;

  RedisPing(AbstractRedisClient client) {
    this.client = client;
  }

  /**
   * Pings Redis, opening the connection first if needed.
   *
   * @throws TimeoutException if Redis did not answer (or the connection did not open) within {@code timeout}, or
   *     another ping held the connection that long
   */
  void ping(Duration timeout) throws Exception {
    long deadline = System.nanoTime() + timeout.toNanos();
    // Concurrent checks (several /actuator/health requests) are bounded too, not queued one bound after another.
    if (!lock.tryLock(timeout.toNanos(), TimeUnit.NANOSECONDS)) {
      throw new TimeoutException("another health check has been waiting for Redis for " + timeout);
    }
    try {
      if (closed) {
        throw new IllegalStateException("closed");
      }
      if (connection == null || !connection.isOpen()) {
        connection = null;
        if (connecting == null) {
          connecting = CompletableFuture.supplyAsync(this::connect, connector);
        }
        try {
          connection = connecting.get(remaining(deadline), TimeUnit.NANOSECONDS);
          connecting = null;
        } catch (ExecutionException e) {
          connecting = null;
          throw e.getCause() instanceof Exception cause ? cause : e;
        }
      }
      RedisFuture<String> pong =
          connection instanceof StatefulRedisClusterConnection
              ? ((StatefulRedisClusterConnection<String, String>) connection).async().ping()
              : ((StatefulRedisConnection<String, String>) connection).async().ping();
      pong.get(remaining(deadline), TimeUnit.NANOSECONDS);
    } catch (Exception e) {
      // A connection that missed its answer may be half-open: the next check opens a new one. An attempt to
      // connect that is still running stays, for the next check to wait on.
      dropConnection();
      throw e;
    } finally {
      lock.unlock();
    }
  }

  private StatefulConnection<String, String> connect() {
    return client instanceof RedisClusterClient
        ? ((RedisClusterClient) client).connect()
        : ((RedisClient) client).connect();
  }

  private static long remaining(long deadline) {
    return Math.max(0, deadline - System.nanoTime());
  }

  private void dropConnection() {
    if (connection != null) {
      connection.closeAsync();
      connection = null;
    }
  }

  @Override
  public void close() {
    lock.lock();
    try {
      closed = true;
      dropConnection();
      if (connecting != null) {
        connecting.thenAccept(StatefulConnection::closeAsync);
        connecting = null;
      }
      connector.shutdown();
    } finally {
      lock.unlock();
    }
  }
}
