package dev.tiercache;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;

/**
 * A WARN line at most once per interval, DEBUG otherwise, so that an outage that fails every request does not flood
 * the log; every failure is still counted by a metric.
 */
final class RateLimitedLog {

  private static final long INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(10);

  private final Logger log;
  private final AtomicLong lastWarn = new AtomicLong(System.nanoTime() - INTERVAL_NANOS);

  RateLimitedLog(Logger log) {
    this.log = log;
  }

  void warn(String format, Object... args) {
    long now = System.nanoTime();
    long last = lastWarn.get();
    if (now - last >= INTERVAL_NANOS && lastWarn.compareAndSet(last, now)) {
      log.warn(format, args);
    } else if (log.isDebugEnabled()) {
      log.debug(format, args);
    }
  }
}
