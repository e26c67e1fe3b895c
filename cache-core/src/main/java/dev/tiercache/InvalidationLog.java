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
 * <p>Invalidations that may cover many keys are applied to the L1 logically: until a background sweep has removed
 * their entries, every L1 hit checks the few unswept invalidations ({@link #covers}), so the caller's cost does not
 * grow with the size of the L1.
 */
final class InvalidationLog {

  /** How many ended invalidations are remembered; loads older than the oldest are refused, conservatively. */
  static final int DEFAULT_CAPACITY = 1024;

  private static final Entry[] NONE = new Entry[0];

  private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
  private final AtomicLong clock = new AtomicLong();
  private final int capacity;

  // Guarded by lock: mutated under the write lock, read under the read lock.
  private final List<Entry> running = new ArrayList<>();
  private final ArrayDeque<Entry> ended = new ArrayDeque<>();
  private long horizon;

  // Read without a lock on every L1 hit; replaced copy-on-write under the write lock or this monitor.
  private volatile Entry[] unswept = NONE;

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
        addUnswept(entry);
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
   * The invalidations whose sweep has not finished. A reader takes this snapshot <em>before</em> it looks up the L1:
   * if it looked first, a sweep could remove the entry and retire its invalidation between the lookup and the check,
   * and the reader would serve the entry it had already found.
   */
  Entry[] unswept() {
    return unswept;
  }

  /**
   * Tells whether an L1 entry installed with {@code stamp} is covered by an invalidation of a snapshot taken with
   * {@link #unswept()}. Lock-free; a loop over an empty array when nothing is being swept.
   */
  static boolean covers(Entry[] unswept, String key, Tags tags, long stamp) {
    for (Entry entry : unswept) {
      if (entry.start > stamp && entry.covers(key, tags)) {
        return true;
      }
    }
    return false;
  }

  /** Called by the sweep when every L1 entry the invalidation covered is gone. */
  synchronized void swept(Entry entry) {
    Entry[] current = unswept;
    int at = Arrays.asList(current).indexOf(entry);
    if (at < 0) {
      return;
    }
    Entry[] next = new Entry[current.length - 1];
    System.arraycopy(current, 0, next, 0, at);
    System.arraycopy(current, at + 1, next, at, current.length - at - 1);
    unswept = next;
  }

  private synchronized void addUnswept(Entry entry) {
    Entry[] current = unswept;
    Entry[] next = Arrays.copyOf(current, current.length + 1);
    next[current.length] = entry;
    unswept = next;
  }
}
