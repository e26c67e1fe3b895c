package dev.tiercache.spring.boot;

import static org.assertj.core.api.Assertions.assertThat;

import io.lettuce.core.RedisURI;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.core.env.MapPropertySource;
import org.springframework.core.env.StandardEnvironment;

/**
 * Boot's {@code spring.data.redis.*} names, bound without Boot's own properties class (which Spring Boot 4 moved and
 * renamed), with Boot's defaults and relaxed names, into the Lettuce URI the starter connects with.
 */
class BootRedisSettingsTest {

  private static BootRedisSettings bind(Map<String, Object> properties) {
    StandardEnvironment environment = new StandardEnvironment();
    environment.getPropertySources().addFirst(new MapPropertySource("test", properties));
    return BootRedisSettings.of(environment);
  }

  @Test
  void bootsDefaultsWhenNothingIsSet() {
    BootRedisSettings settings = bind(Map.of());
    assertThat(settings.host()).isEqualTo("localhost");
    assertThat(settings.port()).isEqualTo(6379);
    assertThat(settings.database()).isZero();
    assertThat(settings.ssl()).isFalse();
    assertThat(settings.clusterNodes()).isEmpty();
    RedisURI uri = BootRedisClients.uri(settings);
    assertThat(uri.getHost()).isEqualTo("localhost");
    assertThat(uri.getPort()).isEqualTo(6379);
  }

  @Test
  void hostPortAndTheRestWithRelaxedNames() {
    RedisURI uri =
        BootRedisClients.uri(
            bind(Map.of(
                "spring.data.redis.host", "redis.internal",
                "spring.data.redis.port", "6390",
                "spring.data.redis.database", "3",
                "spring.data.redis.username", "app",
                "spring.data.redis.password", "secret",
                "spring.data.redis.ssl.bundle", "mine",
                "spring.data.redis.timeout", "750ms",
                "spring.data.redis.clientName", "orders")));
    assertThat(uri.getHost()).isEqualTo("redis.internal");
    assertThat(uri.getPort()).isEqualTo(6390);
    assertThat(uri.getDatabase()).isEqualTo(3);
    assertThat(uri.getUsername()).isEqualTo("app");
    assertThat(new String(uri.getPassword())).isEqualTo("secret");
    assertThat(uri.isSsl()).as("a named SSL bundle turns SSL on, as in Boot").isTrue();
    assertThat(uri.getTimeout()).isEqualTo(Duration.ofMillis(750));
    assertThat(uri.getClientName()).isEqualTo("orders");
  }

  @Test
  void urlWinsAndSslEnabledFalseWinsOverABundle() {
    BootRedisSettings settings =
        bind(Map.of(
            "spring.data.redis.url", "redis://other:7000/2",
            "spring.data.redis.host", "ignored",
            "spring.data.redis.ssl.enabled", "false",
            "spring.data.redis.ssl.bundle", "mine"));
    assertThat(settings.ssl()).isFalse();
    RedisURI uri = BootRedisClients.uri(settings);
    assertThat(uri.getHost()).isEqualTo("other");
    assertThat(uri.getPort()).isEqualTo(7000);
    assertThat(uri.getDatabase()).isEqualTo(2);
  }

  @Test
  void sentinelAndClusterNodes() {
    RedisURI sentinel =
        BootRedisClients.uri(
            bind(Map.of(
                "spring.data.redis.sentinel.master", "main",
                "spring.data.redis.sentinel.nodes", "s1:26379,s2:26380",
                "spring.data.redis.sentinel.password", "watch")));
    assertThat(sentinel.getSentinelMasterId()).isEqualTo("main");
    assertThat(sentinel.getSentinels()).extracting(RedisURI::getHost).containsExactly("s1", "s2");
    assertThat(new String(sentinel.getSentinels().get(1).getPassword())).isEqualTo("watch");

    BootRedisSettings cluster =
        bind(Map.of(
            "spring.data.redis.cluster.nodes[0]", "c1:7000",
            "spring.data.redis.cluster.nodes[1]", "c2:7001"));
    assertThat(cluster.clusterNodes()).isEqualTo(List.of("c1:7000", "c2:7001"));
  }
}
