package dev.tiercache.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tiercache.redis.testing.RedisExtension;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisCommandTimeoutException;
import io.lettuce.core.RedisConnectionException;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The fault helpers that later fault tests rely on: restart, stop/start, freeze/unfreeze, healing between tests. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RedisProcessControlFixtureTest {

    @RegisterExtension
    static final RedisExtension REDIS = RedisExtension.standalone().withProcessControl();

    private static RedisClient client;

    @BeforeAll
    static void createClient() {
        client = RedisClient.create();
    }

    @AfterAll
    static void shutdownClient() {
        client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }

    @Test
    @Order(1)
    void restartEmptiesTheDataAndANewConnectionWorks() {
        try (StatefulRedisConnection<String, String> before = client.connect(REDIS.uri())) {
            before.sync().set("fixture:survivor", "no");
        }
        long pidBefore = REDIS.pid();
        int portBefore = REDIS.port();

        REDIS.restart();

        assertThat(REDIS.port()).isEqualTo(portBefore);
        assertThat(REDIS.pid()).isNotEqualTo(pidBefore);
        try (StatefulRedisConnection<String, String> after = client.connect(REDIS.uri())) {
            assertThat(after.sync().get("fixture:survivor")).isNull();
            assertThat(after.sync().set("fixture:fresh", "yes")).isEqualTo("OK");
            assertThat(after.sync().get("fixture:fresh")).isEqualTo("yes");
        }
    }

    @Test
    @Order(2)
    void stoppedServerRefusesConnectionsUntilStarted() {
        REDIS.stop();

        assertThatThrownBy(() -> client.connect(REDIS.uri()).close()).isInstanceOf(RedisConnectionException.class);

        REDIS.start();
        try (StatefulRedisConnection<String, String> connection = client.connect(REDIS.uri())) {
            assertThat(connection.sync().ping()).isEqualTo("PONG");
        }
    }

    @Test
    @Order(3)
    void frozenServerTimesOutThenAnswersAfterUnfreeze() {
        RedisURI uri = REDIS.uri();
        uri.setTimeout(Duration.ofMillis(300));
        try (StatefulRedisConnection<String, String> connection = client.connect(uri)) {
            REDIS.freeze();

            assertThatThrownBy(() -> connection.sync().ping()).isInstanceOf(RedisCommandTimeoutException.class);

            REDIS.unfreeze();
            assertThat(connection.sync().ping()).isEqualTo("PONG");
        }
    }

    @Test
    @Order(4)
    void aTestMayLeaveTheServerFrozen() {
        REDIS.freeze();
    }

    @Test
    @Order(5)
    void theNextTestFindsItAnsweringAgain() {
        try (StatefulRedisConnection<String, String> connection = client.connect(REDIS.uri())) {
            assertThat(connection.sync().ping()).isEqualTo("PONG");
        }
    }

    @Test
    @Order(6)
    void aTestMayLeaveTheServerStopped() {
        REDIS.stop();
    }

    @Test
    @Order(7)
    void theNextTestFindsItRunningAgain() {
        try (StatefulRedisConnection<String, String> connection = client.connect(REDIS.uri())) {
            assertThat(connection.sync().ping()).isEqualTo("PONG");
        }
    }
}
