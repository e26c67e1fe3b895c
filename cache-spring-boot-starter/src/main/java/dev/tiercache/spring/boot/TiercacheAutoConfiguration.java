package dev.tiercache.spring.boot;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tiercache.TieredCache;
import dev.tiercache.redis.RedisTier;
import dev.tiercache.redis.RedisTierOptions;
import dev.tiercache.spi.L2Store;
import dev.tiercache.spring.TiercacheCacheCustomizer;
import dev.tiercache.spring.TiercacheCacheManager;
import dev.tiercache.spring.TiercacheCacheManagerBuilder;
import dev.tiercache.spring.TiercacheEvictor;
import io.lettuce.core.AbstractRedisClient;
import io.lettuce.core.RedisClient;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.resource.ClientResources;
import io.micrometer.core.instrument.MeterRegistry;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.cache.CacheAutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.autoconfigure.data.redis.RedisProperties;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.cache.CacheManager;
import org.springframework.cache.interceptor.CacheAspectSupport;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * Auto-configures a {@link TiercacheCacheManager} for {@code @EnableCaching} applications: one {@link TieredCache}
 * per cache name, on a {@link RedisTier} connected with Spring Boot's {@code spring.data.redis.*} settings, set up by
 * {@code tiercache.*} properties, {@link TiercacheCacheCustomizer} and {@link TiercacheCacheManagerBuilderCustomizer}
 * beans, with meters in Boot's {@link MeterRegistry}. Also declares a {@link TiercacheEvictor}.
 *
 * <p>Backs off entirely when the application defines its own {@link CacheManager} (to change the auto-configured
 * one, declare a {@link TiercacheCacheManagerBuilderCustomizer} instead) or sets {@code tiercache.enabled=false};
 * backs off from Redis when {@code tiercache.l2.enabled=false} or the application defines its own {@link L2Store}. Runs before Boot's own
 * cache auto-configuration, which then backs off. Every bean it creates is closed with the context: the caches, then
 * the tier, then the client.
 */
@AutoConfiguration(
    before = CacheAutoConfiguration.class,
    afterName = {
      "org.springframework.boot.autoconfigure.jackson.JacksonAutoConfiguration",
      "org.springframework.boot.actuate.autoconfigure.metrics.CompositeMeterRegistryAutoConfiguration"
    })
@ConditionalOnClass({TieredCache.class, TiercacheCacheManager.class, CacheManager.class})
@ConditionalOnBean(CacheAspectSupport.class)
@ConditionalOnMissingBean(CacheManager.class)
@ConditionalOnProperty(prefix = "tiercache", name = "enabled", matchIfMissing = true)
@EnableConfigurationProperties({TiercacheProperties.class, RedisProperties.class})
public class TiercacheAutoConfiguration {

  /** Creates the configuration; Spring Boot does. */
  public TiercacheAutoConfiguration() {}

  /**
   * The auto-configured cache manager.
   *
   * @param properties the tiercache.* properties
   * @param l2 the L2 store, if any
   * @param json the JSON codec factory, if Jackson is present
   * @param customizers per-cache customizers
   * @param builderCustomizers manager builder customizers
   * @return the manager; closed with the context
   */
  @Bean
  public TiercacheCacheManager cacheManager(
      TiercacheProperties properties,
      ObjectProvider<L2Store> l2,
      ObjectProvider<JsonCodecs> json,
      ObjectProvider<TiercacheCacheCustomizer> customizers,
      ObjectProvider<TiercacheCacheManagerBuilderCustomizer> builderCustomizers) {
    TiercacheCacheManagerBuilder builder = TiercacheCacheManager.builder(l2.getIfUnique());
    new PropertiesSpecs(properties, json.getIfAvailable()).configure(builder);
    customizers.orderedStream().forEach(builder::customizer);
    builderCustomizers.orderedStream().forEach(c -> c.customize(builder));
    return builder.build();
  }

  /**
   * Tag and prefix eviction for application code.
   *
   * @param manager the cache manager
   * @return the evictor
   */
  @Bean
  @ConditionalOnMissingBean
  public TiercacheEvictor tiercacheEvictor(TiercacheCacheManager manager) {
    return new TiercacheEvictor(manager);
  }

  /** The Redis L2, on Spring Boot's Redis settings. */
  @Configuration(proxyBeanMethods = false)
  @ConditionalOnClass({RedisTier.class, RedisClient.class})
  @ConditionalOnProperty(prefix = "tiercache.l2", name = "enabled", matchIfMissing = true)
  static class RedisL2Configuration {

    @Bean(destroyMethod = "shutdown")
    @ConditionalOnMissingBean(value = L2Store.class, name = "tiercacheRedisClient")
    AbstractRedisClient tiercacheRedisClient(RedisProperties redis, ObjectProvider<ClientResources> resources) {
      return BootRedisClients.create(redis, resources.getIfUnique());
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
  static class MetricsConfiguration {

    @Bean
    TiercacheCacheManagerBuilderCustomizer tiercacheMeters(ObjectProvider<MeterRegistry> registry) {
      return builder -> {
        MeterRegistry meters = registry.getIfUnique();
        if (meters != null) {
          builder.meterRegistry(meters);
        }
      };
    }
  }
}
