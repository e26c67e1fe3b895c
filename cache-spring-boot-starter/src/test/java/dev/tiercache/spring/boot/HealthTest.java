package dev.tiercache.spring.boot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.tiercache.redis.testing.RedisExtension;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.boot.actuate.health.HealthIndicator;
import org.springframework.boot.actuate.health.Status;
import org.springframework.cache.annotation.EnableCaching;
import org.springframework.context.annotation.Configuration;

/** The health indicator follows a real Redis process that the test stops and starts. */
class HealthTest {

  @RegisterExtension static RedisExtension redis = RedisExtension.standalone().withProcessControl();

  @Configuration(proxyBeanMethods = false)
  @EnableCaching
  static class Caching {}

  @Test
  void downWhileRedisIsStoppedAndUpAgainAfter() {
    Contexts.onRedis(redis)
        .withUserConfiguration(Caching.class)
        .withPropertyValues("tiercache.cache-names=books")
        .run(context -> {
          HealthIndicator health = context.getBean("tiercacheHealthIndicator", HealthIndicator.class);
          assertThat(health.health().getStatus()).isEqualTo(Status.UP);
          assertThat(health.health().getDetails()).containsEntry("redis", "reachable");
          @SuppressWarnings("unchecked")
          Map<String, Object> books = books(health);
          assertThat(books).containsEntry("l2Circuit", "closed").containsEntry("pendingInvalidations", 0L);
          await().atMost(Duration.ofSeconds(10)).until(() -> "caught-up".equals(books(health).get("bus")));

          redis.stop();
          await().atMost(Duration.ofSeconds(10)).until(() -> health.health().getStatus().equals(Status.DOWN));
          assertThat(health.health().getDetails()).containsEntry("redis", "unreachable");
          await().atMost(Duration.ofSeconds(10)).until(() -> "not-proven".equals(books(health).get("bus")));

          redis.start();
          await().atMost(Duration.ofSeconds(30)).until(() -> health.health().getStatus().equals(Status.UP));
          await().atMost(Duration.ofSeconds(30)).until(() -> "caught-up".equals(books(health).get("bus")));
        });
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> books(HealthIndicator health) {
    return (Map<String, Object>) ((Map<String, Object>) health.health().getDetails().get("caches")).get("books");
  }
}
