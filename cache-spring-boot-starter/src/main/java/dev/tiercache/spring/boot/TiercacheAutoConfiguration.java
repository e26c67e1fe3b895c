package dev.tiercache.spring.boot;

import dev.tiercache.TieredCache;
import dev.tiercache.redis.RedisTier;
import dev.tiercache.spi.L2Store;
import dev.tiercache.spring.TiercacheCacheCustomizer;
import dev.tiercache.spring.TiercacheCacheManager;
import dev.tiercache.spring.TiercacheCacheManagerBuilder;
import dev.tiercache.spring.TiercacheEvictor;
import io.micrometer.core.instrument.MeterRegistry;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.cache.CacheManager;
import org.springframework.cache.interceptor.CacheAspectSupport;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Conditional;

/**
 * Auto-configures a {@link TiercacheCacheManager} for {@code @EnableCaching} applications: one {@link TieredCache}
 * per cache name, on a {@link RedisTier} connected with Spring Boot's {@code spring.data.redis.*} settings, set up by
 * {@code tiercache.*} properties, {@link TiercacheCacheCustomizer} and {@link TiercacheCacheManagerBuilderCustomizer}
 * beans, with meters in Boot's {@link MeterRegistry}. Also declares a {@link TiercacheEvictor}.
 *
 * <p>Backs off entirely when the application defines its own {@link CacheManager} (to change the auto-configured
 * one, declare a {@link TiercacheCacheManagerBuilderCustomizer} instead), sets {@code tiercache.enabled=false}, or
 * sets {@code spring.cache.type} to anything but {@code tiercache} (Boot's own cache auto-configuration then
 * configures that type, {@code none} included); the L2 is {@link TiercacheInfrastructureAutoConfiguration}'s, and
 * the manager fails to start if there are several {@link L2Store} beans and none is {@code @Primary}. Runs before
 * Boot's own cache auto-configuration, which then backs off. The manager closes its caches with the context, before
 * the L2 they use is closed.
 */
@AutoConfiguration(
    // Boot's cache auto-configuration: Spring Boot 3's name, then Spring Boot 4's.
    beforeName = {
      "org.springframework.boot.autoconfigure.cache.CacheAutoConfiguration",
      "org.springframework.boot.cache.autoconfigure.CacheAutoConfiguration"
    },
    after = TiercacheInfrastructureAutoConfiguration.class)
@ConditionalOnClass({TieredCache.class, TiercacheCacheManager.class, CacheManager.class})
@ConditionalOnBean(CacheAspectSupport.class)
@ConditionalOnMissingBean(CacheManager.class)
@ConditionalOnProperty(prefix = "tiercache", name = "enabled", matchIfMissing = true)
@Conditional(TiercacheCacheTypeCondition.class)
public class TiercacheAutoConfiguration {

  /** Creates the configuration; Spring Boot does. */
  public TiercacheAutoConfiguration() {}

  /**
   * The auto-configured cache manager.
   *
   * @param properties the tiercache.* properties
   * @param l2 the L2 store, if any; the {@code @Primary} one if there are several
   * @param json the JSON codec factory, if Jackson is present
   * @param meters Spring Boot's meter registry, if there is one
   * @param customizers per-cache customizers
   * @param builderCustomizers manager builder customizers
   * @return the manager; closed with the context
   * @throws IllegalStateException if there are several L2 stores and none is primary, or a cache's properties
   *     contradict each other
   */
  @Bean
  public TiercacheCacheManager cacheManager(
      TiercacheProperties properties,
      ObjectProvider<L2Store> l2,
      ObjectProvider<JsonCodecs> json,
      ObjectProvider<TiercacheMeters> meters,
      ObjectProvider<TiercacheCacheCustomizer> customizers,
      ObjectProvider<TiercacheCacheManagerBuilderCustomizer> builderCustomizers) {
    TiercacheCacheManagerBuilder builder =
        TiercacheCacheManager.builder(SharedL2.of(l2, "the Tiercache cache manager"));
    new PropertiesSpecs(properties, json.getIfAvailable()).configure(builder);
    meters.ifAvailable(m -> m.bind(builder));
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
}
