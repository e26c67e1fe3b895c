package dev.tiercache;

import java.util.concurrent.CompletableFuture;

/** A load in progress for one key, which concurrent readers of that key join instead of loading again. */
final class Flight<V> {

  final CompletableFuture<V> result = new CompletableFuture<>();
  /**
   * The tags invalidations are matched against: the caller's, plus those of the L2 entry the flight read. Widened
   * before the entry is installed, under the log's install lock, so a tag invalidation that starts later detaches the
   * flight (DESIGN.md invariant 1: a read that starts after it cannot join a load that read what it covers).
   */
  private volatile Tags tags;
  /** Taken after the flight became visible to invalidations, before anything is read. */
  long stamp;
  /** A background reload of an entry still in the L1, started by refresh-ahead. */
  boolean refresh;

  Flight(Tags tags) {
    this.tags = tags;
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
