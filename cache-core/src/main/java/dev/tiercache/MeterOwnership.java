package dev.tiercache;

import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.HashMap;
import java.util.Map;
import java.util.WeakHashMap;

/**
 * How many live caches use each meter of a registry. Two caches of one name share their meters (Micrometer hands
 * both the same one); a meter is removed only when the last of them closes.
 */
final class MeterOwnership {

  private static final Map<MeterRegistry, Map<Meter.Id, Integer>> USERS = new WeakHashMap<>();

  private MeterOwnership() {}

  static synchronized void acquire(MeterRegistry registry, Meter.Id id) {
    USERS.computeIfAbsent(registry, r -> new HashMap<>()).merge(id, 1, Integer::sum);
  }

  static synchronized void release(MeterRegistry registry, Meter.Id id) {
    Map<Meter.Id, Integer> users = USERS.get(registry);
    if (users == null) {
      return;
    }
    Integer left = users.computeIfPresent(id, (i, n) -> n == 1 ? null : n - 1);
    if (left == null) {
      registry.remove(id);
    }
  }
}
