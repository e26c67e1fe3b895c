package dev.tiercache;

import java.util.concurrent.CompletableFuture;

/** A load in progress for one key, which concurrent readers of that key join instead of loading again. */
final class Flight<V> {

  final CompletableFuture<V> result = new CompletableFuture<>();
  /**
   * The tags invalidations are matched against: the caller's, plus those of the L2 entry the flight read. Widened
   * before the entry is installed, so a tag invalidation that starts later detaches the flight (DESIGN.md invariant 1:
   * a read that starts after it cannot join a load that read what it covers); one that started earlier refuses the
   * install, and the flight goes on to its loader.
   */
  private volatile Tags tags;
  /** Taken after the flight became visible to invalidations, before anything is read. */
  long stamp;
  /** A background reload of an entry still in the L1, started by refresh-ahead. */
  boolean refresh;
  /**
   * A {@link TieredCache#putIfAbsent}: a write the L2 refused for an invalidation keeps nothing (a load's value
   * would still be kept here).
   */
  boolean ifAbsent;
  /** Set before the flight completes when it finished with its own loader's value (what putIfAbsent stored). */
  volatile boolean ownValue;
  /**
   * Set before the flight completes when its value was not kept because the L2 holds another (its write-back was
   * refused): what it returns is not what the key maps to.
   */
  volatile boolean shadowed;
  /** When the flight began, for the load timeout of those who join it. */
  final long startedAt = System.nanoTime();
  /**
   * The thread running the load, or null before it starts: a loader that asks for a key its own thread is loading
   * would wait for itself forever, so that is refused.
   */
  volatile Thread owner;

  /**
   * Creates a flight.
   *
   * @param tags the caller's tags
   * @param loadsHere whether the calling thread runs the load itself (false when it goes to an executor)
   */
  Flight(Tags tags, boolean loadsHere) {
    this.tags = tags;
    this.owner = loadsHere ? Thread.currentThread() : null;
  }

  boolean ownedByCurrentThread() {
    return owner == Thread.currentThread();
  }

  Tags tags() {
    return tags;
  }

  /** Adds the tags of the L2 entry this flight read. */
  void widen(Tags entryTags) {
    if (!entryTags.isEmpty()) {
      tags = tags.union(entryTags);
    }
  }
}
