package dev.tiercache.redis;

import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.cluster.RedisClusterClient;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Asks a Cluster client to reload the topology when calls fail for want of a node, at most once per interval. After a
 * master dies, commands for its slots fail at once (the client rejects commands while a connection is down) and no
 * MOVED reply ever comes, so Lettuce's own triggers wait for reconnect attempts or the periodic refresh; this reloads
 * within the interval of the promoted replica taking over.
 */
final class TopologyRefresh {

  /** The least time between two reloads: a reload asks every node for CLUSTER NODES. */
  static final long INTERVAL_NANOS = TimeUnit.MILLISECONDS.toNanos(250);

  private final RedisClusterClient client;
  private final AtomicLong last = new AtomicLong(System.nanoTime() - INTERVAL_NANOS);
  private final AtomicBoolean running = new AtomicBoolean();

  TopologyRefresh(RedisClusterClient client) {
    this.client = client;
  }

  /** Called with every failed call; reloads if the failure says a node may be gone and none ran recently. */
  void failed(Throwable failure) {
    if (!nodeTrouble(failure)) {
      return;
    }
    long now = System.nanoTime();
    long before = last.get();
    if (now - before < INTERVAL_NANOS || !last.compareAndSet(before, now) || !running.compareAndSet(false, true)) {
      return;
    }
    try {
      client.refreshPartitionsAsync().whenComplete((ok, error) -> running.set(false));
    } catch (RuntimeException e) {
      running.set(false);
    }
  }

  /** A server's error reply is about the command, except CLUSTERDOWN; anything else is about reaching a node. */
  static boolean nodeTrouble(Throwable failure) {
    Throwable cause = failure instanceof CompletionException && failure.getCause() != null
        ? failure.getCause() : failure;
    if (cause instanceof RedisCommandExecutionException) {
      String message = cause.getMessage();
      return message != null && (message.startsWith("CLUSTERDOWN") || message.startsWith("TRYAGAIN"));
    }
    return !(cause instanceof IllegalStateException); // a tier refused by its start-up checks
  }
}
