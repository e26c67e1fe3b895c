package dev.tiercache.spring.boot;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tiercache.codec.ValueCodec;
import dev.tiercache.codec.ValueCodecs;
import dev.tiercache.redis.RedisTier;
import dev.tiercache.redis.RedisTierOptions;
import dev.tiercache.redis.testing.RedisExtension;
import io.lettuce.core.AbstractRedisClient;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import java.io.InputStream;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.springframework.cache.CacheManager;
import org.springframework.cache.annotation.EnableCaching;
import org.springframework.cache.concurrent.ConcurrentMapCacheManager;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** Review (s14): the starter's back-offs, property checks, customizer order and metadata, on real Redis. */
class TiercacheAutoConfigurationReviewTest {

  @RegisterExtension static RedisExtension redis = RedisExtension.standalone();

  private static RedisClient admin;
  private static StatefulRedisConnection<String, String> adminConnection;

  @BeforeAll
  static void connect() {
    admin = RedisClient.create(redis.uri());
    adminConnection = admin.connect();
  }

  @AfterAll
  static void disconnect() {
    adminConnection.close();
    admin.shutdown();
  }

  private static long clients() {
    return adminConnection.sync().clientList().lines().filter(line -> !line.isBlank()).count();
  }

  @Configuration(proxyBeanMethods = false)
  @EnableCaching
  static class Caching {}

  @Configuration(proxyBeanMethods = false)
  @EnableCaching
  static class OwnCacheManager {
    @Bean
    CacheManager myCacheManager() {
      return new ConcurrentMapCacheManager();
    }
  }

  /**
   * Breaks: README properties table, {@code tiercache.enabled}: "auto-configure Tiercache (it also backs off when the
   * application declares a {@code CacheManager})", and {@code UsedByCachingOrQueries}: "Otherwise the starter opens no
   * Redis connection".
   *
   * <p>How: an {@code @EnableCaching} application with its own {@code CacheManager} (and no query executor) gets no
   * Tiercache manager, as it should, but still gets the starter's Lettuce client and {@code RedisTier}, and the tier
   * connects to Redis (its bus subscribes): the condition only asks whether caching is on, not whether the Tiercache
   * manager exists. Nothing uses that tier: the application keeps a Redis connection, a bus subscription and its
   * heartbeats that it never asked for (and, with Redis at another address or none, a client aimed at localhost).
   */
  @Test
  void anApplicationCacheManagerLeavesRedisAlone() {
    long before = clients();
    Contexts.onRedis(redis).withUserConfiguration(OwnCacheManager.class).run(context -> {
      assertThat(context).hasNotFailed();
      assertThat(context.getBean(CacheManager.class)).isInstanceOf(ConcurrentMapCacheManager.class);
      long during = clients();
      assertThat(context.getBeanNamesForType(RedisTier.class)).as("RedisTier beans").isEmpty();
      assertThat(context.getBeanNamesForType(AbstractRedisClient.class)).as("Redis client beans").isEmpty();
      assertThat(during).as("Redis connections opened by a context whose caches are not Tiercache's")
          .isEqualTo(before);
    });
  }

  /**
   * Breaks: the task's requirement on property validation, and the starter's own convention (a missing value type
   * fails with "set tiercache.caches.books.value-type", see {@code TiercacheAutoConfigurationTest}): a bad
   * {@code tiercache.*} value must fail start-up with a message that names the property.
   *
   * <p>How: each bad value reaches the core builder as is and fails there with the builder's own words, naming
   * neither the property nor the cache ("maximumSize must not be negative, was -1", "ttlJitter must be in [0, 1)").
   * Worst, {@code l2-ttl=-1s} fails with "negativeTtl must be positive, was PT-1S": it blames a setting the user did
   * not set (the l2-ttl is the negative TTL's default), sending them to the wrong property.
   */
  @ParameterizedTest
  @ValueSource(
      strings = {
        "l2-ttl=-1s",
        "l1-maximum-size=-1",
        "ttl-jitter=1.5",
        "l2-timeout=0s",
        "max-staleness=-1s",
        "negative-ttl=-5s",
        "l1-expire-after-write=-1s"
      })
  void aBadCacheSettingFailsStartUpNamingItsProperty(String setting) {
    String property = "tiercache.caches.books." + setting.substring(0, setting.indexOf('='));
    Contexts.onRedis(redis).withUserConfiguration(Caching.class)
        .withPropertyValues("tiercache.caches.books." + setting)
        .run(context -> {
          assertThat(context).hasFailed();
          List<String> messages = new ArrayList<>();
          for (Throwable t = context.getStartupFailure(); t != null; t = t.getCause()) {
            messages.add(t.getMessage());
          }
          assertThat(String.join(" | ", messages)).as("the start-up failure").contains(property);
        });
  }

