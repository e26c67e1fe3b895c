package dev.tiercache;

import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.WeakHashMap;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Function;

/**
 * How many live caches use each meter of a registry. Two caches of one name share their meters (Micrometer hands
 * both the same one); a meter is removed only when the last of them closes.
 */
final class MeterOwnership {

  private static final Map<MeterRegistry, Map<Meter.Id, Integer>> USERS = new WeakHashMap<>();
  /**
   * The striped tallies behind function counters, shared the same way, by the id of the meter the registry handed
   * out (after its filters): caches that a filter maps onto one meter must all count into the tally it reads.
   */
  private static final Map<MeterRegistry, Map<Meter.Id, Tally>> TALLIES = new WeakHashMap<>();

  /** A striped count and how many live caches increment it. */
  private static final class Tally {
    final LongAdder adder;
    int users;

    Tally(LongAdder adder) {
      this.adder = adder;
    }
  }

  /** A function counter as registered, and the tally it reads. */
  record Tallied(Meter meter, LongAdder adder) {}

  private MeterOwnership() {}

  static synchronized void acquire(MeterRegistry registry, Meter.Id id) {
    USERS.computeIfAbsent(registry, r -> new HashMap<>()).merge(id, 1, Integer::sum);
  }

  /**
   * Registers a function counter over a tally and returns the tally that the registered meter reads. Micrometer hands
   * a second cache whose meter has the same id (the same name, or names a filter maps together) the counter the first
   * registered, which reads the first cache's tally, so both must count into it. Registering and looking the tally up
   * happen under one lock, so the first registration of an id is also the first to record its tally.
   *
   * @param register registers the function counter over the tally it is given
   * @param held the ids of the tallies the calling cache already holds (a filter may map two of its meters together)
   */
  static synchronized Tallied registerTally(
      MeterRegistry registry, Function<LongAdder, Meter> register, Set<Meter.Id> held) {
    LongAdder candidate = new LongAdder();
    Meter meter = register.apply(candidate);
    Tally tally =
        TALLIES.computeIfAbsent(registry, r -> new HashMap<>()).computeIfAbsent(meter.getId(), i -> new Tally(candidate));
    if (held.add(meter.getId())) {
      tally.users++;
    }
    return new Tallied(meter, tally.adder);
  }

  /** Gives up a tally; the last cache to do so drops it, so that a successor of the name starts from zero. */
  static synchronized void releaseTally(MeterRegistry registry, Meter.Id id) {
    Map<Meter.Id, Tally> tallies = TALLIES.get(registry);
    Tally tally = tallies == null ? null : tallies.get(id);
    if (tally != null && --tally.users == 0) {
      tallies.remove(id);
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
