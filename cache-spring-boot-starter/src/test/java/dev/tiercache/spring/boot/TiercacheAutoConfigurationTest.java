package dev.tiercache.spring.boot;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tiercache.redis.RedisTier;
import dev.tiercache.redis.RedisTierOptions;
import dev.tiercache.redis.testing.RedisExtension;
import dev.tiercache.spi.L2Store;
import dev.tiercache.spring.TiercacheCache;
import dev.tiercache.spring.TiercacheCacheCustomizer;
import dev.tiercache.spring.TiercacheCacheManager;
import dev.tiercache.spring.TiercacheEvictor;
import io.lettuce.core.AbstractRedisClient;
import io.lettuce.core.RedisClient;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.boot.actuate.health.HealthIndicator;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.cache.CacheManager;
import org.springframework.cache.annotation.EnableCaching;
import org.springframework.cache.concurrent.ConcurrentMapCacheManager;
import org.springframework.cache.transaction.TransactionAwareCacheDecorator;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Primary;

/** Each condition of the auto-configuration, in contexts started the way Spring Boot starts them. */
class TiercacheAutoConfigurationTest {

  @RegisterExtension static RedisExtension redis = RedisExtension.standalone();

  private final ApplicationContextRunner runner = Contexts.onRedis(redis);

  @Configuration(proxyBeanMethods = false)
  @EnableCaching
  static class Caching {}

  @Configuration(proxyBeanMethods = false)
  static class NoCaching {}

  @Configuration(proxyBeanMethods = false)
  @EnableCaching
  static class OwnCacheManager {
    @Bean
    CacheManager myCacheManager() {
      return new ConcurrentMapCacheManager();
    }
  }

  @Configuration(proxyBeanMethods = false)
  @EnableCaching
  static class OwnL2 {
    @Bean(destroyMethod = "shutdown")
    RedisClient myClient() {
      RedisClient client = RedisClient.create(redis.uri());
      client.setOptions(RedisTier.recommendedClientOptions());
      return client;
    }

    @Bean(destroyMethod = "close")
    RedisTier myTier(RedisClient myClient) {
      return RedisTier.create(myClient);
    }
  }

  @Configuration(proxyBeanMethods = false)
  @EnableCaching
  static class Customized {
    @Bean
    TiercacheCacheCustomizer strict() {
      return (name, spec) -> {
        if (name.equals("strict")) {
          spec.allowNullValues(false);
        }
      };
    }
  }

  @Test
  void withEnableCachingEverythingIsConfigured() {
    runner.withUserConfiguration(Caching.class).run(context -> {
      assertThat(context).hasSingleBean(TiercacheCacheManager.class);
      assertThat(context.getBean(CacheManager.class)).isInstanceOf(TiercacheCacheManager.class);
      assertThat(context).hasSingleBean(RedisTier.class);
      assertThat(context).hasBean("tiercacheRedisClient");
      assertThat(context).hasSingleBean(TiercacheEvictor.class);
      assertThat(context).hasBean("tiercacheHealthIndicator");
      assertThat(context.getBean(CacheManager.class).getCache("x"))
          .as("transaction-aware by default")
          .isInstanceOf(TransactionAwareCacheDecorator.class);
    });
  }

  @Test
  void withoutEnableCachingItBacksOff() {
    runner.withUserConfiguration(NoCaching.class).run(context -> {
      assertThat(context).doesNotHaveBean(TiercacheCacheManager.class);
      assertThat(context).doesNotHaveBean(RedisTier.class);
      assertThat(context).doesNotHaveBean(AbstractRedisClient.class);
    });
  }

  @Test
  void anApplicationCacheManagerWins() {
    runner.withUserConfiguration(OwnCacheManager.class).run(context -> {
      assertThat(context).hasSingleBean(CacheManager.class);
      assertThat(context).doesNotHaveBean(TiercacheCacheManager.class);
      assertThat(context).doesNotHaveBean(TiercacheEvictor.class);
    });
  }

