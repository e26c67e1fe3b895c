package dev.tiercache.spring.boot4;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.tiercache.redis.testing.RedisExtension;
import dev.tiercache.spring.TiercacheCacheManager;
import dev.tiercache.spring.TiercacheEvictor;
import dev.tiercache.spring.boot4.Boot4App.Book;
import dev.tiercache.spring.boot4.Boot4App.BookService;
import dev.tiercache.spring.boot4.Boot4App.Books;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.boot.SpringBootVersion;
import org.springframework.boot.test.context.assertj.AssertableApplicationContext;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.cache.Cache;
import org.springframework.cache.CacheManager;
import org.springframework.core.SpringVersion;

/**
 * The cache-spring-boot-starter jar, built against Spring Boot 3.5, in Spring Boot 4.0 application contexts that find
 * it the way an application does ({@code @EnableAutoConfiguration} reading the starter's
 * {@code AutoConfiguration.imports}, beside Boot 4's own cache, Redis, Jackson, metrics and health modules), on real
 * Redis: two instances, as in the starter's own tests.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class Boot4StarterTest {

  @RegisterExtension static RedisExtension redis = RedisExtension.standalone();

  private static RedisClient admin;
  private static StatefulRedisConnection<String, String> inspect;

  @BeforeAll
  static void connect() {
    admin = RedisClient.create(redis.uri());
    inspect = admin.connect();
  }

  @AfterAll
  static void disconnect() {
    inspect.close();
    admin.shutdown();
  }

  @BeforeEach
  void clean() {
    redis.flushAll();
  }

  private static ApplicationContextRunner app() {
    return new ApplicationContextRunner()
        .withUserConfiguration(Boot4App.class)
        .withPropertyValues(
            "spring.data.redis.host=" + redis.host(),
            "spring.data.redis.port=" + redis.port(),
            "tiercache.caches.books.value-type=" + Book.class.getName(),
            "tiercache.caches.books.l2-ttl=90s",
            "tiercache.caches.books.negative-ttl=2s");
  }

  private static void twoInstances(BiConsumer<AssertableApplicationContext, AssertableApplicationContext> test) {
    app().run(a -> app().run(b -> {
      assertThat(a).hasNotFailed();
      assertThat(b).hasNotFailed();
      test.accept(a, b);
    }));
  }

  private static long pttl(String key) {
    return inspect.sync().pttl("tiercache:{books}:k:" + key);
  }

  @Test
  void itRunsOnBoot4AndSpring7() {
    assertThat(SpringBootVersion.getVersion()).startsWith("4.0.");
    assertThat(SpringVersion.getVersion()).startsWith("7.");
  }

  /**
   * One pair of instances for every check: each Boot 4 context with the whole auto-configuration takes a while to
   * start.
   */
  @Test
  void twoBoot4InstancesOnOneRedis() {
    twoInstances((a, b) -> {
      theStarterIsTheCacheManagerAndBootsOwnRedisCacheBacksOff(a);
      syncCacheableLoadsOncePerKeyAndTheOtherInstanceReadsRedis(a, b);
      anEvictionOnOneInstanceReachesTheOthersL1(a, b);
      aNullResultIsACachedNullForTheNegativeTtl(a, b);
      metersAreInBoots4Registry(a);
    });
  }

  private static void theStarterIsTheCacheManagerAndBootsOwnRedisCacheBacksOff(AssertableApplicationContext context) {
    assertThat(context).getBean(CacheManager.class).isInstanceOf(TiercacheCacheManager.class);
    assertThat(context).hasSingleBean(CacheManager.class).hasSingleBean(TiercacheEvictor.class);
    assertThat(context.getBeanNamesForType(RedisClient.class)).as("the starter's own Lettuce client").isNotEmpty();
    // Boot 4's health API (org.springframework.boot.health.contributor), not Boot 3's.
    assertThat(context).getBean("tiercacheHealthIndicator")
        .isInstanceOf(org.springframework.boot.health.contributor.HealthIndicator.class);
  }

  private static void syncCacheableLoadsOncePerKeyAndTheOtherInstanceReadsRedis(
      AssertableApplicationContext a, AssertableApplicationContext b) {
    Books books = a.getBean(Books.class);
    books.gate = new CountDownLatch(1);
    ExecutorService callers = Executors.newFixedThreadPool(16);
    try {
      List<CompletableFuture<Book>> found = new ArrayList<>();
      for (int i = 0; i < 16; i++) {
        found.add(CompletableFuture.supplyAsync(() -> a.getBean(BookService.class).find("b1"), callers));
      }
      await().atMost(Duration.ofSeconds(5)).until(() -> books.reads.get() == 1);
      books.gate.countDown();
      for (CompletableFuture<Book> one : found) {
        assertThat(one.get(10, TimeUnit.SECONDS)).isEqualTo(new Book("b1", "Title of b1"));
      }
    } catch (Exception e) {
      throw new AssertionError(e);
    } finally {
      callers.shutdownNow();
    }
    assertThat(books.reads).as("16 concurrent callers, one load").hasValue(1);
    assertThat(pttl("b1")).as("the property TTL in Redis")
        .isBetween(Duration.ofSeconds(80).toMillis(), Duration.ofSeconds(90).toMillis());
    assertThat(b.getBean(BookService.class).find("b1")).as("decoded from Redis by the JSON codec")
        .isEqualTo(new Book("b1", "Title of b1"));
    assertThat(b.getBean(Books.class).reads).hasValue(0);
  }

  private static void anEvictionOnOneInstanceReachesTheOthersL1(
      AssertableApplicationContext a, AssertableApplicationContext b) {
    a.getBean(BookService.class).find("b2");
    b.getBean(BookService.class).find("b2");
    Cache onB = b.getBean(CacheManager.class).getCache("books");
    assertThat(onB.get("b2")).isNotNull();
    a.getBean(BookService.class).evict("b2");
    await().atMost(Duration.ofSeconds(2)).until(() -> onB.get("b2") == null);
    assertThat(pttl("b2")).isEqualTo(-2L);
  }

  private static void aNullResultIsACachedNullForTheNegativeTtl(
      AssertableApplicationContext a, AssertableApplicationContext b) {
    int readsOnB = b.getBean(Books.class).reads.get();
    assertThat(a.getBean(BookService.class).find("none-1")).isNull();
    assertThat(pttl("none-1")).isPositive().isLessThanOrEqualTo(2_000);
    Cache.ValueWrapper onB = b.getBean(CacheManager.class).getCache("books").get("none-1");
    assertThat(onB).as("a cached null on the other instance").isNotNull();
    assertThat(onB.get()).isNull();
    assertThat(b.getBean(BookService.class).find("none-1")).isNull();
    assertThat(b.getBean(Books.class).reads).hasValue(readsOnB);
  }

  private static void metersAreInBoots4Registry(AssertableApplicationContext context) {
    MeterRegistry registry = context.getBean(MeterRegistry.class);
    assertThat(registry.find("cache.gets").tag("cache", "books").meters()).isNotEmpty();
    assertThat(registry.find("cache.loads").tag("cache", "books").meters()).isNotEmpty();
  }
}
