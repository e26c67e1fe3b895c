package dev.tiercache.spring.boot4;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.tiercache.redis.testing.RedisExtension;
import dev.tiercache.spring.boot4.Boot4App.BookService;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.boot.health.contributor.Status;
import org.springframework.boot.health.registry.HealthContributorRegistry;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

/** The {@code tiercache} health indicator on Spring Boot 4's health API, on a real Redis that the test stops. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class Boot4HealthTest {

  @RegisterExtension static RedisExtension redis = RedisExtension.standalone().withProcessControl();

  @Test
  void registeredUpDownWhileRedisIsStoppedAndUpAgain() {
    new ApplicationContextRunner()
        .withUserConfiguration(Boot4App.class)
        .withPropertyValues(
            "spring.data.redis.host=" + redis.host(),
            "spring.data.redis.port=" + redis.port(),
            "tiercache.caches.books.value-type=" + Boot4App.Book.class.getName())
        .run(context -> {
          assertThat(context).hasNotFailed();
          context.getBean(BookService.class).find("b1");
          assertThat(context.getBean(HealthContributorRegistry.class).getContributor("tiercache"))
              .as("in Boot 4's health registry").isInstanceOf(HealthIndicator.class);
          HealthIndicator health = context.getBean("tiercacheHealthIndicator", HealthIndicator.class);
          assertThat(health.health().getStatus()).isEqualTo(Status.UP);
          assertThat(health.health().getDetails()).containsEntry("redis", "reachable");
          assertThat(books(health)).containsEntry("l2Circuit", "closed").containsEntry("pendingInvalidations", 0L);

          redis.stop();
          await().atMost(Duration.ofSeconds(10)).until(() -> health.health().getStatus().equals(Status.DOWN));
          assertThat(health.health().getDetails()).containsEntry("redis", "unreachable");

          redis.start();
          await().atMost(Duration.ofSeconds(30)).until(() -> health.health().getStatus().equals(Status.UP));
        });
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> books(HealthIndicator health) {
    return (Map<String, Object>) ((Map<String, Object>) health.health().getDetails().get("caches")).get("books");
  }
}
