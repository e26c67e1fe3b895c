package dev.tiercache;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.List;

/** Reads a cache's counters in tests. */
final class Counts {

  private Counts() {}

  /**
   * A counter's count, or a function counter's (gets and puts are counted in striped tallies); fails if the cache has
   * no such meter.
   */
  static double of(MeterRegistry registry, String cache, String name, String... tags) {
    Meter meter = registry.find(name).tag("cache", cache).tags(tags).meter();
    assertThat(meter).as("counter %s %s", name, List.of(tags)).isNotNull();
    return meter instanceof FunctionCounter tally ? tally.count() : ((Counter) meter).count();
  }
}
