package dev.tiercache.redis;

import io.lettuce.core.RedisNoScriptException;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * Runs {@link Script}s with EVALSHA, falling back to EVAL (which also loads the script) when the server does not know
 * it, as after a restart or a failover. Works the same on a standalone connection and a Cluster connection, where
 * Lettuce routes by the first key.
 */
final class RedisScripting {

  private final RedisConnections connections;

  /** What the bucket scripts return feeds it, and each of them gets its figure for the bucket as its last argument. */
  final SeenVersions seen;

  RedisScripting(RedisConnections connections, int buckets) {
    this.connections = connections;
    this.seen = new SeenVersions(buckets);
  }

  <T> CompletableFuture<T> run(Script script, ScriptOutputType type, byte[][] keys, byte[]... args) {
    return connections.call(commands -> run(commands, script, type, keys, args));
  }

  private static <T> CompletableFuture<T> run(
      RedisClusterAsyncCommands<byte[], byte[]> commands,
      Script script,
      ScriptOutputType type,
      byte[][] keys,
      byte[]... args) {
    CompletableFuture<T> bySha = commands.<T>evalsha(script.sha, type, keys, args).toCompletableFuture();
    // Only the fallback leaves the event loop: on a Cluster, routing it may wait for a node connection.
    return bySha.exceptionallyComposeAsync(
        failure -> {
          Throwable cause = failure instanceof CompletionException ? failure.getCause() : failure;
          if (cause instanceof RedisNoScriptException) {
            return commands.<T>eval(script.body, type, keys, args).toCompletableFuture();
          }
          return CompletableFuture.failedFuture(cause);
        });
  }
}
