package dev.tiercache.redis;

import io.lettuce.core.RedisNoScriptException;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ForkJoinPool;
import java.util.function.Function;

/**
 * Runs {@link Script}s with EVALSHA, falling back to EVAL (which also loads the script) when the server does not know
 * it, as after a restart or a failover. Works the same on a standalone connection and a Cluster connection, where
 * Lettuce routes by the first key.
 */
final class RedisScripting {

  private final RedisConnections connections;

  /** What the bucket scripts return feeds it, and each of them gets its figure for the bucket as its last argument. */
  final SeenVersions seen;

  /** Whether the scripts run in their Cluster form ({@link Script#onCluster}). */
  private final boolean cluster;

  RedisScripting(RedisConnections connections, KeySpace keys, boolean cluster) {
    this.connections = connections;
    this.cluster = cluster;
    this.seen = new SeenVersions(keys);
  }

  <T> CompletableFuture<T> run(Script script, ScriptOutputType type, byte[][] keys, byte[]... args) {
    Script form = cluster ? script.onCluster : script;
    return connections.call(commands -> run(commands, form, type, keys, args));
  }

  /**
   * Runs a script and decodes its reply in one completion stage, which also reports failures (the read path: fewer
   * futures and completions per call than {@code run(...).thenApply(decode)}). A decoder that throws fails the
   * future.
   */
  <T, R> CompletableFuture<R> run(
      Script script, ScriptOutputType type, byte[][] keys, Function<T, R> decode, byte[]... args) {
    CompletableFuture<R> result = new CompletableFuture<>();
    String sha = cluster ? script.onCluster.sha : script.sha;
    connections
        .<T>callUnwatched(commands -> commands.<T>evalsha(sha, type, keys, args).toCompletableFuture())
        .whenComplete(
            (reply, failure) -> {
              if (failure == null) {
                complete(result, decode, reply);
              } else if (unwrap(failure) instanceof RedisNoScriptException) {
                // Off the event loop: on a Cluster, routing the EVAL may wait for a node connection.
                ForkJoinPool.commonPool()
                    .execute(
                        () -> this.<T>run(script, type, keys, args)
                            .whenComplete(
                                (loaded, again) -> {
                                  if (again == null) {
                                    complete(result, decode, loaded);
                                  } else {
                                    result.completeExceptionally(unwrap(again));
                                  }
                                }));
              } else {
                connections.failed(failure);
                result.completeExceptionally(unwrap(failure));
              }
            });
    return result;
  }

  private static <T, R> void complete(CompletableFuture<R> result, Function<T, R> decode, T reply) {
    try {
      result.complete(decode.apply(reply));
    } catch (RuntimeException e) {
      result.completeExceptionally(e);
    }
  }

  /** The cause of a {@link CompletionException}, or the failure itself. */
  static Throwable unwrap(Throwable failure) {
    return failure instanceof CompletionException && failure.getCause() != null ? failure.getCause() : failure;
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
          Throwable cause = unwrap(failure);
          if (cause instanceof RedisNoScriptException) {
            return commands.<T>eval(script.body, type, keys, args).toCompletableFuture();
          }
          return CompletableFuture.failedFuture(cause);
        });
  }
}
