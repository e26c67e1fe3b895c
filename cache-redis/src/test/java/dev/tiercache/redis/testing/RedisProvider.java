package dev.tiercache.redis.testing;

/**
 * Where the Redis of a test comes from, in the order the fixture tries them.
 *
 * <p>Only the binary providers give the fixture a process of its own, so only they support
 * {@link RedisExtension#restart()}, {@link RedisExtension#freeze()} and the other fault helpers.
 */
public enum RedisProvider {
    /** The server named by the {@code REDIS_URL} environment variable; never restarted by the fixture. */
    REDIS_URL(false),
    /** A {@code redis:7-alpine} container, when a Docker engine is reachable. */
    TESTCONTAINERS(false),
    /** A {@code redis-server} found on {@code PATH}, launched by the fixture on a loopback port. */
    PATH_BINARY(true),
    /** The {@code redis-server} binary shipped inside the {@code com.github.codemonstur:embedded-redis} jar. */
    EMBEDDED_BINARY(true);

    private final boolean ownsProcess;

    RedisProvider(boolean ownsProcess) {
        this.ownsProcess = ownsProcess;
    }

    /**
     * Tells whether servers from this provider are processes the fixture started itself.
     *
     * @return true for the binary providers
     */
    public boolean ownsProcess() {
        return ownsProcess;
    }
}
