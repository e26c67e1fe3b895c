package dev.tiercache;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.LongAdder;

/**
 * The loads in flight on this instance, one per key, which concurrent readers join. An invalidation detaches the
 * flights it covers, so that a reader that starts after it starts a fresh load instead of joining one that may have
 * read what it removed.
 */
final class Flights<V> {

  private final ConcurrentHashMap<String, Flight<V>> byKey = new ConcurrentHashMap<>();
  /** Stripes of {@link #departures}: a batch of 100 keys touches about a tenth of them. */
  private static final int STRIPES = 1 << 10;

  /**
   * Counts flights leaving the map, each before it leaves (see {@link #generation}), by the stripe of the key. One
   * counter for the whole cache moved with every load of any key: a getAll whose read was out while any other key's
   * load finished read the L2 a second time (review 10), which is most of them under load.
   */
  private final AtomicLongArray departures = new AtomicLongArray(STRIPES);
  /** Counts invalidations that may detach flights of many keys, each before it does. */
  private final LongAdder wideDepartures = new LongAdder();

  /** Registers {@code mine}, or returns the flight already registered for the key. */
  Flight<V> putIfAbsent(String key, Flight<V> mine) {
    return byKey.putIfAbsent(key, mine);
  }

  void remove(String key, Flight<V> flight) {
    departures.incrementAndGet(stripe(key));
    byKey.remove(key, flight);
  }

  /** Detaches the load of one key: a reader that comes later starts its own. */
  void detachKey(String key) {
    departures.incrementAndGet(stripe(key));
    byKey.remove(key);
  }

  /** Called as an invalidation begins and ends (for one key, while the log excludes installs of that key). */
  void detach(Invalidation invalidation) {
    String single = invalidation.singleKey();
    if (single != null) {
      detachKey(single);
      return;
    }
    wideDepartures.increment();
    byKey.entrySet().removeIf(e -> invalidation.covers(e.getKey(), e.getValue().tags()));
  }

  /**
   * Moves whenever a flight of one of {@code keys} leaves the map, and before it does (and may move for other keys
   * that share a stripe). A load finishes what it writes (L2, L1) before its flight leaves, so a reader that read the
   * L2 for these keys with no flight registered, then registered its own, knows that no load of its keys finished in
   * between if the generation did not move: what it read is as good as a read made after registering (the bulk read
   * reuses it instead of reading again). Every term only grows, so an equal sum means no term moved.
   */
  long generation(String[] keys) {
    long generation = wideDepartures.sum();
    for (String key : keys) {
      generation += departures.get(stripe(key));
    }
    return generation;
  }

  private static int stripe(String key) {
    int hash = key.hashCode();
    return (hash ^ (hash >>> 16)) & (STRIPES - 1);
  }
}