  static final AtomicInteger CUSTOM_ENCODES = new AtomicInteger();

  @Configuration(proxyBeanMethods = false)
  @EnableCaching
  static class CodecInBuilderCustomizer {
    @Bean
    TiercacheCacheManagerBuilderCustomizer countsAreStrings() {
      ValueCodec<String> strings = ValueCodecs.string();
      return builder -> builder.cache("counts", spec -> spec.valueCodec(new ValueCodec<String>() {
        @Override
        public String id() {
          return "string";
        }

        @Override
        public byte[] encode(String value) {
          CUSTOM_ENCODES.incrementAndGet();
          return strings.encode(value);
        }

        @Override
        public String decode(byte[] bytes) {
          return strings.decode(bytes);
        }
      }));
    }
  }

  /**
   * Breaks: {@code TiercacheCacheManagerBuilderCustomizer} "Changes the auto-configured builder after the
   * {@code tiercache.*} properties were applied" (so what it sets wins over them), and README "a cache's own
   * [settings] win over the defaults".
   *
   * <p>How: with {@code tiercache.defaults.value-type=java.lang.Integer} (a default for every cache) and a builder
   * customizer that gives the cache {@code counts} its own String codec, the cache gets the JSON codec of Integer:
   * the properties' codec is applied by a {@code TiercacheCacheCustomizer} the starter registers, and customizers run
   * after every per-cache setting of the builder. The customizer's codec is never called and {@code put("k", "v")}
   * fails with "cannot write java.lang.Integer as JSON".
   */
  @Test
  void aValueCodecSetByABuilderCustomizerWinsOverTheDefaultValueType() {
    CUSTOM_ENCODES.set(0);
    Contexts.onRedis(redis).withUserConfiguration(CodecInBuilderCustomizer.class)
        .withPropertyValues("tiercache.defaults.value-type=java.lang.Integer")
        .run(context -> {
          assertThat(context).hasNotFailed();
          try {
            context.getBean(CacheManager.class).getCache("counts").put("k", "v");
          } catch (RuntimeException e) {
            throw new AssertionError("the cache 'counts' does not use the customizer's String codec: " + e, e);
          }
          assertThat(CUSTOM_ENCODES).as("encodings by the customizer's codec").hasValue(1);
          assertThat(context.getBean(CacheManager.class).getCache("counts").get("k").get()).isEqualTo("v");
        });
  }

  private static String metadata() throws Exception {
    String json = "";
    for (URL url : Collections.list(
        TiercacheAutoConfigurationReviewTest.class.getClassLoader()
            .getResources("META-INF/spring-configuration-metadata.json"))) {
      try (InputStream in = url.openStream()) {
        String one = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        json = one.contains("\"tiercache.enabled\"") ? one : json;
      }
    }
    String additional = "";
    for (URL url : Collections.list(
        TiercacheAutoConfigurationReviewTest.class.getClassLoader()
            .getResources("META-INF/additional-spring-configuration-metadata.json"))) {
      try (InputStream in = url.openStream()) {
        String one = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        additional += one.contains("tiercache") ? one : "";
      }
    }
    return json + additional;
  }

  /**
   * Breaks: README "Properties (tiercache.*; IDEs complete them from the generated metadata)", whose table lists
   * {@code management.health.tiercache.enabled}.
   *
   * <p>How: the starter's metadata (generated, with no additional-spring-configuration-metadata.json) has no entry for
   * it: Boot's actuator metadata names only Boot's own indicators, so the IDE flags the documented property as
   * unknown.
   */
  @Test
  void theHealthIndicatorSwitchIsInTheMetadata() throws Exception {
    assertThat(metadata()).contains("\"management.health.tiercache.enabled\"");
  }

