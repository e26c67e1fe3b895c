package dev.tiercache.spring.boot;

import dev.tiercache.spring.TiercacheCacheManager;
import io.lettuce.core.AbstractRedisClient;
import org.springframework.beans.factory.ListableBeanFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.health.autoconfigure.contributor.ConditionalOnEnabledHealthIndicator;
import org.springframework.context.annotation.Bean;

/**
 * The {@code tiercache} health indicator ({@code management.health.tiercache.enabled}) on Spring Boot 4, whose health
 * API is its own module ({@code spring-boot-health}, package {@code org.springframework.boot.health}); the same
 * report as {@link TiercacheHealthAutoConfiguration}'s on Spring Boot 3. Off wherever that module is missing, so on
 * every Spring Boot 3 application.
 */
@AutoConfiguration(
    after = TiercacheAutoConfiguration.class,
    afterName = "org.springframework.boot.micrometer.metrics.autoconfigure.CompositeMeterRegistryAutoConfiguration")
@ConditionalOnClass(
    name = {
      "org.springframework.boot.health.contributor.HealthIndicator",
      "org.springframework.boot.health.autoconfigure.contributor.ConditionalOnEnabledHealthIndicator"
    })
@ConditionalOnBean(TiercacheCacheManager.class)
@ConditionalOnEnabledHealthIndicator("tiercache")
public class TiercacheBoot4HealthAutoConfiguration {

  /** Creates the configuration; Spring Boot does. */
  public TiercacheBoot4HealthAutoConfiguration() {}

  @Bean
  @ConditionalOnMissingBean(name = "tiercacheHealthIndicator")
  TiercacheBoot4HealthIndicator tiercacheHealthIndicator(
      TiercacheCacheManager manager,
      @Qualifier("tiercacheRedisClient") ObjectProvider<AbstractRedisClient> starterClient,
      ObjectProvider<AbstractRedisClient> clients,
      ListableBeanFactory beans) {
    return new TiercacheBoot4HealthIndicator(TiercacheHealthCheck.of(manager, starterClient, clients, beans));
  }
}
