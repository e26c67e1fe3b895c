package dev.tiercache.spring.boot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.tiercache.redis.RedisTier;
import dev.tiercache.redis.testing.RedisExtension;
import io.lettuce.core.RedisClient;
import java.time.Duration;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.boot.actuate.health.HealthIndicator;
import org.springframework.boot.actuate.health.Status;
import org.springframework.cache.annotation.EnableCaching;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** Review (s14): the health indicator when the application declares a Lettuce client of its own. */
class TiercacheHealthReviewTest {

  @RegisterExtension static RedisExtension redis = RedisExtension.standalone().withProcessControl();

  /** An application that uses Lettuce for something else too: a very common {@code RedisClient} bean. */
  @Configuration(proxyBeanMethods = false)
  @EnableCaching
  static class OwnRedisClient {
    @Bean(destroyMethod = "shutdown")
    RedisClient appRedisClient() {
      return RedisClient.create(redis.uri());
    }
  }

  /**
   * Breaks: README "with Actuator the {@code tiercache} health indicator: DOWN while Redis does not answer PING".
   *
   * <p>How: the application declares a {@code RedisClient} bean of its own (the starter still makes its own
   * {@code tiercacheRedisClient} and the caches use Redis through it). The indicator looks the client up with
   * {@code ObjectProvider<AbstractRedisClient>.getIfUnique()}, finds two, and so pings nothing: it reports
   * {@code l2: none} and stays UP while Redis is stopped, though every cache has a Redis L2.
   */
  @Test
  void downWhileRedisIsStoppedEvenWhenTheApplicationHasItsOwnRedisClient() {
    Contexts.onRedis(redis)
        .withUserConfiguration(OwnRedisClient.class)
        .withPropertyValues("tiercache.cache-names=books")
        .run(context -> {
          assertThat(context).hasNotFailed();
          assertThat(context).hasSingleBean(RedisTier.class);
          HealthIndicator health = context.getBean("tiercacheHealthIndicator", HealthIndicator.class);
          assertThat(health.health().getStatus()).isEqualTo(Status.UP);

          redis.stop();
          try {
            await().atMost(Duration.ofSeconds(10)).until(() -> health.health().getStatus().equals(Status.DOWN));
          } catch (ConditionTimeoutException e) {
            throw new AssertionError(
                "still " + health.health().getStatus() + " 10 s after Redis stopped: " + health.health().getDetails(),
                e);
          } finally {
            redis.start();
          }
        });
  }

  @Configuration(proxyBeanMethods = false)
  @EnableCaching
  static class Caching {}

  /**
   * Breaks: {@code TiercacheHealthCheck}: "DOWN while Redis does not answer a PING within a second" (README: "DOWN
   * while Redis does not answer PING"), for a frozen Redis (SIGSTOP, one of DESIGN.md's injected faults; a hung host
   * or a black-holed network look the same).
   *
   * <p>How: the first check after the freeze times its PING out after 1 s and says DOWN, and closes its connection.
   * The next check opens a new one ({@code RedisClient.connect()}, synchronous): the TCP connect succeeds, the
   * handshake gets no answer, and nothing bounds it by the second (Lettuce waits for the URI's timeout, 60 s by
   * default). Every health request then blocks that long, and with it Actuator's {@code /actuator/health}, which
   * includes this indicator.
   */
  @Test
  void everyCheckAgainstAFrozenRedisAnswersWithinItsBound() throws Exception {
    Contexts.onRedis(redis)
        .withUserConfiguration(Caching.class)
        .withPropertyValues("tiercache.cache-names=books")
        .run(context -> {
          HealthIndicator health = context.getBean("tiercacheHealthIndicator", HealthIndicator.class);
          assertThat(health.health().getStatus()).isEqualTo(Status.UP);
          java.util.concurrent.ExecutorService checker = java.util.concurrent.Executors.newSingleThreadExecutor();
          redis.freeze();
          try {
            for (int check = 1; check <= 3; check++) {
              long start = System.nanoTime();
              java.util.concurrent.Future<Status> status = checker.submit(() -> health.health().getStatus());
              try {
                assertThat(status.get(5, java.util.concurrent.TimeUnit.SECONDS)).as("check %d", check)
                    .isEqualTo(Status.DOWN);
              } catch (java.util.concurrent.TimeoutException e) {
                throw new AssertionError("health check " + check + " after the freeze has not answered in "
                    + (System.nanoTime() - start) / 1_000_000 + " ms (bound: a 1 s PING)", e);
              }
            }
          } finally {
            redis.unfreeze();
            checker.shutdownNow();
          }
        });
  }
}
