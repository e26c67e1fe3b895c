package dev.tiercache;

import java.util.concurrent.ConcurrentHashMap;

/**
 * The loads in flight on this instance, one per key, which concurrent readers join. An invalidation detaches the
 * flights it covers, so that a reader that starts after it starts a fresh load instead of joining one that may have
 * read what it removed.
 */
final class Flights<V> {

  private final ConcurrentHashMap<String, Flight<V>> byKey = new ConcurrentHashMap<>();

  /** Registers {@code mine}, or returns the flight already registered for the key. */
  Flight<V> putIfAbsent(String key, Flight<V> mine) {
    return byKey.putIfAbsent(key, mine);
  }

  void remove(String key, Flight<V> flight) {
    byKey.remove(key, flight);
  }

  /** Detaches the load of one key: a reader that comes later starts its own. */
  void detachKey(String key) {
    byKey.remove(key);
  }

  /** Called as an invalidation begins and ends (for one key, while the log excludes installs of that key). */
  void detach(Invalidation invalidation) {
    String single = invalidation.singleKey();
    if (single != null) {
      detachKey(single);
      return;
    }
    byKey.entrySet().removeIf(e -> invalidation.covers(e.getKey(), e.getValue().tags()));
  }
}
