package dev.tiercache;

import java.util.Arrays;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

/**
 * The node-local memory of recent invalidations that closes both races of DESIGN.md invariant 1.
 *
 * <p>Time is a counter. A load (or an L2 read that will fill L1) takes a {@link #stamp()} before it reads anything;
 * an invalidation gets a start stamp when it begins and an end stamp once the L2 has applied it. A load may install
 * its result only if no covering invalidation is still running or ended after the load's stamp: such an invalidation
 * may have removed the very row the load read.
 *
 * <p>No lock is shared by every key on the write path. Invalidations of exactly one key ({@code put},
 * {@code invalidateKey}) live in the {@link KeyLog}, striped by key: an install of a key and an invalidation of it
 * exclude each other through the key's stripe, so the install either happens entirely before the invalidation, whose
 * L1 removal then sees it, or entirely after, when its check sees the invalidation. Installs check invalidations that
 * may cover many keys (tag, prefix, pattern, custom, everything) without a lock, optimistically: they read
 * {@link #latest()} before the check and stamp the installed entry with it, so an invalidation that begins while the
 * check runs (and so may be missed by it) is newer than the entry's stamp, and every L1 read checks the entry against
 * it before serving it ({@link #coveredSince}). Those invalidations are rare and are written one at a time under
 * {@code manyLock}, in an order that lock-free readers rely on: running before the start index and {@link #latest()};
 * the end index before leaving the running set; a horizon before the index it stands for is cleared.
 *
 * <p>Invalidations that may cover many keys are applied to the L1 logically, so the caller's cost does not grow with
 * the size of the L1: an L1 hit checks the entry against the invalidations that began since the entry was last
 * checked ({@link #coveredSince}); usually none, which costs one volatile read. A background sweep removes covered
 * entries to free memory, but correctness never depends on it.
 *
 * <p>Both checks look invalidations up by what they name ({@link InvalidationIndex}): a check costs one lookup per tag
 * of the entry and per distinct invalidated prefix length, plus a scan of recent patterns and custom invalidations
 * only, however many invalidations happened. The indexes are bounded; when one fills up it forgets everything at once
 * and treats what it can no longer tell as covered: loads that began before are refused, L1 entries checked before
 * are reloaded (never served unchecked).
 */
final class InvalidationLog {

  /** How many invalidations each index remembers before it forgets them all. */
  static final int DEFAULT_CAPACITY = 65_536;

  private static final Entry[] NO_ENTRIES = new Entry[0];

  private final AtomicLong clock = new AtomicLong();
  private final KeyLog keys;
  /**
   * Invalidations made here that began and have not ended: raised before a begin takes its stamp from the clock,
   * lowered after an end took its own (see {@link #quietSince}).
   */
  private final AtomicInteger localRunning = new AtomicInteger();

  /** Serializes the writers of everything below; readers take no lock. */
  private final ReentrantLock manyLock = new ReentrantLock();
  /** Running invalidations that may cover many keys; copy-on-write. */
  private volatile Entry[] running = NO_ENTRIES;
  /** End stamps, for install checks. */
  private final InvalidationIndex ends;
  /** End stamps of local invalidations only, for {@link #coveredLocally}. */
  private final InvalidationIndex localEnds;
  private volatile long localHorizon;
  /** A load whose stamp is older than this is refused: the end index forgot what happened before. */
  private volatile long horizon;

  /** Start stamps of invalidations that may cover many keys, for L1 hit checks. */
  private final InvalidationIndex starts;
  /** Checks made through a stamp older than this cannot be told apart: the start index forgot them. */
  private volatile long forgotten;
  /** The start of the newest invalidation that may cover many keys, 0 if none. Written after {@link #starts}. */
  private volatile long latest;

