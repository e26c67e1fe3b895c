package dev.tiercache;

/**
 * Makes text that came from the network or from user code fit for a log line: control characters escaped (a newline
 * cannot forge a line) and the length capped (a megabyte of garbage cannot flood the log).
 */
final class LogSafe {

  /** The most characters of such text a log line shows. */
  static final int MAX_LENGTH = 64;

  private LogSafe() {}

  static String text(String s) {
    if (s == null) {
      return "null";
    }
    StringBuilder out = new StringBuilder(Math.min(s.length(), MAX_LENGTH) + 8);
    int i = 0;
    for (; i < s.length() && out.length() < MAX_LENGTH; i++) {
      char c = s.charAt(i);
      if (c < 0x20 || c == 0x7f || Character.isSurrogate(c) || c == '\u2028' || c == '\u2029') {
        out.append(String.format("\\u%04x", (int) c));
      } else {
        out.append(c);
      }
    }
    if (i < s.length()) {
      out.append("...");
    }
    return out.toString();
  }
}
