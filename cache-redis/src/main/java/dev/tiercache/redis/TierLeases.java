package dev.tiercache.redis;

import static dev.tiercache.redis.KeySpace.bytes;

import io.lettuce.core.ScriptOutputType;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/**
 * Load leases (distributed single-flight): a {@code SET NX PX} in the key's bucket (see {@link Scripts#TAKE_LEASE}),
 * released by its owner only.
 */
final class TierLeases {

  private final KeySpace keys;
  private final RedisConnections connections;
  private final RedisScripting scripts;

  TierLeases(KeySpace keys, RedisConnections connections, RedisScripting scripts) {
    this.keys = keys;
    this.connections = connections;
    this.scripts = scripts;
  }

  /**
   * Takes the lease if it is free, or tells that {@code owner} already holds it: a {@code SET NX} whose reply a
   * closed connection lost is replayed by a client with Lettuce's default options, and its replay must not report the
   * lease its first run took as another's (the owner would wait for its own lease until it expires).
   */
  CompletableFuture<Boolean> tryLease(String cache, String key, String owner, Duration ttl) {
    byte[] lease = bytes(keys.lease(cache, KeySpace.wellFormed(key, "key")));
    return scripts
        .<Long>run(
            Scripts.TAKE_LEASE, ScriptOutputType.INTEGER, new byte[][] {lease},
            bytes(owner), bytes(Long.toString(Math.max(1, ttl.toMillis()))))
        .thenApply(taken -> taken == 1L);
  }

  CompletableFuture<Void> releaseLease(String cache, String key, String owner) {
    return scripts
        .<Long>run(
            Scripts.RELEASE_LEASE, ScriptOutputType.INTEGER, new byte[][] {bytes(keys.lease(cache, key))},
            bytes(owner))
        .thenApply(released -> null);
  }
}
