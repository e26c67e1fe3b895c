package dev.tiercache.redis;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** A Lua script and its SHA-1, so it runs with EVALSHA and is sent whole only when the server lacks it. */
final class Script {

  final String body;
  final String sha;

  /** What runs on a Redis Cluster: this script, or for a bucket's script, this one behind {@link LuaLib#STABLE}. */
  final Script onCluster;

  Script(String body) {
    this(body, null);
  }

  /**
   * A script of one bucket, whose Cluster form first checks that the bucket's slot is stable ({@link LuaLib#STABLE}):
   * a standalone or Sentinel Redis has no slots, and the check would cost every call a command for nothing.
   */
  static Script ofBucket(String body) {
    return new Script(body, new Script(LuaLib.STABLE + body));
  }

  private Script(String body, Script onCluster) {
    this.onCluster = onCluster == null ? this : onCluster;
    this.body = body;
    try {
      this.sha =
          HexFormat.of()
              .formatHex(MessageDigest.getInstance("SHA-1").digest(body.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-1 is required of every JVM", e);
    }
  }
}
