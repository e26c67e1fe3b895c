package dev.tiercache.spring.boot;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Function;
import org.springframework.beans.factory.ListableBeanFactory;

/** Reads a cache's L2 breaker and pending-invalidation gauges back from the meter registry, for health details. */
final class CacheGauges implements Function<String, Map<String, Object>> {

  private static final String[] CIRCUIT_STATES = {"closed", "half-open", "open"};

  private final MeterRegistry registry;

  CacheGauges(MeterRegistry registry) {
    this.registry = registry;
  }

  /** The gauges of the context's meter registry, or null if it has none (or several). */
  static CacheGauges of(ListableBeanFactory beans) {
    MeterRegistry registry = beans.getBeanProvider(MeterRegistry.class).getIfUnique();
    return registry == null ? null : new CacheGauges(registry);
  }

  @Override
  public Map<String, Object> apply(String cacheName) {
    Map<String, Object> details = new LinkedHashMap<>();
    Gauge circuit = registry.find("cache.l2.circuit").tag("cache", cacheName).gauge();
    if (circuit != null) {
      int state = (int) circuit.value();
      details.put("l2Circuit", state >= 0 && state < CIRCUIT_STATES.length ? CIRCUIT_STATES[state] : "unknown");
    }
    Gauge pending = registry.find("cache.l2.pending").tag("cache", cacheName).gauge();
    if (pending != null) {
      details.put("pendingInvalidations", (long) pending.value());
    }
    return details;
  }
}
