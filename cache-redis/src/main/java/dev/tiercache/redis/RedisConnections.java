package dev.tiercache.redis;

import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.RedisConnectionException;
import io.lettuce.core.api.StatefulConnection;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.output.CommandOutput;
import io.lettuce.core.protocol.CommandArgs;
import io.lettuce.core.protocol.CommandType;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The tier's command connection, which may come later than the tier: an application must start while Redis is down
 * (DESIGN.md invariant 3). A Redis that refuses the credentials fails at once; one that cannot be reached is retried
 * in the background, and until it answers every call fails fast, which the cache treats as an L2 miss. Once
 * connected, Lettuce's own reconnection takes over.
 */
final class RedisConnections implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(RedisTier.class);
  private static final RedisConnectionException NOT_YET =
      new RedisConnectionException("Redis has not been reachable since the tier started");

  /** Opens the command connection of a standalone or Cluster client. */
  interface Opener {
    StatefulConnection<byte[], byte[]> open();
  }

  private final Opener opener;
  private final Function<StatefulConnection<byte[], byte[]>, RedisClusterAsyncCommands<byte[], byte[]>> commandsOf;
  private final Duration retryInterval;
  private final List<Runnable> whenConnected = new CopyOnWriteArrayList<>();
  private volatile StatefulConnection<byte[], byte[]> connection;
  private volatile RedisClusterAsyncCommands<byte[], byte[]> commands;
  private volatile boolean closed;
  private volatile RuntimeException refusal;
  private final java.util.function.Consumer<Throwable> onFailure;

  /**
   * Opens the connection, or starts retrying in the background.
   *
   * @param onFailure told of every failed call (a Cluster tier reloads its topology); may ignore them
   */
  RedisConnections(
      Opener opener,
      Function<StatefulConnection<byte[], byte[]>, RedisClusterAsyncCommands<byte[], byte[]>> commandsOf,
      Duration retryInterval,
      java.util.function.Consumer<Throwable> onFailure) {
    this.onFailure = onFailure;
    this.opener = opener;
    this.commandsOf = commandsOf;
    this.retryInterval = retryInterval;
    if (!tryOpen()) {
      LOG.warn("Redis is not reachable; caches run on their L1 and loaders until it is (retrying every {})",
          retryInterval);
      scheduleRetry();
    }
  }

  /** Whether a connection exists (Lettuce may still be reconnecting it). */
  boolean isConnected() {
    return commands != null;
  }

  /**
   * Runs {@code action} once the connection exists: at once if it does, else when it is first opened.
   */
  void whenConnected(Runnable action) {
    whenConnected.add(action);
    if (commands != null && whenConnected.remove(action)) {
      action.run();
    }
  }

  /** The command connection, or null while Redis has never been reached. */
  StatefulConnection<byte[], byte[]> connection() {
    return commands == null ? null : connection;
  }

  /** Whether the connection is to a Redis Cluster. */
  boolean isCluster() {
    return connection() instanceof io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
  }

  /** Issues a command, or fails at once while Redis has never been reached. */
  <T> CompletableFuture<T> call(Function<RedisClusterAsyncCommands<byte[], byte[]>, CompletableFuture<T>> command) {
    return issue(command, true);
  }

  /**
   * Issues a command as {@link #call} does, without watching it: the caller hands its failure to {@link #failed}
   * (one completion stage less on the read path, which reports in the stage it has anyway).
   */
  <T> CompletableFuture<T> callUnwatched(
      Function<RedisClusterAsyncCommands<byte[], byte[]>, CompletableFuture<T>> command) {
    return issue(command, false);
  }

  private <T> CompletableFuture<T> issue(
      Function<RedisClusterAsyncCommands<byte[], byte[]>, CompletableFuture<T>> command, boolean watched) {
    RedisClusterAsyncCommands<byte[], byte[]> current = commands;
    RuntimeException refused = refusal;
    if (refused != null) {
      return CompletableFuture.failedFuture(refused);
    }
    if (current == null) {
      return CompletableFuture.failedFuture(NOT_YET);
    }
    return watched ? failuresReported(command.apply(current)) : command.apply(current);
  }

  /**
   * An {@code MGET} of keys of one hash slot, issued as {@link #callUnwatched} does, its reply decoded by
   * {@code reply} as it arrives.
   */
  <T> CompletableFuture<T> mget(CommandOutput<byte[], byte[], T> reply, CommandArgs<byte[], byte[]> keys) {
    return callUnwatched(commands -> commands.dispatch(CommandType.MGET, reply, keys).toCompletableFuture());
  }

  /** Reports the failure of a call issued with {@link #callUnwatched}; a call never issued is not reported. */
  void failed(Throwable failure) {
    if (failure != NOT_YET && failure != refusal) {
      onFailure.accept(failure);
    }
  }

  /** Reports a failure of {@code future} to the failure hook, and returns it unchanged. */
  <T> CompletableFuture<T> failuresReported(CompletableFuture<T> future) {
    future.whenComplete((ok, failure) -> {
      if (failure != null) {
        onFailure.accept(failure);
      }
    });
    return future;
  }

  private boolean tryOpen() {
    try {
      StatefulConnection<byte[], byte[]> opened = opener.open();
      connection = opened;
      commands = commandsOf.apply(opened);
      for (Runnable action : whenConnected) {
        if (whenConnected.remove(action)) {
          action.run();
        }
      }
      return true;
    } catch (RedisConnectionException e) {
      if (refusedByServer(e)) {
        throw e;
      }
      return false;
    }
  }

  private void scheduleRetry() {
    CompletableFuture.delayedExecutor(retryInterval.toMillis(), TimeUnit.MILLISECONDS)
        .execute(() -> {
          if (closed || commands != null) {
            return;
          }
          boolean opened;
          try {
            opened = tryOpen();
          } catch (RuntimeException e) {
            LOG.error("Redis refused the tier's connection: {}", e.getMessage());
            return;
          }
          if (opened) {
            LOG.info("Redis is reachable; caches use it from now on");
          } else {
            scheduleRetry();
          }
        });
  }

  /**
   * Makes every later call fail with {@code reason}: a start-up check found, after the tier was created, that it
   * must not use this Redis.
   */
  void refuse(RuntimeException reason) {
    refusal = reason;
  }

  /** A server that answered and refused (wrong password, no such user, no permission) will not change its mind. */
  static boolean refusedByServer(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof RedisCommandExecutionException) {
        return true;
      }
    }
    return false;
  }

  @Override
  public void close() {
    closed = true;
    StatefulConnection<byte[], byte[]> current = connection;
    if (current != null) {
      current.close();
    }
  }
}
