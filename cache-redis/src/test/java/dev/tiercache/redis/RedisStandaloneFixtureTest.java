package dev.tiercache.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tiercache.redis.testing.RedisExtension;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The standalone fixture, from whichever provider this machine has, serves real Redis 6.2+. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class RedisStandaloneFixtureTest {

    @RegisterExtension
    static final RedisExtension REDIS = RedisExtension.standalone();

    private static RedisClient client;
    private StatefulRedisConnection<String, String> connection;
    private RedisCommands<String, String> redis;

    @BeforeAll
    static void createClient() {
        client = RedisClient.create(REDIS.uri());
    }

    @AfterAll
    static void shutdownClient() {
        client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }

    @BeforeEach
    void connect() {
        connection = client.connect();
        redis = connection.sync();
    }

    @AfterEach
    void close() {
        connection.close();
    }

    @Test
    void setThenGetRoundTrips() {
        assertThat(redis.set("fixture:greeting", "hello")).isEqualTo("OK");

        assertThat(redis.get("fixture:greeting")).isEqualTo("hello");
    }

    @Test
    void serverIsRedis62OrLater() {
        String version = redis.info("server").lines()
                .filter(l -> l.startsWith("redis_version:"))
                .map(l -> l.substring("redis_version:".length()).trim())
                .findFirst()
                .orElseThrow();
        String[] parts = version.split("\\.");
        int major = Integer.parseInt(parts[0]);
        int minor = Integer.parseInt(parts[1]);

        assertThat(major * 100 + minor).as("redis_version %s", version).isGreaterThanOrEqualTo(602);
        assertThat(version).startsWith(REDIS.serverVersion().substring(0, REDIS.serverVersion().lastIndexOf('.')));
    }

    @Test
    void hostAndPortMatchTheUri() {
        assertThat(REDIS.host()).isEqualTo(REDIS.uri().getHost());
        assertThat(REDIS.port()).isEqualTo(REDIS.uri().getPort()).isPositive();
        assertThat(REDIS.uris()).hasSize(1);
        if (REDIS.provider().ownsProcess()) {
            assertThat(REDIS.host()).isEqualTo("127.0.0.1");
            assertThat(REDIS.pid()).isPositive();
        }
        assertThat(REDIS.nodes()).as("owned processes of %s", REDIS.provider())
                .hasSize(REDIS.provider().ownsProcess() ? 1 : 0);
    }

    @Test
    void flushAllEmptiesTheServer() {
        redis.set("fixture:doomed", "x");

        REDIS.flushAll();

        assertThat(redis.dbsize()).isZero();
    }
}