  /**
   * Breaks (minor): the same README claim, for the documented defaults: the metadata has no {@code defaultValue} for
   * {@code l1-maximum-size} (10000), {@code l2-ttl} (30m), {@code l2-timeout} (250ms), {@code max-staleness} (1s),
   * {@code ttl-jitter} (0) or {@code tiercache.query.max-cached-rows} (10000), because the fields are null and the
   * defaults live in the core; the IDE shows none of them.
   */
  @Test
  void theDocumentedDefaultsAreInTheMetadata() throws Exception {
    String json = metadata().replaceAll("\\s", "");
    for (String property :
        List.of("tiercache.defaults.l1-maximum-size", "tiercache.defaults.l2-ttl", "tiercache.defaults.l2-timeout",
            "tiercache.defaults.max-staleness", "tiercache.query.max-cached-rows")) {
      int at = json.indexOf("\"name\":\"" + property + "\"");
      assertThat(at).as(property).isNotNegative();
      int end = json.indexOf('}', at);
      assertThat(json.substring(at, end)).as("metadata of " + property).contains("\"defaultValue\"");
    }
  }

  /**
   * Breaks: README properties table, {@code max-staleness} default {@code 1s} (and
   * {@code TieredCacheBuilder.DEFAULT_MAX_STALENESS}, the default in force): the metadata an IDE shows says otherwise.
   *
   * <p>How: the description of {@code tiercache.defaults.max-staleness} (from {@code TiercacheCacheProperties}'s
   * javadoc) reads "the staleness bound (default 2s)", and there is no {@code defaultValue}.
   */
  @Test
  void theMetadataStatesTheMaxStalenessDefaultInForce() throws Exception {
    String json = metadata().replaceAll("\\s+", " ");
    String property = "\"tiercache.defaults.max-staleness\"";
    int at = json.indexOf("\"name\": " + property);
    assertThat(at).as(property).isNotNegative();
    int start = json.lastIndexOf('{', at);
    String entry = json.substring(start, json.indexOf('}', at) + 1);
    assertThat(dev.tiercache.TieredCacheBuilder.DEFAULT_MAX_STALENESS).isEqualTo(java.time.Duration.ofSeconds(1));
    assertThat(entry).as("the metadata of " + property).doesNotContain("default 2s").containsPattern(
        "default 1s|\"defaultValue\": \"1s\"");
  }

  /** An application with two L2 stores of its own (two namespaces, or two Redis), neither {@code @Primary}. */
  @Configuration(proxyBeanMethods = false)
  @EnableCaching
  static class TwoL2Stores {
    @Bean(destroyMethod = "shutdown")
    RedisClient appClient() {
      RedisClient client = RedisClient.create(redis.uri());
      client.setOptions(RedisTier.recommendedClientOptions());
      return client;
    }

    @Bean(destroyMethod = "close")
    RedisTier ordersTier(RedisClient appClient) {
      return RedisTier.create(appClient, RedisTierOptions.builder().namespace("orders").build());
    }

    @Bean(destroyMethod = "close")
    RedisTier sessionsTier(RedisClient appClient) {
      return RedisTier.create(appClient, RedisTierOptions.builder().namespace("sessions").build());
    }
  }

  /**
   * Breaks: README properties table, {@code tiercache.l2.enabled} {@code true}: "use Redis"; {@code false} is the only
   * documented way to L1-only caches, which serve "one instance". An ambiguous L2 must not turn into no L2 silently.
   *
   * <p>How: the application declares two {@code L2Store} beans, neither primary. The starter's own tier backs off
   * ({@code @ConditionalOnMissingBean(L2Store.class)}) and the manager takes {@code ObjectProvider<L2Store>.getIfUnique()},
   * which is null for two candidates: every cache is built L1-only, without a bus, and serves its L1 (status
   * {@code l2Circuit=none}); the context starts and the health indicator says UP, "redis: reachable". Several
   * instances then never see each other's evictions. Spring's convention for an ambiguous dependency is to fail.
   */
  @Test
  void twoApplicationL2StoresDoNotSilentlyMakeTheCachesL1Only() {
    Contexts.onRedis(redis).withUserConfiguration(TwoL2Stores.class).run(context -> {
      if (context.getStartupFailure() != null) {
        return; // failing fast on the ambiguity is a fix
      }
      dev.tiercache.CacheStatus status =
          context.getBean(dev.tiercache.spring.TiercacheCacheManager.class).getTiercache("orders").getNativeCache()
              .status();
      assertThat(status.l2Circuit())
          .as("the cache 'orders' has an L2 (status %s), or the context refused to start", status)
          .isNotEqualTo("none");
    });
  }