  InvalidationLog(int capacity) {
    this.keys = new KeyLog();
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
    /** The one key it covers, when it covers exactly one ({@link KeyLog}); null when it may cover many. */
    final String key;
    volatile long end = Long.MAX_VALUE;

    Entry(Invalidation invalidation, long start, boolean local, String key) {
      this.invalidation = invalidation;
      this.start = start;
      this.local = local;
      this.key = key;
    }

    boolean covers(String key, Tags tags) {
      return invalidation.covers(key, tags);
    }
  }

  /** What an install runs once its check passed. */
  interface Install {
    /**
     * Installs.
     *
     * @param checkedThrough the {@link #latest()} read before the check: the entry has been checked against every
     *     invalidation that began until then, and must be checked against any that began later
     */
    void run(long checkedThrough);
  }

  /** What a write with nothing to propagate runs under its key's stripe ({@link #writeLocally}). */
  interface LocalWrite<T> {
    /**
     * Installs the written value, or removes the key's entry when {@code current} is false.
     *
     * @param stamp the write's end: loads that began before it are refused
     * @param checkedThrough as for {@link Install#run}
     * @param current whether no other invalidation covering the entry runs or ended after the write
     */
    void run(String key, T value, Tags tags, long stamp, long checkedThrough, boolean current);
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
   * Begins an invalidation. {@code whileExclusive} runs while no install that it could overtake can happen: for one
   * key, it removes the key from the L1 and detaches its load in flight; for many, it detaches covered loads (their
   * L1 entries are checked logically).
   */
  Entry begin(Invalidation invalidation, boolean local, Runnable whileExclusive) {
    if (local) {
      // Before the begin's stamp (quietSince); an invalidation whose begin throws stays counted, which only costs
      // the batch check its shortcut.
      localRunning.incrementAndGet();
    }
    String single = invalidation.singleKey();
    if (single != null) {
      return keys.begin(single, invalidation, local, clock, whileExclusive);
    }
    manyLock.lock();
    try {
      Entry entry = new Entry(invalidation, clock.incrementAndGet(), local, null);
      // Running before latest: an install that reads latest at or after this start sees it running.
      running = with(running, entry);
      try {
        if (starts.isFull()) {
          // Raised before the index forgets: a lock-free reader that finds the index emptied then sees the floor.
          forgotten = entry.start;
          starts.clear();
        }
        starts.record(invalidation, entry.start);
        latest = entry.start;
      } finally {
        // Even if a custom matcher throws inside, the invalidation is running, so its end will be recorded.
        whileExclusive.run();
      }
      return entry;
    } finally {
      manyLock.unlock();
    }
  }

  /**
   * Ends an invalidation once the L2 has applied it (or at once, when there is no L2 step). {@code whileExclusive}
   * detaches loads that began while it ran: they may have read the L2 before it was cleaned.
   */
  void end(Entry entry, Runnable whileExclusive) {
    if (entry.key != null) {
      try {
        keys.end(entry, clock, whileExclusive);
      } finally {
        // After the end's stamp (quietSince): only whileExclusive can throw, and it runs after the stamp.
        endedLocally(entry);
      }
      return;
    }
    manyLock.lock();
    try {
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
      // Recorded before it leaves the running set: a check that no longer finds it running finds its end.
      running = without(running, entry);
      endedLocally(entry);
      whileExclusive.run();
    } finally {
      manyLock.unlock();
    }
  }

  private void endedLocally(Entry entry) {
    if (entry.local) {
      localRunning.decrementAndGet();
    }
  }

  /**
   * Runs {@code install} if no invalidation covering the entry is running or ended after {@code stamp}.
   *
   * @return whether it installed
   */
  boolean installIfCurrent(String key, Tags tags, long stamp, Install install) {
    // The check of invalidations that may cover many keys runs before the key's stripe is taken: it may run user
    // matchers and glob matches, and another instance's invalidation of the key waits for the stripe on Lettuce's
    // event loop (review 7). It needs no lock: one that begins after checkedThrough is read is checked by every L1
    // read, however late the install runs.
    long checkedThrough = latest;
    if (coveredByMany(key, tags, stamp, false)) {
      return false;
    }
    KeyLog.Stripe stripe = keys.stripe(key);
    synchronized (stripe) {
      if (KeyLog.covers(stripe, key, stamp)) {
        return false;
      }
      install.run(checkedThrough);
      return true;
    }
  }

