package dev.tiercache;

import java.util.ArrayDeque;

/**
 * Invalidations that this instance applied locally but could not apply to the L2 (DESIGN.md invariant 1: not
 * reported as done silently). While any are pending the instance does not trust the L2: it neither reads nor writes
 * it, so a value they cover cannot come back from there. They are applied in order when the L2 is back. A queue
 * that overflows is replaced by one invalidation of the whole L2, since what it dropped is unknown.
 *
 * <p>Every invalidation added gets a number. Applying "everything" covers only what was added before it was handed
 * out: an invalidation added while it is being applied stays queued, so nothing is dropped by a drain that races with
 * new failures.
 */
final class PendingInvalidations {

  /** What to apply next: one invalidation, or (after an overflow) everything added up to {@code through}. */
  record Next(Invalidation invalidation, long through) {
    boolean everything() {
      return invalidation == null;
    }
  }

  private record Queued(Invalidation invalidation, long number) {}

  private final int capacity;
  private final ArrayDeque<Queued> queue = new ArrayDeque<>();
  private long added;
  /** The number of the last invalidation dropped by an overflow, 0 if none is waiting to be covered. */
  private long overflowedThrough;
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
    long number = ++added;
    if (queue.size() >= capacity) {
      boolean first = overflowedThrough == 0;
      overflowedThrough = number;
      queue.clear();
      return first;
    }
    queue.addLast(new Queued(invalidation, number));
    return false;
  }

  synchronized Next next() {
    if (overflowedThrough != 0) {
      return new Next(null, added);
    }
    Queued first = queue.peekFirst();
    return first == null ? null : new Next(first.invalidation(), first.number());
  }

  /** Removes what {@link #next()} returned, once the L2 applied it. */
  synchronized void applied(Next next) {
    if (next.everything()) {
      // Everything written before now is invalid in the L2: what was queued up to the hand-out is covered too.
      while (!queue.isEmpty() && queue.peekFirst().number() <= next.through()) {
        queue.removeFirst();
      }
      if (overflowedThrough <= next.through()) {
        overflowedThrough = 0;
      }
    } else if (!queue.isEmpty() && queue.peekFirst().number() == next.through()) {
      queue.removeFirst();
    }
    empty = overflowedThrough == 0 && queue.isEmpty();
  }

  synchronized int size() {
    return overflowedThrough != 0 ? capacity + queue.size() : queue.size();
  }
}