  @Test
  void tiercacheEnabledFalseTurnsItOff() {
    runner.withUserConfiguration(Caching.class).withPropertyValues("tiercache.enabled=false").run(context -> {
      assertThat(context).doesNotHaveBean(TiercacheCacheManager.class);
      assertThat(context.getBean(CacheManager.class)).isNotInstanceOf(TiercacheCacheManager.class);
    });
  }

  @Test
  void transactionAwareFalseLeavesCachesUndecorated() {
    runner.withUserConfiguration(Caching.class).withPropertyValues("tiercache.transaction-aware=false")
        .run(context -> assertThat(context.getBean(CacheManager.class).getCache("x"))
            .isInstanceOf(TiercacheCache.class));
  }

  @Test
  void l2EnabledFalseGivesL1OnlyCachesWithoutRedis() {
    new ApplicationContextRunner()
        .withConfiguration(Contexts.TIERCACHE)
        .withUserConfiguration(Caching.class)
        .withPropertyValues("tiercache.l2.enabled=false", "spring.data.redis.port=1")
        .run(context -> {
          assertThat(context).hasNotFailed();
          assertThat(context).doesNotHaveBean(RedisTier.class);
          assertThat(context).doesNotHaveBean(AbstractRedisClient.class);
          var cache = context.getBean(TiercacheCacheManager.class).getTiercache("local");
          cache.put("k", new Object());
          assertThat(cache.get("k")).isNotNull();
          assertThat(context.getBean("tiercacheHealthIndicator", HealthIndicator.class).health().getDetails()).containsEntry("l2", "none");
        });
  }

  @Test
  void anApplicationL2StoreIsUsedInstead() {
    runner.withUserConfiguration(OwnL2.class).run(context -> {
      assertThat(context).hasSingleBean(L2Store.class);
      assertThat(context).hasBean("myTier");
      assertThat(context).doesNotHaveBean("tiercacheRedisTier");
      assertThat(context).doesNotHaveBean("tiercacheRedisClient");
      TiercacheCache cache = context.getBean(TiercacheCacheManager.class).getTiercache("books");
      cache.put("k", "v");
      RedisTier mine = context.getBean(RedisTier.class);
      assertThat(mine.get("books", "k").join().entry()).as("written through the application's tier").isNotNull();
    });
  }

  @Configuration(proxyBeanMethods = false)
  @EnableCaching
  static class TwoL2OnePrimary {
    @Bean(destroyMethod = "shutdown")
    RedisClient myClient() {
      RedisClient client = RedisClient.create(redis.uri());
      client.setOptions(RedisTier.recommendedClientOptions());
      return client;
    }

    @Bean(destroyMethod = "close")
    @Primary
    RedisTier mainTier(RedisClient myClient) {
      return RedisTier.create(myClient, RedisTierOptions.builder().namespace("main").build());
    }

    @Bean(destroyMethod = "close")
    RedisTier otherTier(RedisClient myClient) {
      return RedisTier.create(myClient, RedisTierOptions.builder().namespace("other").build());
    }
  }

  @Test
  void ofSeveralApplicationL2StoresThePrimaryIsUsed() {
    runner.withUserConfiguration(TwoL2OnePrimary.class).run(context -> {
      assertThat(context).hasNotFailed();
      context.getBean(TiercacheCacheManager.class).getTiercache("books").put("k", "v");
      RedisTier main = context.getBean("mainTier", RedisTier.class);
      assertThat(main.get("books", "k").join().entry()).as("written through the primary tier").isNotNull();
    });
  }

  @Test
  void springCacheTypeChoosesTheManager() {
    runner.withUserConfiguration(Caching.class).withPropertyValues("spring.cache.type=tiercache").run(context ->
        assertThat(context.getBean(CacheManager.class)).isInstanceOf(TiercacheCacheManager.class));
    runner.withUserConfiguration(Caching.class).withPropertyValues("spring.cache.type=simple").run(context -> {
      assertThat(context.getBean(CacheManager.class)).isInstanceOf(ConcurrentMapCacheManager.class);
      assertThat(context).as("nothing uses Redis").doesNotHaveBean(AbstractRedisClient.class);
    });
  }