  /**
   * Breaks: Spring Boot's {@code spring.cache.type} contract ("Cache type. By default, auto-detected according to the
   * environment"; {@code none} disables caching, the usual switch in tests), which every cache provider Boot
   * auto-configures honours, and the brief's "user configuration must win".
   *
   * <p>How: {@code TiercacheAutoConfiguration} runs before Boot's {@code CacheAutoConfiguration} and has no
   * {@code CacheCondition}-like check, so with {@code spring.cache.type=none} the application still gets the
   * Tiercache manager (and its Redis connection) instead of Boot's {@code NoOpCacheManager}; {@code simple},
   * {@code caffeine}, {@code redis} are ignored alike. Only {@code tiercache.enabled=false} turns it off.
   */
  @Test
  void springCacheTypeNoneIsHonoured() {
    Contexts.onRedis(redis).withUserConfiguration(Caching.class).withPropertyValues("spring.cache.type=none")
        .run(context -> {
          assertThat(context).hasNotFailed();
          assertThat(context.getBean(CacheManager.class))
              .isInstanceOf(org.springframework.cache.support.NoOpCacheManager.class);
        });
  }

  /**
   * Breaks: {@code TiercacheProperties.Query#cacheName} javadoc (the metadata description of
   * {@code tiercache.query.cache-name}): "its L1 size, L1 expiry and L2 TTL are set like any cache's, under
   * tiercache.caches.&lt;name&gt; and tiercache.defaults".
   *
   * <p>How: {@code TiercacheQueryAutoConfiguration} reads only {@code l1-maximum-size}, {@code l1-expire-after-write}
   * and {@code l2-ttl} for the query cache; {@code tiercache.caches.queries.l1-expire-after-access=300ms} is bound and
   * silently ignored, so an idle query result stays in the L1 for good. (So are {@code max-staleness},
   * {@code l2-timeout}, {@code ttl-jitter} and {@code negative-ttl}, set for every cache under
   * {@code tiercache.defaults}; those are not observable from outside, this one is.) L1-only here
   * ({@code tiercache.l2.enabled=false}) so that only the L1 can answer.
   */
  @Test
  void theQueryCacheHonoursItsL1ExpireAfterAccess() {
    new org.springframework.boot.test.context.runner.ApplicationContextRunner()
        .withConfiguration(Contexts.TIERCACHE)
        .withConfiguration(Contexts.JDBC)
        .withPropertyValues(
            "spring.datasource.url=jdbc:h2:mem:review-queries;DB_CLOSE_DELAY=-1",
            "spring.datasource.generate-unique-name=false",
            "tiercache.l2.enabled=false",
            "tiercache.caches.queries.l1-expire-after-access=300ms")
        .run(context -> {
          assertThat(context).hasNotFailed();
          @SuppressWarnings("unchecked")
          dev.tiercache.TieredCache<String, dev.tiercache.query.QueryResult> queries =
              context.getBean("tiercacheQueryCache", dev.tiercache.TieredCache.class);
          queries.put("q", new dev.tiercache.query.QueryResult(List.of(), Long.MAX_VALUE));
          assertThat(queries.getIfPresent("q")).isNotNull();
          // Polled less often than the idle time, so that the polls do not keep the entry alive.
          try {
            org.awaitility.Awaitility.await()
                .pollDelay(java.time.Duration.ofMillis(700))
                .pollInterval(java.time.Duration.ofMillis(700))
                .atMost(java.time.Duration.ofSeconds(4))
                .until(() -> queries.getIfPresent("q") == null);
          } catch (org.awaitility.core.ConditionTimeoutException e) {
            throw new AssertionError(
                "a query result idle for 700 ms is still served with l1-expire-after-access=300ms", e);
          }
        });
  }
}
