package dev.tiercache.redis;

/**
 * Makes text read from the network safe to log (DESIGN.md invariant 7): control characters, quotes and backslashes
 * are escaped, so a newline cannot forge a log line, and the result is truncated, so a huge frame cannot flood the
 * log.
 */
final class LogText {

  /** The most characters of network text that reach one log line. */
  static final int MAX = 120;

  private LogText() {}

  /**
   * Escapes and truncates.
   *
   * @param text anything, null included
   * @return printable ASCII of at most {@link #MAX} characters plus a marker when cut
   */
  static String safe(String text) {
    if (text == null) {
      return "null";
    }
    StringBuilder out = new StringBuilder(Math.min(text.length(), MAX) + 16);
    int i = 0;
    for (; i < text.length() && out.length() < MAX; i++) {
      char c = text.charAt(i);
      if (c == '\\' || c == '\'' || c == '"') {
        out.append('\\').append(c);
      } else if (c >= 0x20 && c < 0x7f) {
        out.append(c);
      } else {
        out.append(String.format("\\u%04x", (int) c));
      }
    }
    if (i < text.length()) {
      out.append("...(").append(text.length()).append(" chars)");
    }
    return out.toString();
  }

  /** Runs a logging action at most once per ten seconds; the rest are dropped (a counter keeps the total). */
  static final class RateLimited {
    private static final long INTERVAL_NANOS = java.util.concurrent.TimeUnit.SECONDS.toNanos(10);
    private final java.util.concurrent.atomic.AtomicLong last =
        new java.util.concurrent.atomic.AtomicLong(System.nanoTime() - INTERVAL_NANOS);

    void warn(Runnable log) {
      long now = System.nanoTime();
      long before = last.get();
      if (now - before >= INTERVAL_NANOS && last.compareAndSet(before, now)) {
        log.run();
      }
    }
  }
}
