package dev.tiercache;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.config.MeterFilter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;

/**
 * Gets and puts are counted in striped tallies behind function counters. A registry whose filters map several caches
 * onto one meter (here the common cardinality filter that drops the {@code cache} tag) hands every cache the meter
 * the first one registered: every cache must then count into the tally that meter reads, as they all counted into the
 * one shared {@link Counter} before, and that tally must stay alive while any of them does.
 */
class MeterFilterTallyTest {

  private static double l1Hits(SimpleMeterRegistry registry) {
    Meter meter = registry.find("cache.gets").tag("result", "hit").tag("tier", "l1").meter();
    assertThat(meter).isNotNull();
    return meter instanceof FunctionCounter tally ? tally.count() : ((Counter) meter).count();
  }

  private static TieredCache<String, String> cache(String name, SimpleMeterRegistry registry) {
    return TieredCache.<String, String>builder(name).meterRegistry(registry).executor(Runnable::run).build();
  }

  @Test
  void cachesThatAFilterMapsOntoOneMeterAllCountIntoIt() {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    registry.config().meterFilter(MeterFilter.ignoreTags("cache"));
    try (TieredCache<String, String> a = cache("filtered-a", registry);
        TieredCache<String, String> b = cache("filtered-b", registry)) {
      a.get("k", k -> "v");
      b.get("k", k -> "v");
      for (int i = 0; i < 3; i++) {
        a.get("k", k -> "v");
        b.get("k", k -> "v");
      }
      assertThat(l1Hits(registry)).as("L1 hits of both caches").isEqualTo(6.0);
      a.close();
      System.gc();
      for (int i = 0; i < 4; i++) {
        b.get("k", k -> "v");
      }
      assertThat(l1Hits(registry)).as("the survivor keeps counting into the shared meter").isEqualTo(10.0);
    }
  }

  @Test
  void aFilterThatMapsTwoMetersOfOneCacheTogetherLeavesNothingBehindForASuccessor() {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    registry.config().meterFilter(MeterFilter.ignoreTags("tier"));
    try (TieredCache<String, String> first = cache("merged-tiers", registry)) {
      first.get("k", k -> "v");
      first.get("k", k -> "v");
      first.get("k", k -> "v");
      assertThat(hits(registry)).as("L1 and L2 hits share one meter").isEqualTo(2.0);
    }
    assertThat(registry.find("cache.gets").meters()).as("removed with the last cache").isEmpty();
    try (TieredCache<String, String> successor = cache("merged-tiers", registry)) {
      assertThat(hits(registry)).as("a successor starts from zero").isEqualTo(0.0);
      successor.get("k", k -> "v");
      successor.get("k", k -> "v");
      assertThat(hits(registry)).isEqualTo(1.0);
    }
  }

  private static double hits(SimpleMeterRegistry registry) {
    Meter meter = registry.find("cache.gets").tag("result", "hit").meter();
    assertThat(meter).isNotNull();
    return meter instanceof FunctionCounter tally ? tally.count() : ((Counter) meter).count();
  }
}
