package dev.tiercache.spring.boot;

import dev.tiercache.TieredCacheBuilder;
import dev.tiercache.spring.TiercacheCacheManagerBuilder;
import io.micrometer.core.instrument.MeterRegistry;

/** Spring Boot's {@link MeterRegistry}, handed to whatever the starter builds. Exists only with Micrometer. */
final class TiercacheMeters {

  private final MeterRegistry registry;

  TiercacheMeters(MeterRegistry registry) {
    this.registry = registry;
  }

  void bind(TiercacheCacheManagerBuilder builder) {
    builder.meterRegistry(registry);
  }

  void bind(TieredCacheBuilder<?, ?> builder) {
    builder.meterRegistry(registry);
  }

  MeterRegistry registry() {
    return registry;
  }
}
