package dev.tiercache.redis.testing;

import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.DefaultClientResources;
import java.time.Duration;
import java.util.function.Function;

/**
 * Short-lived connections for the fixture's own commands (PING, INFO, FLUSHALL, CLUSTER ...).
 *
 * <p>One client for the JVM, never shut down (its threads are daemons): Lettuce reference-counts event loops per
 * client, so a client per call would build and tear down an event loop group every time, and a handshake timeout
 * could then fire into a loop already gone. No reconnects and short timeouts: a fixture command that cannot answer
 * quickly should fail the wait it belongs to, not retry in the background.
 */
final class RedisAdmin {

    static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(5);

    private static RedisClient client;

    private RedisAdmin() {
    }

    private static synchronized RedisClient client() {
        if (client == null) {
            ClientResources resources = DefaultClientResources.builder()
                    .ioThreadPoolSize(2)
                    .computationThreadPoolSize(2)
                    .build();
            client = RedisClient.create(resources);
            client.setOptions(ClientOptions.builder()
                    .autoReconnect(false)
                    .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
                    .socketOptions(SocketOptions.builder().connectTimeout(Duration.ofSeconds(2)).build())
                    .build());
        }
        return client;
    }

    static <T> T call(RedisURI target, Function<RedisCommands<String, String>, T> commands) {
        RedisURI uri = RedisURI.builder(target).withTimeout(COMMAND_TIMEOUT).build();
        try (StatefulRedisConnection<String, String> connection = client().connect(uri)) {
            return commands.apply(connection.sync());
        }
    }
    static boolean ping(RedisURI uri) {
        return "PONG".equals(call(uri, RedisCommands::ping));
    }

    static RedisVersion version(RedisURI uri) {
        String info = call(uri, c -> c.info("server"));
        return info.lines()
                .filter(l -> l.startsWith("redis_version:"))
                .findFirst()
                .map(RedisVersion::parse)
                .orElseThrow(() -> new IllegalStateException("INFO server of " + uri + " has no redis_version"));
    }
}
