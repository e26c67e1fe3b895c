package dev.tiercache.spring.boot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.tiercache.redis.testing.RedisExtension;
import dev.tiercache.spring.TiercacheCacheManager;
import dev.tiercache.spring.boot.BookApp.Book;
import dev.tiercache.spring.boot.BookApp.BookRepository;
import dev.tiercache.spring.boot.BookApp.BookService;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.boot.test.context.assertj.AssertableApplicationContext;
import org.springframework.cache.Cache;
import org.springframework.cache.CacheManager;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * Two application instances (two Spring Boot contexts) on one real Redis and one H2 database, using Spring's cache
 * annotations on the auto-configured Tiercache.
 */
class SpringCachingTest {

  @RegisterExtension static RedisExtension redis = RedisExtension.standalone();

  /** What the issue promises: another instance sees an eviction within 200 ms; allow scheduling slack. */
  private static final Duration ACROSS = Duration.ofSeconds(2);

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

  @BeforeEach
  void clean() {
    redis.flushAll();
  }

  private static void twoInstances(BiConsumer<AssertableApplicationContext, AssertableApplicationContext> test) {
    Contexts.bookApp(redis).run(a -> {
      JdbcTemplate jdbc = a.getBean(JdbcTemplate.class);
      jdbc.execute("drop table if exists book");
      jdbc.execute("create table book (id varchar(20) primary key, title varchar(100))");
      jdbc.update("insert into book values ('b1', 'Dune'), ('b2', 'Emma')");
      Contexts.bookApp(redis).run(b -> test.accept(a, b));
    });
  }

  private static BookService service(AssertableApplicationContext context) {
    return context.getBean(BookService.class);
  }

  private static BookRepository repository(AssertableApplicationContext context) {
    return context.getBean(BookRepository.class);
  }

  /** Whether an instance's cache holds the key, without loading. */
  private static boolean cached(AssertableApplicationContext context, String key) {
    return context.getBean(CacheManager.class).getCache("books").get(key) != null;
  }

  @Test
  void cacheableReadsThroughOnceAndTheOtherInstanceReadsTheL2() {
    twoInstances((a, b) -> {
      assertThat(service(a).find("b1").title()).isEqualTo("Dune");
      assertThat(service(a).find("b1").title()).isEqualTo("Dune");
      assertThat(repository(a).reads).hasValue(1);
      assertThat(service(b).find("b1").title()).isEqualTo("Dune");
      assertThat(repository(b).reads).as("b found it in Redis").hasValue(0);
    });
  }

