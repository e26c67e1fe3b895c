package dev.tiercache.redis;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Turns a Redis glob into an anchored Lua pattern, so the conditional-write script can tell whether a recent pattern
 * invalidation covers a key. Like Redis, it works on bytes. A glob with a character class becomes "match anything":
 * the translation may refuse more writes than the glob covers, never fewer.
 */
final class LuaPattern {

  private LuaPattern() {}

  static byte[] fromGlob(String glob) {
    byte[] in = glob.getBytes(StandardCharsets.UTF_8);
    ByteArrayOutputStream out = new ByteArrayOutputStream(in.length * 2 + 2);
    out.write('^');
    for (int i = 0; i < in.length; i++) {
      byte b = in[i];
      switch (b) {
        case '*' -> {
          out.write('.');
          out.write('*');
        }
        case '?' -> out.write('.');
        case '[' -> {
          return "^.*$".getBytes(StandardCharsets.US_ASCII);
        }
        case '\\' -> {
          if (i + 1 < in.length) {
            literal(out, in[++i]);
          } else {
            literal(out, b);
          }
        }
        default -> literal(out, b);
      }
    }
    out.write('$');
    return out.toByteArray();
  }

  private static void literal(ByteArrayOutputStream out, byte b) {
    if (b == 0) {
      // Lua 5.1 patterns cannot hold a NUL byte; %z stands for it.
      out.write('%');
      out.write('z');
      return;
    }
    boolean alphanumeric = (b >= '0' && b <= '9') || (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z');
    if (!alphanumeric) {
      out.write('%');
    }
    out.write(b);
  }
}