  @Test
  void customizersAndPropertiesShapeEachCache() {
    runner.withUserConfiguration(Customized.class)
        .withPropertyValues("tiercache.allow-null-values=true", "tiercache.cache-names=strict,books")
        .run(context -> {
          TiercacheCacheManager manager = context.getBean(TiercacheCacheManager.class);
          assertThat(manager.getCacheNames()).contains("strict", "books");
          assertThat(manager.getTiercache("strict").isAllowNullValues()).isFalse();
          assertThat(manager.getTiercache("books").isAllowNullValues()).isTrue();
        });
  }

  @Test
  void aCacheWithAnL2AndNoValueTypeFailsAtStartWithTheProperty() {
    new ApplicationContextRunner()
        .withConfiguration(Contexts.TIERCACHE)
        .withUserConfiguration(Caching.class)
        .withPropertyValues(
            "spring.data.redis.host=" + redis.host(), "spring.data.redis.port=" + redis.port(),
            "tiercache.cache-names=books")
        .run(context -> assertThat(context).getFailure().rootCause()
            .hasMessageContaining("tiercache.caches.books.value-type"));
  }

  @Test
  void jsonWithoutJacksonFailsAtStartWithAReason() {
    runner.withUserConfiguration(Caching.class)
        .withClassLoader(new FilteredClassLoader(ObjectMapper.class))
        .withPropertyValues("tiercache.cache-names=books", "tiercache.caches.books.value-type=java.lang.Integer")
        .run(context -> assertThat(context).getFailure().rootCause().hasMessageContaining("Jackson"));
  }

  @Test
  void healthIndicatorBacksOffWithoutActuatorOrWhenDisabled() {
    runner.withUserConfiguration(Caching.class)
        .withPropertyValues("management.health.tiercache.enabled=false")
        .run(context -> {
          assertThat(context).hasSingleBean(TiercacheCacheManager.class);
          assertThat(context).doesNotHaveBean("tiercacheHealthIndicator");
        });
    runner.withUserConfiguration(Caching.class)
        .withClassLoader(new FilteredClassLoader(HealthIndicator.class))
        .run(context -> {
          assertThat(context).hasSingleBean(TiercacheCacheManager.class);
          assertThat(context).doesNotHaveBean("tiercacheHealthIndicator");
        });
  }

  @Test
  void metersGoToBootsRegistry() {
    runner.withUserConfiguration(Caching.class).run(context -> {
      TiercacheCache cache = context.getBean(TiercacheCacheManager.class).getTiercache("books");
      cache.put("k", "v");
      cache.get("k");
      MeterRegistry registry = context.getBean(MeterRegistry.class);
      // A hit in either tier: the L1 is served only once the first heartbeat has proven the bus.
      assertThat(registry.find("cache.gets").tag("cache", "books").tag("result", "hit").functionCounters())
          .isNotEmpty()
          .satisfies(hits -> assertThat(hits.stream().mapToDouble(c -> c.count()).sum()).isGreaterThanOrEqualTo(1));
      assertThat(registry.find("cache.l2.circuit").tag("cache", "books").gauge()).isNotNull();
    });
  }

  @Test
  void configurationMetadataIsGenerated() throws Exception {
    String json = "";
    for (java.net.URL url :
        java.util.Collections.list(
            getClass().getClassLoader().getResources("META-INF/spring-configuration-metadata.json"))) {
      try (InputStream in = url.openStream()) {
        String one = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        json = one.contains("\"tiercache.enabled\"") ? one : json;
      }
    }
    {
      assertThat(json)
          .contains("\"tiercache.transaction-aware\"", "\"tiercache.caches\"", "\"tiercache.defaults.l2-ttl\"",
              "\"tiercache.defaults.value-type\"", "\"tiercache.l2.namespace\"");
    }
  }
}
