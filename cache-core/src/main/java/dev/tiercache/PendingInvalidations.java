package dev.tiercache;

import java.util.ArrayDeque;

/**
 * Invalidations that this instance applied locally but could not apply to the L2 (DESIGN.md invariant 1: not
 * reported as done silently). While any are pending the instance does not trust the L2: it neither reads nor writes
 * it, so a value they cover cannot come back from there. They are applied in order when the L2 is back. A queue
 * that overflows is replaced by one invalidation of the whole L2, since what it dropped is unknown.
 */
final class PendingInvalidations {

  /** What to apply next: one invalidation, or (after an overflow) everything. */
  record Next(Invalidation invalidation) {
    boolean everything() {
      return invalidation == null;
    }
  }

  private static final Next EVERYTHING = new Next(null);

  private final int capacity;
  private final ArrayDeque<Invalidation> queue = new ArrayDeque<>();
  private boolean overflowed;
  /** Read without the lock on every L2 access. */
  private volatile boolean empty = true;

  PendingInvalidations(int capacity) {
    this.capacity = capacity;
  }

  boolean isEmpty() {
    return empty;
  }

  /**
   * Queues an invalidation.
   *
   * @return true if the queue overflowed with this call: the caller must clear its L1
   */
  synchronized boolean add(Invalidation invalidation) {
    empty = false;
    if (overflowed) {
      return false;
    }
    if (queue.size() >= capacity) {
      overflowed = true;
      queue.clear();
      return true;
    }
    queue.addLast(invalidation);
    return false;
  }

  synchronized Next next() {
    if (overflowed) {
      return EVERYTHING;
    }
    Invalidation first = queue.peekFirst();
    return first == null ? null : new Next(first);
  }

  /** Removes what {@link #next()} returned, once the L2 applied it. */
  synchronized void applied(Next next) {
    if (next.everything()) {
      // Everything written before now is invalid in the L2: what was queued is covered too.
      overflowed = false;
      queue.clear();
    } else if (queue.peekFirst() == next.invalidation()) {
      queue.removeFirst();
    }
    empty = !overflowed && queue.isEmpty();
  }

  synchronized int size() {
    return overflowed ? capacity : queue.size();
  }
}
