package dev.tiercache;

import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.HashMap;
import java.util.Map;
import java.util.WeakHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * How many live caches use each meter of a registry. Two caches of one name share their meters (Micrometer hands
 * both the same one); a meter is removed only when the last of them closes.
 */
final class MeterOwnership {

  private static final Map<MeterRegistry, Map<Meter.Id, Integer>> USERS = new WeakHashMap<>();
  /** The striped tallies behind function counters, shared the same way, by what the caches asked to register. */
  private static final Map<MeterRegistry, Map<Meter.Id, Tally>> TALLIES = new WeakHashMap<>();

  /** A striped count and how many live caches increment it. */
  private static final class Tally {
    final LongAdder adder = new LongAdder();
    int users;
  }

  private MeterOwnership() {}

  static synchronized void acquire(MeterRegistry registry, Meter.Id id) {
    USERS.computeIfAbsent(registry, r -> new HashMap<>()).merge(id, 1, Integer::sum);
  }

  /**
   * The one tally that the caches of one name increment for a function counter: Micrometer hands a second cache the
   * counter the first registered, which reads the first cache's tally, so both must count into it.
   *
   * @param requested the id the cache asks for (before the registry's filters), the same for caches of one name
   */
  static synchronized LongAdder acquireTally(MeterRegistry registry, Meter.Id requested) {
    Tally tally = TALLIES.computeIfAbsent(registry, r -> new HashMap<>()).computeIfAbsent(requested, i -> new Tally());
    tally.users++;
    return tally.adder;
  }

  /** Gives up a tally; the last cache to do so drops it, so that a successor of the name starts from zero. */
  static synchronized void releaseTally(MeterRegistry registry, Meter.Id requested) {
    Map<Meter.Id, Tally> tallies = TALLIES.get(registry);
    Tally tally = tallies == null ? null : tallies.get(requested);
    if (tally != null && --tally.users == 0) {
      tallies.remove(requested);
    }
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
