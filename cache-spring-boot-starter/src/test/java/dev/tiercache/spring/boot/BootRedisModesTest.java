package dev.tiercache.spring.boot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lettuce.core.AbstractRedisClient;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.cluster.RedisClusterClient;
import java.lang.reflect.Field;
import java.util.ArrayList;
import java.util.List;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.springframework.boot.LazyInitializationBeanFactoryPostProcessor;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.jdbc.datasource.SimpleDriverDataSource;

/**
 * The starter's Lettuce client against Spring Boot 3.5's own reading of {@code spring.data.redis.*}
 * ({@code PropertiesRedisConnectionDetails}, {@code RedisConnectionConfiguration},
 * {@code LettuceConnectionConfiguration}): sentinel wins over cluster and url, a url's credentials and database are used in every mode, and
 * {@code ssl.enabled} turns SSL on with a {@code redis://} url too. Only the client bean is made (nothing connects).
 */
class BootRedisModesTest {

  private final ApplicationContextRunner runner =
      new ApplicationContextRunner()
          .withConfiguration(AutoConfigurations.of(TiercacheInfrastructureAutoConfiguration.class))
          .withUserConfiguration(Queries.class)
          .withPropertyValues("tiercache.query.row-types=java.lang.String")
          .withBean(LazyInitializationBeanFactoryPostProcessor.class);

  /**
   * The L2 is made only for something that uses it: here the query executor (one DataSource and row types), whose
   * own auto-configuration is left out. An application's own CacheManager would not do: it leaves Redis alone.
   */
  @Configuration(proxyBeanMethods = false)
  static class Queries {
    @Bean
    DataSource dataSource() {
      return new SimpleDriverDataSource();
    }
  }

  private static Object field(Object target, Class<?> type, String name) throws Exception {
    Field field = type.getDeclaredField(name);
    field.setAccessible(true);
    return field.get(target);
  }

  private static RedisURI standalone(AbstractRedisClient client) throws Exception {
    assertThat(client).isInstanceOf(RedisClient.class);
    return (RedisURI) field(client, RedisClient.class, "redisURI");
  }

  @SuppressWarnings("unchecked")
  private static List<RedisURI> seeds(AbstractRedisClient client) throws Exception {
    assertThat(client).isInstanceOf(RedisClusterClient.class);
    List<RedisURI> seeds = new ArrayList<>();
    ((Iterable<RedisURI>) field(client, RedisClusterClient.class, "initialUris")).forEach(seeds::add);
    return seeds;
  }

  @Test
  void sslEnabledTurnsSslOnWithARedisUrlAsInBoot() {
    runner
        .withPropertyValues("spring.data.redis.url=redis://cache.internal:6390/4", "spring.data.redis.ssl.enabled=true")
        .run(context -> {
          RedisURI uri = standalone(context.getBean("tiercacheRedisClient", AbstractRedisClient.class));
          assertThat(uri.getHost()).isEqualTo("cache.internal");
          assertThat(uri.getPort()).isEqualTo(6390);
          assertThat(uri.getDatabase()).isEqualTo(4);
          assertThat(uri.isSsl()).as("Boot's LettuceConnectionConfiguration: useSsl() when ssl.enabled").isTrue();
        });
  }

  @Test
  void sentinelWinsOverAUrlAndTakesItsCredentialsAndDatabase() {
    runner
        .withPropertyValues(
            "spring.data.redis.url=redis://app:secret@ignored:6379/5",
            "spring.data.redis.sentinel.master=main",
            "spring.data.redis.sentinel.nodes=s1:26379,s2:26380")
        .run(context -> {
          RedisURI uri = standalone(context.getBean("tiercacheRedisClient", AbstractRedisClient.class));
          assertThat(uri.getSentinelMasterId()).as("Boot's mode: sentinel first").isEqualTo("main");
          assertThat(uri.getSentinels()).extracting(RedisURI::getHost).containsExactly("s1", "s2");
          assertThat(uri.getDatabase()).isEqualTo(5);
          assertThat(uri.getUsername()).isEqualTo("app");
          assertThat(new String(uri.getPassword())).isEqualTo("secret");
        });
  }

  @Test
  void sentinelWinsOverClusterNodes() {
    runner
        .withPropertyValues(
            "spring.data.redis.sentinel.master=main",
            "spring.data.redis.sentinel.nodes=s1:26379",
            "spring.data.redis.cluster.nodes=c1:7000,c2:7001")
        .run(context -> assertThat(
                standalone(context.getBean("tiercacheRedisClient", AbstractRedisClient.class)).getSentinelMasterId())
            .isEqualTo("main"));
  }

  @Test
  void clusterSeedsTakeAUrlsCredentialsNotThePasswordProperty() {
    runner
        .withPropertyValues(
            "spring.data.redis.url=rediss://app:from-url@ignored:6379",
            "spring.data.redis.password=not-used-by-boot",
            "spring.data.redis.cluster.nodes=c1:7000,c2:7001")
        .run(context -> {
          List<RedisURI> seeds = seeds(context.getBean("tiercacheRedisClient", AbstractRedisClient.class));
          assertThat(seeds).extracting(RedisURI::getHost).containsExactly("c1", "c2");
          assertThat(seeds).allSatisfy(seed -> {
            assertThat(seed.getUsername()).isEqualTo("app");
            assertThat(new String(seed.getPassword())).isEqualTo("from-url");
            assertThat(seed.isSsl()).as("a rediss url means SSL in every mode").isTrue();
          });
        });
  }

  @Test
  void hostPortAndPasswordWithoutAUrlAreUnchanged() {
    runner
        .withPropertyValues(
            "spring.data.redis.host=redis.internal",
            "spring.data.redis.port=6391",
            "spring.data.redis.database=2",
            "spring.data.redis.password=pw",
            "spring.data.redis.client-name=orders")
        .run(context -> {
          RedisURI uri = standalone(context.getBean("tiercacheRedisClient", AbstractRedisClient.class));
          assertThat(uri.getHost()).isEqualTo("redis.internal");
          assertThat(uri.getPort()).isEqualTo(6391);
          assertThat(uri.getDatabase()).isEqualTo(2);
          assertThat(uri.getUsername()).isNull();
          assertThat(new String(uri.getPassword())).isEqualTo("pw");
          assertThat(uri.getClientName()).isEqualTo("orders");
          assertThat(uri.isSsl()).isFalse();
        });
  }

  @Test
  void bootFoursStaticMasterReplicaNodesAreRefusedNotReplacedByLocalhost() {
    runner
        .withPropertyValues("spring.data.redis.masterreplica.nodes=r1:6379,r2:6379")
        .run(context -> assertThatThrownBy(() -> context.getBean("tiercacheRedisClient", AbstractRedisClient.class))
            .hasRootCauseInstanceOf(IllegalStateException.class)
            .rootCause().hasMessageContaining("spring.data.redis.masterreplica.nodes"));
  }
}
