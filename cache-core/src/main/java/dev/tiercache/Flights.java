package dev.tiercache;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * The loads in flight on this instance, one per key, which concurrent readers join. An invalidation detaches the
 * flights it covers, so that a reader that starts after it starts a fresh load instead of joining one that may have
 * read what it removed.
 */
final class Flights<V> {

  private final ConcurrentHashMap<String, Flight<V>> byKey = new ConcurrentHashMap<>();
  /**
   * Counts flights leaving the map, each before it leaves (see {@link #generation()}). A LongAdder: every load that
   * finishes counts, from any thread.
   */
  private final LongAdder departures = new LongAdder();

  /** Registers {@code mine}, or returns the flight already registered for the key. */
  Flight<V> putIfAbsent(String key, Flight<V> mine) {
    return byKey.putIfAbsent(key, mine);
  }

  void remove(String key, Flight<V> flight) {
    departures.increment();
    byKey.remove(key, flight);
  }

  /** Detaches the load of one key: a reader that comes later starts its own. */
  void detachKey(String key) {
    departures.increment();
    byKey.remove(key);
  }

  /** Called as an invalidation begins and ends (for one key, while the log excludes installs of that key). */
  void detach(Invalidation invalidation) {
    String single = invalidation.singleKey();
    if (single != null) {
      detachKey(single);
      return;
    }
    departures.increment();
    byKey.entrySet().removeIf(e -> invalidation.covers(e.getKey(), e.getValue().tags()));
  }

  /**
   * Moves whenever a flight leaves the map, and before it does. A load finishes what it writes (L2, L1) before its
   * flight leaves, so a reader that read the L2 with no flight registered, then registered its own, knows that no
   * load of its keys finished in between if the generation did not move: what it read is as good as a read made
   * after registering (the bulk read reuses it instead of reading again).
   */
  long generation() {
    return departures.sum();
  }
}
