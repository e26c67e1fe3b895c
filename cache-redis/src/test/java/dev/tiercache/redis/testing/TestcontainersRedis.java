package dev.tiercache.redis.testing;

import java.time.Duration;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.utility.DockerImageName;

/**
 * The Testcontainers provider, isolated so the fixture loads without Testcontainers on the class path.
 *
 * <p>One container serves the whole JVM: starting one per test class would cost seconds each, and classes do not
 * share state because the extension flushes the server before each class. Ryuk and a shutdown hook remove it.
 */
final class TestcontainersRedis {

    private static final int REDIS_PORT = 6379;

    private TestcontainersRedis() {
    }

    static boolean dockerAvailable() {
        return DockerClientFactory.instance().isDockerAvailable();
    }

    /** Starts the container and returns {@code host:port} of its mapped Redis port. */
    static String start() {
        GenericContainer<?> container = new GenericContainer<>(DockerImageName.parse("redis:7-alpine"))
                .withExposedPorts(REDIS_PORT)
                .withCommand("redis-server", "--save", "", "--appendonly", "no", "--enable-debug-command", "yes")
                .waitingFor(Wait.forLogMessage(".*Ready to accept connections.*", 1))
                .withStartupTimeout(Duration.ofSeconds(90));
        container.start();
        Runtime.getRuntime().addShutdownHook(new Thread(container::stop, "tiercache-redis-container-stop"));
        return container.getHost() + ":" + container.getMappedPort(REDIS_PORT);
    }
}
