package dev.tiercache.redis.history;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.locks.LockSupport;

/**
 * The system of record: every key has a version, starting at {@link History#INITIAL_VERSION}, that writes bump by
 * one. A load reads the row and then pays a random cost, as a query would, so that loads are in flight while
 * writes and invalidations happen.
 */
final class VersionedDatabase {

  private final AtomicLongArray versions;
  private final History.Recorder recorder;
  private final long maxLoadNanos;

  VersionedDatabase(int keys, History.Recorder recorder, Duration maxLoadDelay) {
    this.versions = new AtomicLongArray(keys);
    for (int k = 0; k < keys; k++) {
      versions.set(k, History.INITIAL_VERSION);
    }
    this.recorder = recorder;
    this.maxLoadNanos = maxLoadDelay.toNanos();
  }

  /** Reads the row's version, then waits up to the load delay. */
  long load(int key) {
    long version = versions.get(key);
    if (maxLoadNanos > 0) {
      LockSupport.parkNanos(ThreadLocalRandom.current().nextLong(maxLoadNanos + 1));
    }
    return version;
  }

  /** Writes the next version of a row, records it, and returns it. */
  long update(int key) {
    long version = versions.incrementAndGet(key);
    recorder.dbWrite(key, version, System.nanoTime());
    return version;
  }
}
