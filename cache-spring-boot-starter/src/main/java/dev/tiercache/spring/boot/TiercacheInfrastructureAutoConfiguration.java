package dev.tiercache.spring.boot;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tiercache.TieredCache;
import dev.tiercache.redis.RedisTier;
import dev.tiercache.redis.RedisTierOptions;
import dev.tiercache.spi.L2Store;
import io.lettuce.core.AbstractRedisClient;
import io.lettuce.core.RedisClient;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.resource.ClientResources;
import io.micrometer.core.instrument.MeterRegistry;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Conditional;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.env.Environment;

/**
 * What the cache manager and the query executor share: the {@code tiercache.*} properties, the Redis L2 on Spring
 * Boot's {@code spring.data.redis.*} settings, JSON codecs with Boot's {@link ObjectMapper}, and Boot's
 * {@link MeterRegistry}. Off with {@code tiercache.enabled=false}; no Redis with {@code tiercache.l2.enabled=false},
 * when the application defines its own {@link L2Store}, or when nothing would use it (no {@code @EnableCaching}, no
 * query executor). The client and the tier are closed with the context, after
 * the caches that use them.
 */
@AutoConfiguration(
    // Spring Boot 3's names, then Spring Boot 4's (its auto-configurations moved into modules).
    afterName = {
      "org.springframework.boot.autoconfigure.jackson.JacksonAutoConfiguration",
      "org.springframework.boot.autoconfigure.jdbc.DataSourceAutoConfiguration",
      "org.springframework.boot.actuate.autoconfigure.metrics.CompositeMeterRegistryAutoConfiguration",
      "org.springframework.boot.jackson.autoconfigure.JacksonAutoConfiguration",
      "org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration",
      "org.springframework.boot.micrometer.metrics.autoconfigure.CompositeMeterRegistryAutoConfiguration"
    })
@ConditionalOnClass(TieredCache.class)
@ConditionalOnProperty(prefix = "tiercache", name = "enabled", matchIfMissing = true)
@EnableConfigurationProperties(TiercacheProperties.class)
public class TiercacheInfrastructureAutoConfiguration {

  /** Creates the configuration; Spring Boot does. */
  public TiercacheInfrastructureAutoConfiguration() {}

  /** The Redis L2, on Spring Boot's Redis settings. */
  @Configuration(proxyBeanMethods = false)
  @ConditionalOnClass({RedisTier.class, RedisClient.class})
  @ConditionalOnProperty(prefix = "tiercache.l2", name = "enabled", matchIfMissing = true)
  @Conditional(UsedByCachingOrQueries.class)
  static class RedisL2Configuration {

    @Bean(destroyMethod = "shutdown")
    @ConditionalOnMissingBean(value = L2Store.class, name = "tiercacheRedisClient")
    AbstractRedisClient tiercacheRedisClient(Environment environment, ObjectProvider<ClientResources> resources) {
      return BootRedisClients.create(BootRedisSettings.of(environment), resources.getIfUnique());
    }

    @Bean(destroyMethod = "close")
    @ConditionalOnMissingBean(L2Store.class)
    RedisTier tiercacheRedisTier(
        @Qualifier("tiercacheRedisClient") AbstractRedisClient client, TiercacheProperties properties) {
      RedisTierOptions options = RedisTierOptions.builder().namespace(properties.getL2().getNamespace()).build();
      return client instanceof RedisClusterClient
          ? RedisTier.create((RedisClusterClient) client, options)
          : RedisTier.create((RedisClient) client, options);
    }
  }

  /** JSON codecs with Spring Boot's {@link ObjectMapper}, or a plain one. */
  @Configuration(proxyBeanMethods = false)
  @ConditionalOnClass(ObjectMapper.class)
  static class JacksonCodecConfiguration {

    @Bean
    @ConditionalOnMissingBean
    JsonCodecs tiercacheJsonCodecs(ObjectProvider<ObjectMapper> mapper) {
      return new JsonCodecs(mapper.getIfUnique(ObjectMapper::new));
    }
  }

  /** Every cache's meters in Spring Boot's {@link MeterRegistry}, when there is one. */
  @Configuration(proxyBeanMethods = false)
  @ConditionalOnClass(MeterRegistry.class)
  @ConditionalOnBean(MeterRegistry.class)
  static class MetricsConfiguration {

    @Bean
    @ConditionalOnMissingBean
    TiercacheMeters tiercacheMeters(MeterRegistry registry) {
      return new TiercacheMeters(registry);
    }
  }
}
