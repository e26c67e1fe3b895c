package dev.tiercache.spring.boot;

import java.time.Duration;
import java.util.List;
import org.springframework.boot.context.properties.bind.Bindable;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.core.env.Environment;

/**
 * The {@code spring.data.redis.*} settings the Tiercache client is made from, bound by name. Spring Boot 3 holds them
 * in {@code org.springframework.boot.autoconfigure.data.redis.RedisProperties}, Spring Boot 4 in
 * {@code org.springframework.boot.data.redis.autoconfigure.DataRedisProperties} (another module, another name); the
 * property names are the same, so binding them here keeps the starter free of both classes and one jar works on both.
 */
record BootRedisSettings(
    String url,
    String host,
    int port,
    int database,
    String username,
    String password,
    boolean ssl,
    Duration timeout,
    String clientName,
    String sentinelMaster,
    List<String> sentinelNodes,
    String sentinelUsername,
    String sentinelPassword,
    List<String> clusterNodes,
    List<String> masterReplicaNodes) {

  private static final String PREFIX = "spring.data.redis.";

  static BootRedisSettings of(Environment environment) {
    Binder binder = Binder.get(environment);
    return new BootRedisSettings(
        text(binder, "url"),
        binder.bind(PREFIX + "host", String.class).orElse("localhost"),
        binder.bind(PREFIX + "port", Integer.class).orElse(6379),
        binder.bind(PREFIX + "database", Integer.class).orElse(0),
        text(binder, "username"),
        text(binder, "password"),
        // As Boot decides: ssl.enabled if set, else whether an SSL bundle is named.
        binder.bind(PREFIX + "ssl.enabled", Boolean.class).orElse(text(binder, "ssl.bundle") != null),
        binder.bind(PREFIX + "timeout", Duration.class).orElse(null),
        text(binder, "client-name"),
        text(binder, "sentinel.master"),
        list(binder, "sentinel.nodes"),
        text(binder, "sentinel.username"),
        text(binder, "sentinel.password"),
        list(binder, "cluster.nodes"),
        // Spring Boot 4's static master/replica, which the Tiercache client does not support.
        list(binder, "masterreplica.nodes"));
  }

  private static String text(Binder binder, String name) {
    return binder.bind(PREFIX + name, String.class).orElse(null);
  }

  private static List<String> list(Binder binder, String name) {
    return binder.bind(PREFIX + name, Bindable.listOf(String.class)).orElse(List.of());
  }
}