  /**
   * A write of one key that has nothing to propagate (no L2, no bus): its invalidation begins and ends, and its value
   * is installed, in one hold of the key's stripe, where a write that propagates takes the stripe three times and the
   * clock twice. Nothing that the stripe does not exclude could happen between those steps, so this is the begin, the
   * end and an install stamped at the end with no time between them; the check is the one {@link #installIfCurrent}
   * makes.
   *
   * @param detach detaches the key's load in flight; run under the stripe once the write has its stamp: a load that
   *     took its stamp before is refused and must not be joined, and one that registers later took a stamp after
   *     the write (it read what the write wrote) and must stay joinable, or a reader that misses starts a second load
   * @return whether the write was current (no other invalidation covering it ran or ended after it), as
   *     {@code write} was told
   */
  <T> boolean writeLocally(String key, Tags tags, T value, LocalWrite<T> write, Consumer<String> detach) {
    KeyLog.Stripe stripe = keys.stripe(key);
    synchronized (stripe) {
      long end = KeyLog.beginAndEnd(stripe, key, clock);
      detach.accept(key);
      long checkedThrough = latest;
      boolean current = !KeyLog.covers(stripe, key, end) && !coveredByMany(key, tags, end, false);
      write.run(key, value, tags, end, checkedThrough, current);
      return current;
    }
  }

  /**
   * Whether an invalidation that may cover many keys, running or ended after {@code stamp}, covers an entry (only
   * local ones if {@code localOnly}). Lock-free: the running set is read before the end index, and the horizon after
   * it, the reverse of the order in which {@link #end} writes them.
   */
  private boolean coveredByMany(String key, Tags tags, long stamp, boolean localOnly) {
    for (Entry entry : running) {
      if ((entry.local || !localOnly) && entry.covers(key, tags)) {
        return true;
      }
    }
    if (localOnly) {
      return localEnds.coversAfter(key, tags, stamp) || stamp < localHorizon;
    }
    return ends.coversAfter(key, tags, stamp) || stamp < horizon;
  }

  /**
   * Tells whether an invalidation made on this instance, running or ended after {@code stamp}, covers an entry. A
   * read that began at {@code stamp} and was overtaken by such an invalidation must not hand what it read to a reader
   * that joined after the invalidation returned (DESIGN.md invariant 1); one overtaken only by another instance's
   * invalidation is within the staleness bound of invariant 2.
   */
  boolean coveredLocally(String key, Tags tags, long stamp) {
    return keys.coversLocally(key, stamp) || coveredByMany(key, tags, stamp, true);
  }

  /**
   * Tells whether no invalidation made here runs now, and none began or ended since {@code stamp}: then
   * {@link #coveredLocally} through {@code stamp} is false for every key, and a bulk read checks its hundred hits with
   * this one check (two volatile reads) instead of one each. The count is read before the clock: an invalidation
   * running when the count reads 0 began after it was read, so its begin moved the clock past the stamp before the
   * clock is read or after (then it began after this check, as it could have after any per-key check); one that
   * began before the stamp and ended since lowered the count after its end moved the clock.
   */
  boolean quietSince(long stamp) {
    return localRunning.get() == 0 && clock.get() == stamp;
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

  private static Entry[] with(Entry[] entries, Entry added) {
    Entry[] next = Arrays.copyOf(entries, entries.length + 1);
    next[entries.length] = added;
    return next;
  }

  private static Entry[] without(Entry[] entries, Entry removed) {
    for (int i = 0; i < entries.length; i++) {
      if (entries[i] == removed) {
        Entry[] next = new Entry[entries.length - 1];
        System.arraycopy(entries, 0, next, 0, i);
        System.arraycopy(entries, i + 1, next, i, entries.length - i - 1);
        return next;
      }
    }
    return entries;
  }
}
