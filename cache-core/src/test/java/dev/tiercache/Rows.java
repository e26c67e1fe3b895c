package dev.tiercache;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.function.IntPredicate;

/**
 * The "database" of the write-race tests: numbered rows that writers bump before they write or invalidate, and a
 * floor per row raised once the write or invalidation returned. A read that began after the floor was raised and
 * returns less than it undid a write that had returned: stale.
 */
final class Rows {

  private final AtomicLongArray rows;
  private final AtomicLongArray floors;

  Rows(int count) {
    rows = new AtomicLongArray(count);
    floors = new AtomicLongArray(count);
  }

  /** What a loader reads. */
  long current(int row) {
    return rows.get(row);
  }

  /** The lowest value a read of the row that begins now may return. */
  long floor(int row) {
    return floors.get(row);
  }

  /** A writer's new value of the row, before it writes it. */
  long bump(int row) {
    return rows.incrementAndGet(row);
  }

  /** Once the write of {@code value} returned. */
  void settled(int row, long value) {
    floors.accumulateAndGet(row, value, Math::max);
  }

  /** Bumps the rows a change covers, makes the change, and then raises their floors. */
  void change(IntPredicate covered, Runnable change) {
    long[] bumped = new long[rows.length()];
    for (int row = 0; row < bumped.length; row++) {
      if (covered.test(row)) {
        bumped[row] = bump(row);
      }
    }
    change.run();
    for (int row = 0; row < bumped.length; row++) {
      if (covered.test(row)) {
        settled(row, bumped[row]);
      }
    }
  }

  /** Holds a write-race test's thread until its start latch opens, at most 30 seconds. */
  static void await(CountDownLatch latch) {
    try {
      if (!latch.await(30, TimeUnit.SECONDS)) {
        throw new IllegalStateException("never started");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