  @Test
  void syncTrueLetsOneOfSixteenConcurrentCallersLoad() throws Exception {
    twoInstances((a, b) -> {
      BookRepository repository = repository(a);
      repository.gate = new CountDownLatch(1);
      ExecutorService callers = Executors.newFixedThreadPool(16);
      try {
        List<Future<Book>> results = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
          results.add(callers.submit(() -> service(a).findSync("b2")));
        }
        assertThat(repository.entered.await(10, TimeUnit.SECONDS)).isTrue();
        MeterRegistry meters = a.getBean(MeterRegistry.class);
        await().atMost(Duration.ofSeconds(10)).until(() -> {
          Counter joined = meters.find("cache.stampede.coalesced").tag("cache", "books").counter();
          return joined != null && joined.count() >= 15;
        });
        repository.gate.countDown();
        for (Future<Book> result : results) {
          assertThat(result.get(10, TimeUnit.SECONDS).title()).isEqualTo("Emma");
        }
        assertThat(repository.reads).hasValue(1);
      } catch (Exception e) {
        throw new AssertionError(e);
      } finally {
        callers.shutdownNow();
      }
    });
  }

  @Test
  void cacheEvictOnOneInstanceDropsTheEntryFromTheOthersL1() {
    twoInstances((a, b) -> {
      service(a).find("b1");
      service(b).find("b1");
      assertThat(cached(b, "b1")).isTrue();
      service(a).evict("b1");
      await().atMost(ACROSS).until(() -> !cached(b, "b1"));
      assertThat(service(b).find("b1").title()).isEqualTo("Dune");
      assertThat(repository(b).reads).as("b loaded it again").hasValue(1);
    });
  }

  @Test
  void cacheEvictAllEntriesEmptiesEveryInstance() {
    twoInstances((a, b) -> {
      service(b).find("b1");
      service(b).find("b2");
      service(a).evictAll();
      await().atMost(ACROSS).until(() -> !cached(b, "b1") && !cached(b, "b2"));
      assertThat(cached(a, "b1")).isFalse();
      service(b).find("b1");
      assertThat(repository(b).reads).hasValue(3);
    });
  }

  @Test
  void cachePutReplacesTheValueOnEveryInstanceAfterCommit() {
    twoInstances((a, b) -> {
      assertThat(service(b).find("b1").title()).isEqualTo("Dune");
      service(a).rename("b1", "Dune Messiah");
      await().atMost(ACROSS).until(() -> service(b).find("b1").title().equals("Dune Messiah"));
      assertThat(repository(b).reads).as("the new value came from the put, not the database").hasValue(1);
    });
  }

  @Test
  void aCachePutWhoseTransactionRollsBackIsNeverServed() {
    twoInstances((a, b) -> {
      assertThat(service(b).find("b1").title()).isEqualTo("Dune");
      TransactionTemplate tx = a.getBean(TransactionTemplate.class);
      assertThatThrownBy(() -> tx.executeWithoutResult(status -> {
        service(a).rename("b1", "Rolled Back");
        throw new IllegalStateException("rollback");
      })).hasMessage("rollback");
      assertThat(service(a).find("b1").title()).isEqualTo("Dune");
      assertThat(service(b).find("b1").title()).isEqualTo("Dune");
      assertThat(a.getBean(JdbcTemplate.class).queryForObject("select title from book where id = 'b1'", String.class))
          .isEqualTo("Dune");
    });
  }

  @Test
  void aCacheEvictInsideARolledBackTransactionEvictsNothing() {
    twoInstances((a, b) -> {
      service(b).find("b1");
      TransactionTemplate tx = a.getBean(TransactionTemplate.class);
      tx.executeWithoutResult(status -> {
        service(a).renameAndEvict("b1", "Rolled Back");
        status.setRollbackOnly();
      });
      assertThat(cached(b, "b1")).isTrue();
      service(a).renameAndEvict("b1", "Committed");
      await().atMost(ACROSS).until(() -> !cached(b, "b1"));
      assertThat(service(b).find("b1").title()).isEqualTo("Committed");
    });
  }

  @Test
  void nullResultsAreCachedAndServedAsNull() {
    twoInstances((a, b) -> {
      assertThat(service(a).find("nope")).isNull();
      assertThat(service(a).find("nope")).isNull();
      assertThat(repository(a).reads).hasValue(1);
      assertThat(adminConnection.sync().pttl("tiercache:{books}:k:nope"))
          .as("the property's negative TTL, not the 90s L2 TTL").isPositive()
          .isLessThanOrEqualTo(Duration.ofSeconds(20).toMillis());
      Cache.ValueWrapper onB = b.getBean(CacheManager.class).getCache("books").get("nope");
      assertThat(onB).as("the cached null reached b through Redis").isNotNull();
      assertThat(onB.get()).isNull();
      assertThat(service(b).find("nope")).isNull();
      assertThat(repository(b).reads).hasValue(0);
    });
  }

  @Test
  void thePropertyTtlIsTheTtlInRedis() {
    twoInstances((a, b) -> {
      service(a).find("b1");
      long ttl = adminConnection.sync().pttl("tiercache:{books}:k:b1");
      assertThat(ttl).isBetween(Duration.ofSeconds(80).toMillis(), Duration.ofSeconds(90).toMillis());
      assertThat(a.getBean(TiercacheCacheManager.class).getCacheNames()).contains("books");
    });
  }

  @Test
  void closingAContextClosesItsRedisConnections() {
    long before = clients();
    Contexts.bookApp(redis).run(context -> {
      context.getBean(TiercacheCacheManager.class).getTiercache("books").put("k", new Book("k", "t"));
      assertThat(clients()).isGreaterThan(before);
    });
    await().atMost(Duration.ofSeconds(10)).until(() -> clients() == before);
  }

  private static long clients() {
    return adminConnection.sync().clientList().lines().filter(line -> !line.isBlank()).count();
  }
}
