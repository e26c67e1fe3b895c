package dev.tiercache;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

/**
 * A registry whose eviction counter runs {@link #beforeEviction} on the evicting thread before it counts: tests hold
 * or slow Caffeine's upkeep there, at a point every eviction passes.
 */
abstract class EvictionHook extends SimpleMeterRegistry {

  /** Runs on the thread that evicts, before the eviction is counted. */
  protected abstract void beforeEviction();

  @Override
  protected Counter newCounter(Meter.Id id) {
    Counter real = super.newCounter(id);
    if (!id.getName().equals("cache.evictions")) {
      return real;
    }
    return new Counter() {
      @Override
      public void increment(double amount) {
        beforeEviction();
        real.increment(amount);
      }

      @Override
      public double count() {
        return real.count();
      }

      @Override
      public Meter.Id getId() {
        return real.getId();
      }
    };
  }
}
