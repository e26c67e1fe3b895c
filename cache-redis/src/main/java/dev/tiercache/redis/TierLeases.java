package dev.tiercache.redis;

import static dev.tiercache.redis.KeySpace.bytes;

import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.SetArgs;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/** Load leases (distributed single-flight): a {@code SET NX PX} in the key's bucket, released by its owner only. */
final class TierLeases {

  private final KeySpace keys;
  private final RedisConnections connections;
  private final RedisScripting scripts;

  TierLeases(KeySpace keys, RedisConnections connections, RedisScripting scripts) {
    this.keys = keys;
    this.connections = connections;
    this.scripts = scripts;
  }

  CompletableFuture<Boolean> tryLease(String cache, String key, String owner, Duration ttl) {
    byte[] lease = bytes(keys.lease(cache, KeySpace.wellFormed(key, "key")));
    SetArgs onlyIfFree = SetArgs.Builder.nx().px(Math.max(1, ttl.toMillis()));
    return connections.call(
        c -> c.set(lease, bytes(owner), onlyIfFree).toCompletableFuture().thenApply("OK"::equals));
  }

  CompletableFuture<Void> releaseLease(String cache, String key, String owner) {
    return scripts
        .<Long>run(
            Scripts.RELEASE_LEASE, ScriptOutputType.INTEGER, new byte[][] {bytes(keys.lease(cache, key))},
            bytes(owner))
        .thenApply(released -> null);
  }
}
