package dev.tiercache.spring.boot;

import dev.tiercache.spring.TiercacheCacheManager;
import io.lettuce.core.AbstractRedisClient;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Map;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.actuate.autoconfigure.health.ConditionalOnEnabledHealthIndicator;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingClass;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * The {@code tiercache} Actuator health indicator ({@code management.health.tiercache.enabled}), when Actuator is on
 * the class path and the Tiercache cache manager is configured. With Micrometer, its details include each cache's
 * breaker state and pending invalidations.
 */
@AutoConfiguration(
    after = TiercacheAutoConfiguration.class,
    afterName = {
      "org.springframework.boot.actuate.autoconfigure.metrics.CompositeMeterRegistryAutoConfiguration",
      "org.springframework.boot.micrometer.metrics.autoconfigure.CompositeMeterRegistryAutoConfiguration"
    })
@ConditionalOnClass(
    name = {
      "org.springframework.boot.actuate.health.HealthIndicator",
      "org.springframework.boot.actuate.autoconfigure.health.ConditionalOnEnabledHealthIndicator"
    })
@ConditionalOnBean(TiercacheCacheManager.class)
@ConditionalOnEnabledHealthIndicator("tiercache")
public class TiercacheHealthAutoConfiguration {

  /** Creates the configuration; Spring Boot does. */
  public TiercacheHealthAutoConfiguration() {}

  private static RedisPing ping(ObjectProvider<AbstractRedisClient> client) {
    AbstractRedisClient redis = client.getIfUnique();
    return redis == null ? null : new RedisPing(redis);
  }

  /** With Micrometer: breaker and pending details from the cache meters. */
  @Configuration(proxyBeanMethods = false)
  @ConditionalOnClass(MeterRegistry.class)
  static class WithMeters {

    @Bean
    @ConditionalOnMissingBean(name = "tiercacheHealthIndicator")
    TiercacheHealthIndicator tiercacheHealthIndicator(
        TiercacheCacheManager manager,
        ObjectProvider<AbstractRedisClient> client,
        ObjectProvider<MeterRegistry> registry) {
      MeterRegistry meters = registry.getIfUnique();
      return new TiercacheHealthIndicator(
          manager, ping(client), meters == null ? name -> Map.of() : new CacheGauges(meters));
    }
  }

  /** Without Micrometer: Redis reachability only. */
  @Configuration(proxyBeanMethods = false)
  @ConditionalOnMissingClass("io.micrometer.core.instrument.MeterRegistry")
  static class WithoutMeters {

    @Bean
    @ConditionalOnMissingBean(name = "tiercacheHealthIndicator")
    TiercacheHealthIndicator tiercacheHealthIndicator(
        TiercacheCacheManager manager, ObjectProvider<AbstractRedisClient> client) {
      return new TiercacheHealthIndicator(manager, ping(client), name -> Map.of());
    }
  }
}
