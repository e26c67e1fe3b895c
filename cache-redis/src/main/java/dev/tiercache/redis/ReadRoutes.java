package dev.tiercache.redis;

import java.util.concurrent.ConcurrentHashMap;

/**
 * Which way a bucket's reads go (see {@link TierReads}). The {@code MGET} settles every entry written after the
 * bucket's newest tag, prefix or pattern invalidation; in a bucket where those come more often than its entries are
 * rewritten (a standalone Redis has one bucket per cache), most entries are older, and the {@code MGET} only adds a
 * round trip before the script. So after an {@code MGET} that left an entry open, the bucket's next reads go straight
 * to the script, for a number of reads that doubles with each {@code MGET} that leaves one open again (8 up to
 * 1,024), and drops back to none once one settles everything it read.
 *
 * <p>Unsynchronized on purpose: both ways answer the same for every entry, so a lost update only sends a read the
 * other way, and the common case (no entry left open) writes nothing shared.
 */
final class ReadRoutes {

  static final int FIRST_DETOUR = 8;
  static final int LONGEST_DETOUR = 1_024;

  private final int buckets;
  /** Per cache, per bucket: {@code [2b]} reads left to send to the script, {@code [2b + 1]} the current detour. */
  private final ConcurrentHashMap<String, int[]> byCache = new ConcurrentHashMap<>();

  ReadRoutes(int buckets) {
    this.buckets = buckets;
  }

  /** Tests that compare the two ways turn detours off, so that every read starts with the {@code MGET}. */
  private volatile boolean off;

  void turnOff() {
    off = true;
  }

  /** Whether this read of the bucket goes straight to the script (and counts it). */
  boolean viaScript(String cache, int bucket) {
    if (off) {
      return false;
    }
    int[] state = state(cache);
    int left = state[2 * bucket];
    if (left > 0) {
      state[2 * bucket] = left - 1;
      return true;
    }
    return false;
  }

  /** An {@code MGET} of the bucket settled every entry it read. */
  void settled(String cache, int bucket) {
    int[] state = state(cache);
    if (state[2 * bucket + 1] != 0) {
      state[2 * bucket + 1] = 0;
    }
  }

  /** An {@code MGET} of the bucket left an entry for the script. */
  void leftOpen(String cache, int bucket) {
    int[] state = state(cache);
    int detour = state[2 * bucket + 1];
    detour = detour == 0 ? FIRST_DETOUR : Math.min(2 * detour, LONGEST_DETOUR);
    state[2 * bucket + 1] = detour;
    state[2 * bucket] = detour;
  }

  private int[] state(String cache) {
    int[] state = byCache.get(cache);
    return state != null ? state : byCache.computeIfAbsent(cache, c -> new int[2 * buckets]);
  }
}
