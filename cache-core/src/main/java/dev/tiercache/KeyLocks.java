package dev.tiercache;

import java.util.concurrent.locks.ReentrantLock;

/**
 * Striped locks that make writes of one key happen one at a time on this instance, so that the L1 and the L2 end with
 * the same value however concurrent {@code put}s interleave (the last one to reach the L2 is the one the L1 keeps).
 * Writes of different keys rarely share a stripe.
 */
final class KeyLocks {

  private static final int STRIPES = 64;

  private final ReentrantLock[] locks = new ReentrantLock[STRIPES];

  KeyLocks() {
    for (int i = 0; i < STRIPES; i++) {
      locks[i] = new ReentrantLock();
    }
  }

  ReentrantLock of(String key) {
    int h = key.hashCode();
    return locks[(h ^ (h >>> 16)) & (STRIPES - 1)];
  }
}
