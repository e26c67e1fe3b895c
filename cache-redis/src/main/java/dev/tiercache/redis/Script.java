package dev.tiercache.redis;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** A Lua script and its SHA-1, so it runs with EVALSHA and is sent whole only when the server lacks it. */
final class Script {

  final String body;
  final String sha;

  Script(String body) {
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
