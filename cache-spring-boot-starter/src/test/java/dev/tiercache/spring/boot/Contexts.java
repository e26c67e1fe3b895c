package dev.tiercache.spring.boot;

import dev.tiercache.redis.testing.RedisExtension;
import org.springframework.boot.actuate.autoconfigure.health.HealthContributorAutoConfiguration;
import org.springframework.boot.actuate.autoconfigure.metrics.CompositeMeterRegistryAutoConfiguration;
import org.springframework.boot.actuate.autoconfigure.metrics.MetricsAutoConfiguration;
import org.springframework.boot.actuate.autoconfigure.metrics.export.simple.SimpleMetricsExportAutoConfiguration;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.autoconfigure.cache.CacheAutoConfiguration;
import org.springframework.boot.autoconfigure.jackson.JacksonAutoConfiguration;
import org.springframework.boot.autoconfigure.jdbc.DataSourceAutoConfiguration;
import org.springframework.boot.autoconfigure.jdbc.DataSourceTransactionManagerAutoConfiguration;
import org.springframework.boot.autoconfigure.jdbc.JdbcTemplateAutoConfiguration;
import org.springframework.boot.autoconfigure.transaction.TransactionAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

/** Application contexts as Spring Boot would start them, on the test's real Redis. */
final class Contexts {

  static final AutoConfigurations TIERCACHE =
      AutoConfigurations.of(
          TiercacheInfrastructureAutoConfiguration.class,
          TiercacheAutoConfiguration.class,
          TiercacheQueryAutoConfiguration.class,
          TiercacheHealthAutoConfiguration.class,
          CacheAutoConfiguration.class,
          JacksonAutoConfiguration.class,
          MetricsAutoConfiguration.class,
          SimpleMetricsExportAutoConfiguration.class,
          CompositeMeterRegistryAutoConfiguration.class,
          HealthContributorAutoConfiguration.class);

  static final AutoConfigurations JDBC =
      AutoConfigurations.of(
          DataSourceAutoConfiguration.class,
          JdbcTemplateAutoConfiguration.class,
          DataSourceTransactionManagerAutoConfiguration.class,
          TransactionAutoConfiguration.class);

  private Contexts() {}

  /** Tiercache's auto-configuration with Boot's Redis properties pointing at the fixture. */
  static ApplicationContextRunner onRedis(RedisExtension redis) {
    return new ApplicationContextRunner()
        .withConfiguration(TIERCACHE)
        .withPropertyValues(
            "spring.data.redis.host=" + redis.host(),
            "spring.data.redis.port=" + redis.port(),
            "tiercache.defaults.value-type=java.lang.String");
  }

  /** The book application on H2 (one database for every context of the test). */
  static ApplicationContextRunner bookApp(RedisExtension redis) {
    return onRedis(redis)
        .withConfiguration(JDBC)
        .withUserConfiguration(BookApp.class)
        .withPropertyValues(
            "spring.datasource.url=jdbc:h2:mem:books;DB_CLOSE_DELAY=-1",
            "spring.datasource.generate-unique-name=false",
            "tiercache.defaults.value-type=" + BookApp.Book.class.getName(),
            "tiercache.caches.books.l2-ttl=90s",
            "tiercache.caches.books.negative-ttl=20s",
            "tiercache.caches.books.l1-maximum-size=1000");
  }
}
