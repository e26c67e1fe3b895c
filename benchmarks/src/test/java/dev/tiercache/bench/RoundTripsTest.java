package dev.tiercache.bench;

import static org.assertj.core.api.Assertions.assertThat;

import io.lettuce.core.RedisClient;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@link RoundTrips}' counts are what the benchmarks README quotes to compare libraries by design: a command sent by a
 * client and one run by a script must be told apart, and only the commands between the markers counted.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RoundTripsTest {

  private static BenchRedis redis;

  @BeforeAll
  static void start() {
    redis = BenchRedis.start();
  }

  @AfterAll
  static void stop() {
    redis.close();
  }

  @Test
  void countsSentCommandsApartFromThoseScriptsRunAndOnlyInsideTheWindow() throws Exception {
    RedisClient client = RedisClient.create(redis.uri());
    try (StatefulRedisConnection<String, String> connection = client.connect();
        RoundTrips.Monitor monitor = new RoundTrips.Monitor(redis.uri())) {
      RedisCommands<String, String> redisCommands = connection.sync();
      String key = BenchRedis.namespace("roundtrips") + ":k";
      redisCommands.get(key);
      Map<String, Long> counted = monitor.count(() -> {
        redisCommands.get(key);
        redisCommands.get(key);
        redisCommands.eval("redis.call('SET', KEYS[1], 'v'); return redis.call('GET', KEYS[1])",
            ScriptOutputType.VALUE, key);
      });
      redisCommands.get(key);
      assertThat(counted)
          .containsExactlyInAnyOrderEntriesOf(Map.of("get", 2L, "eval", 1L, "lua:set", 1L, "lua:get", 1L));
    } finally {
      client.shutdown();
    }
  }

  @Test
  void readsTheCommandNameOfAMonitorLine() {
    assertThat(RoundTrips.Monitor.command("1700000000.123456 [0 127.0.0.1:50000] \"MGET\" \"a\" \"b\""))
        .isEqualTo("mget");
    assertThat(RoundTrips.Monitor.command("1700000000.123456 [0 lua] \"SET\" \"k\" \"v\"")).isEqualTo("lua:set");
    assertThat(RoundTrips.Monitor.command("1700000000.123456 [0 [::1]:50000] \"GET\" \"k\"")).isEqualTo("get");
    assertThat(RoundTrips.Monitor.command("OK")).isNull();
  }
}
