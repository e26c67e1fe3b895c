package dev.tiercache;

import java.util.ArrayList;
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
 * the size of the L1: an L1 hit checks the entry against the invalidations that began since the entry was last
 * checked ({@link #coveredSince}); usually none, which costs one volatile read. A background sweep removes covered
 * entries to free memory, but correctness never depends on it.
 *
 * <p>Both checks look invalidations up by what they name ({@link InvalidationIndex}): a check costs one lookup per tag
 * of the entry and per distinct invalidated prefix length, plus a scan of recent patterns and custom invalidations
 * only, however many invalidations happened. The index is bounded; when it fills up it forgets everything at once and
 * treats what it can no longer tell as covered: loads that began before are refused, L1 entries checked before are
 * reloaded (never served unchecked).
 */
final class InvalidationLog {

  /** How many invalidations each index remembers before it forgets them all. */
  static final int DEFAULT_CAPACITY = 65_536;

  private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
  private final AtomicLong clock = new AtomicLong();

  // Guarded by lock: mutated under the write lock, read under the read lock.
  private final List<Entry> running = new ArrayList<>();
  /** End stamps, for install checks. */
  private final InvalidationIndex ends;
  /** End stamps of local invalidations only, for {@link #coveredLocally}. */
  private final InvalidationIndex localEnds;
  private long localHorizon;
  /** A load whose stamp is older than this is refused: the end index forgot what happened before. */
  private long horizon;

  /** Start stamps of invalidations that may cover many keys, for L1 hit checks; read without the lock. */
  private final InvalidationIndex starts;
  /** Checks made through a stamp older than this cannot be told apart: the start index forgot them. */
  private volatile long forgotten;
  /** The start of the newest invalidation that may cover many keys, 0 if none. Written after {@link #starts}. */
  private volatile long latest;

  InvalidationLog(int capacity) {
    this.ends = new InvalidationIndex(capacity);
    this.localEnds = new InvalidationIndex(capacity);
    this.starts = new InvalidationIndex(capacity);
  }

  /** One invalidation as the log sees it. */
  static final class Entry {
    final Invalidation invalidation;
    final long start;
    /** Made on this instance (invalidate, put), as opposed to received from another one or a suspected loss. */
    final boolean local;
    volatile long end = Long.MAX_VALUE;

    Entry(Invalidation invalidation, long start, boolean local) {
      this.invalidation = invalidation;
      this.start = start;
      this.local = local;
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
  Entry begin(Invalidation invalidation, boolean local, Runnable whileExclusive) {
    lock.writeLock().lock();
    try {
      Entry entry = new Entry(invalidation, clock.incrementAndGet(), local);
      running.add(entry);
      try {
        if (invalidation.singleKey() == null) {
          if (starts.isFull()) {
            // Raised before the index forgets: a lock-free reader that finds the index emptied then sees the floor.
            forgotten = entry.start;
            starts.clear();
          }
          starts.record(invalidation, entry.start);
          latest = entry.start;
        }
      } finally {
        // Even if a custom matcher throws inside, the invalidation is running, so its end will be recorded.
        whileExclusive.run();
      }
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
      if (ends.isFull()) {
        horizon = entry.end;
        ends.clear();
      }
      ends.record(entry.invalidation, entry.end);
      if (entry.local) {
        if (localEnds.isFull()) {
          localHorizon = entry.end;
          localEnds.clear();
        }
        localEnds.record(entry.invalidation, entry.end);
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
      if (stamp < horizon || coveredByRunning(key, tags) || ends.coversAfter(key, tags, stamp)) {
        return false;
      }
      install.run();
      return true;
    } finally {
      lock.readLock().unlock();
    }
  }

  private boolean coveredByRunning(String key, Tags tags) {
    for (Entry entry : running) {
      if (entry.covers(key, tags)) {
        return true;
      }
    }
    return false;
  }

  /**
   * Tells whether an invalidation made on this instance, running or ended after {@code stamp}, covers an entry. A
   * read that began at {@code stamp} and was overtaken by such an invalidation must not hand what it read to a reader
   * that joined after the invalidation returned (DESIGN.md invariant 1); one overtaken only by another instance's
   * invalidation is within the staleness bound of invariant 2.
   */
  boolean coveredLocally(String key, Tags tags, long stamp) {
    lock.readLock().lock();
    try {
      if (stamp < localHorizon || localEnds.coversAfter(key, tags, stamp)) {
        return true;
      }
      for (Entry entry : running) {
        if (entry.local && entry.covers(key, tags)) {
          return true;
        }
      }
      return false;
    } finally {
      lock.readLock().unlock();
    }
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
   * longer be told because the index forgot it (then the answer is yes). Call with a value of {@link #latest()}
   * read before: the index read here then holds at least that much.
   */
  boolean coveredSince(String key, Tags tags, long checkedThrough) {
    if (starts.coversAfter(key, tags, checkedThrough)) {
      return true;
    }
    // Read after the index: if it was emptied meanwhile, the floor was raised before, and this read sees it.
    return checkedThrough < forgotten;
  }
}
