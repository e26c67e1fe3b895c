package dev.tiercache.spring.boot;

import dev.tiercache.spring.TiercacheCacheManager;
import io.lettuce.core.AbstractRedisClient;
import org.springframework.beans.factory.ListableBeanFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.boot.actuate.autoconfigure.health.ConditionalOnEnabledHealthIndicator;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.context.annotation.Bean;

/**
 * The {@code tiercache} Actuator health indicator ({@code management.health.tiercache.enabled}) on Spring Boot 3, when
 * Actuator is on the class path and the Tiercache cache manager is configured. With Micrometer, its details include
 * each cache's breaker state and pending invalidations. Spring Boot 4 gets {@link TiercacheBoot4HealthAutoConfiguration}
 * instead.
 */
@AutoConfiguration(
    after = TiercacheAutoConfiguration.class,
    afterName = "org.springframework.boot.actuate.autoconfigure.metrics.CompositeMeterRegistryAutoConfiguration")
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

  @Bean
  @ConditionalOnMissingBean(name = "tiercacheHealthIndicator")
  TiercacheHealthIndicator tiercacheHealthIndicator(
      TiercacheCacheManager manager,
      @Qualifier("tiercacheRedisClient") ObjectProvider<AbstractRedisClient> starterClient,
      ObjectProvider<AbstractRedisClient> clients,
      ListableBeanFactory beans) {
    return new TiercacheHealthIndicator(TiercacheHealthCheck.of(manager, starterClient, clients, beans));
  }
}
