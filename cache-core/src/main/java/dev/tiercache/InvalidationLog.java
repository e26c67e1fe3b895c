package dev.tiercache;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * The node-local memory of recent invalidations that closes both races of DESIGN.md invariant 1.
 *
 * <p>Time is a counter. A load (or an L2 read that will fill L1) takes a {@link #stamp()} before it reads anything;
 * an invalidation gets a start stamp when it begins and an end stamp once the L2 has applied it. A load may install
 * its result only if no covering invalidation is still running or ended after the load's stamp: such an invalidation
 * may have removed the very row the load read. Installation and the start of an invalidation exclude each other
 * through a read-write lock (installs share it), so an install either happens entirely before an invalidation, whose
 * L1 cleanup then sees it, or entirely after, when its check sees the invalidation.
 *
 * <p>Invalidations that may cover many keys are applied to the L1 logically, so the caller's cost does not grow with
 * the size of the L1: they enter a short history, and an L1 hit checks the entry against the invalidations that
 * began since the entry was last checked ({@link #coveredSince}); usually none, which costs one volatile read. A
 * background sweep removes covered entries to free memory, but correctness never depends on it: Caffeine's
 * iteration skips an entry that another thread is removing while {@code getIfPresent} may still return it, so a
 * sweep cannot prove that a covered entry is gone.
 */
final class InvalidationLog {

  /** How many ended invalidations are remembered; loads older than the oldest are refused, conservatively. */
  static final int DEFAULT_CAPACITY = 1024;

  /**
   * How many invalidations that may cover many keys the L1 remembers; an entry not checked since before the oldest
   * is treated as covered (it is reloaded, never served unchecked).
   */
  static final int HISTORY = 1024;

  private static final Entry[] NONE = new Entry[0];

  private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
  private final AtomicLong clock = new AtomicLong();
  private final int capacity;

  // Guarded by lock: mutated under the write lock, read under the read lock.
  private final List<Entry> running = new ArrayList<>();
  private final ArrayDeque<Entry> ended = new ArrayDeque<>();
  private long horizon;

  // Read without a lock by L1 hits; replaced copy-on-write under the write lock. Ascending start order.
  private volatile Entry[] history = NONE;
  /** The start of the newest entry dropped from the history, 0 if none. Written before {@link #history}. */
  private volatile long forgotten;
  /** The start of the newest entry of the history, 0 if none. Written after {@link #history}. */
  private volatile long latest;

  InvalidationLog(int capacity) {
    this.capacity = capacity;
  }

  /** One invalidation as the log sees it. */
  static final class Entry {
    final Invalidation invalidation;
    final long start;
    volatile long end = Long.MAX_VALUE;

    Entry(Invalidation invalidation, long start) {
      this.invalidation = invalidation;
      this.start = start;
    }

    boolean covers(String key, Tags tags) {
      return invalidation.covers(key, tags);
    }
  }

  /**
   * The stamp a load takes before it reads the L2 or calls its loader.
   *
   * @return the current time of the log
   */
  long stamp() {
    return clock.get();
  }

  /**
   * Begins an invalidation. {@code whileExclusive} runs while no install can happen: it removes what the
   * invalidation covers from the L1 and detaches covered loads in flight.
   */
  Entry begin(Invalidation invalidation, Runnable whileExclusive) {
    lock.writeLock().lock();
    try {
      Entry entry = new Entry(invalidation, clock.incrementAndGet());
      running.add(entry);
      if (invalidation.singleKey() == null) {
        remember(entry);
      }
      whileExclusive.run();
      return entry;
    } finally {
      lock.writeLock().unlock();
    }
  }

  /**
   * Ends an invalidation once the L2 has applied it (or at once, when there is no L2 step). {@code whileExclusive}
   * detaches loads that began while it ran: they may have read the L2 before it was cleaned.
   */
  void end(Entry entry, Runnable whileExclusive) {
    lock.writeLock().lock();
    try {
      running.remove(entry);
      entry.end = clock.incrementAndGet();
      ended.addLast(entry);
      if (ended.size() > capacity) {
        horizon = ended.removeFirst().end;
      }
      whileExclusive.run();
    } finally {
      lock.writeLock().unlock();
    }
  }

  /**
   * Runs {@code install} if no invalidation covering the entry is running or ended after {@code stamp}.
   *
   * @return whether it installed
   */
  boolean installIfCurrent(String key, Tags tags, long stamp, Runnable install) {
    lock.readLock().lock();
    try {
      if (stamp < horizon || coveredByRecent(key, tags, stamp)) {
        return false;
      }
      install.run();
      return true;
    } finally {
      lock.readLock().unlock();
    }
  }

  private boolean coveredByRecent(String key, Tags tags, long stamp) {
    for (Entry entry : running) {
      if (entry.covers(key, tags)) {
        return true;
      }
    }
    for (Iterator<Entry> it = ended.descendingIterator(); it.hasNext(); ) {
      Entry entry = it.next();
      if (entry.end <= stamp) {
        break;
      }
      if (entry.covers(key, tags)) {
        return true;
      }
    }
    return false;
  }

  /**
   * The start of the newest invalidation that may cover many keys: an L1 entry checked through this needs no
   * further check. One volatile read.
   */
  long latest() {
    return latest;
  }

  /**
   * Tells whether an invalidation that began after {@code checkedThrough} covers an entry, or whether that can no
   * longer be told because the history has moved past it (then the answer is yes). Call with a value of
   * {@link #latest()} read before: the history read here then holds at least that much.
   */
  boolean coveredSince(String key, Tags tags, long checkedThrough) {
    Entry[] recent = history;
    if (checkedThrough < forgotten) {
      return true;
    }
    for (int i = recent.length - 1; i >= 0 && recent[i].start > checkedThrough; i--) {
      if (recent[i].covers(key, tags)) {
        return true;
      }
    }
    return false;
  }

  /** Called under the write lock. */
  private void remember(Entry entry) {
    Entry[] current = history;
    Entry[] next;
    if (current.length < HISTORY) {
      next = Arrays.copyOf(current, current.length + 1);
    } else {
      forgotten = current[0].start;
      next = new Entry[HISTORY];
      System.arraycopy(current, 1, next, 0, HISTORY - 1);
    }
    next[next.length - 1] = entry;
    history = next;
    latest = entry.start;
  }
}
