package dev.tiercache;

import java.util.Arrays;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Invalidations looked up by what they name, each with a stamp (its start or its end, as the {@link InvalidationLog}
 * uses it): "did an invalidation covering this entry happen after stamp s?" costs one lookup for the key, one per tag
 * of the entry, one per distinct invalidated prefix length, and a scan of the patterns and custom invalidations newer
 * than s, however many invalidations were recorded.
 *
 * <p>Written by one writer at a time (under the log's lock for invalidations that may cover many keys), in increasing
 * stamp order; read without a lock (every field is safe to read concurrently: concurrent maps and volatile
 * copy-on-write arrays). Bounded: when
 * {@link #isFull()} the log forgets everything through {@link #clear()}, after raising the floor that makes what it
 * can no longer tell count as covered.
 */
final class InvalidationIndex {

  /** A pattern or custom invalidation and its stamp. */
  private record Stamped(Invalidation invalidation, long stamp) {}

  private static final Stamped[] NONE = new Stamped[0];

  /** Patterns and custom invalidations are checked by scanning: past this many, the index forgets. */
  static final int MAX_SCANNED = 1024;

  private final int capacity;
  private final ConcurrentHashMap<String, Long> keys = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, Long> tags = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, Long> prefixes = new ConcurrentHashMap<>();
  /** The distinct lengths of recorded prefixes, ascending. */
  private volatile int[] prefixLengths = new int[0];
  /** The stamp of the newest invalidation of everything, 0 if none. */
  private volatile long all;
  /** Patterns and custom invalidations, ascending by stamp. */
  private volatile Stamped[] others = NONE;
  /** How many entries the maps and arrays hold; written by the one writer. */
  private int size;

  InvalidationIndex(int capacity) {
    this.capacity = capacity;
  }

  boolean isFull() {
    return size >= capacity || others.length >= MAX_SCANNED;
  }

  void clear() {
    others = NONE;
    prefixLengths = new int[0];
    keys.clear();
    tags.clear();
    prefixes.clear();
    size = 0;
  }

  void record(Invalidation invalidation, long stamp) {
    InvalidationStrategy strategy = invalidation.strategy();
    String argument = invalidation.argument();
    if (strategy == BuiltInStrategy.KEY) {
      count(keys.put(argument, stamp));
    } else if (strategy == BuiltInStrategy.TAG) {
      count(tags.put(argument, stamp));
    } else if (strategy == BuiltInStrategy.PREFIX) {
      count(prefixes.put(argument, stamp));
      addPrefixLength(argument.length());
    } else if (strategy == BuiltInStrategy.ALL) {
      all = stamp;
    } else {
      Stamped[] current = others;
      Stamped[] next = Arrays.copyOf(current, current.length + 1);
      next[current.length] = new Stamped(invalidation, stamp);
      others = next;
      size++;
    }
  }

  private void count(Long previous) {
    if (previous == null) {
      size++;
    }
  }

  private void addPrefixLength(int length) {
    int[] current = prefixLengths;
    int at = Arrays.binarySearch(current, length);
    if (at < 0) {
      int insert = -at - 1;
      int[] next = new int[current.length + 1];
      System.arraycopy(current, 0, next, 0, insert);
      next[insert] = length;
      System.arraycopy(current, insert, next, insert + 1, current.length - insert);
      prefixLengths = next;
    }
  }

  /** Whether an invalidation recorded with a stamp after {@code stamp} covers the entry. */
  boolean coversAfter(String key, Tags entryTags, long stamp) {
    if (all > stamp || after(keys.get(key), stamp)) {
      return true;
    }
    if (!entryTags.isEmpty() && !tags.isEmpty()) {
      for (String tag : entryTags) {
        if (after(tags.get(tag), stamp)) {
          return true;
        }
      }
    }
    for (int length : prefixLengths) {
      if (length > key.length()) {
        break;
      }
      if (after(prefixes.get(key.substring(0, length)), stamp)) {
        return true;
      }
    }
    Stamped[] recent = others;
    for (int i = recent.length - 1; i >= 0 && recent[i].stamp() > stamp; i--) {
      if (recent[i].invalidation().covers(key, entryTags)) {
        return true;
      }
    }
    return false;
  }

  private static boolean after(Long recorded, long stamp) {
    return recorded != null && recorded > stamp;
  }
}
