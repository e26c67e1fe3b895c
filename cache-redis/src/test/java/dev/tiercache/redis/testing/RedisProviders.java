package dev.tiercache.redis.testing;

import io.lettuce.core.RedisURI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The provider chain, resolved once per JVM and remembered (a failure too: every later class fails the same way
 * without probing Docker again). Each outcome is logged once at INFO.
 */
final class RedisProviders {

    private static final Logger LOG = LoggerFactory.getLogger(RedisExtension.class);

    /** What serves a standalone fixture: an endpoint someone else runs, or a binary the fixture launches. */
    record Source(RedisProvider provider, String externalUri, RedisBinary binary, RedisVersion version) {
        RedisURI uri() {
            return RedisURI.create(externalUri);
        }
    }

    private static Source standalone;
    private static String standaloneFailure;
    private static RedisBinary binary;
    private static List<String> binaryFailure;
    private static boolean redisUrlIgnoredLogged;

    private RedisProviders() {
    }

    /** REDIS_URL, then Testcontainers, then the binary chain. */
    static synchronized Source standalone() {
        if (standalone == null && standaloneFailure == null) {
            try {
                standalone = resolveStandalone();
            } catch (RuntimeException e) {
                standaloneFailure = e.getMessage();
            }
        }
        if (standaloneFailure != null) {
            throw new IllegalStateException(standaloneFailure);
        }
        return standalone;
    }

    /**
     * The binary chain alone, for servers the fixture must own: clusters and classes that restart or freeze Redis.
     * REDIS_URL and Docker cannot give a process to signal, so they are not consulted.
     */
    static synchronized RedisBinary binaryForOwnedProcess(String why) {
        String url = System.getenv("REDIS_URL");
        if (url != null && !url.isBlank() && !redisUrlIgnoredLogged) {
            redisUrlIgnoredLogged = true;
            LOG.info("REDIS_URL is set, but {} need a redis-server process of their own: using the binary chain", why);
        }
        return binary(List.of());
    }

    private static Source resolveStandalone() {
        List<String> skips = new ArrayList<>();
        String url = System.getenv("REDIS_URL");
        if (url != null && !url.isBlank()) {
            // An explicit REDIS_URL that does not work is a configuration error, not a reason to quietly test
            // against something else.
            RedisURI uri;
            RedisVersion version;
            try {
                uri = RedisURI.create(url);
                version = RedisAdmin.version(uri);
            } catch (RuntimeException e) {
                throw new IllegalStateException("REDIS_URL is set (" + redact(url) + ") but Redis there does not answer: "
                        + e, e);
            }
            requireMinimum(version, "REDIS_URL " + redact(url));
            LOG.info("Redis for tests: provider REDIS_URL, Redis {} at {}", version, redact(url));
            return new Source(RedisProvider.REDIS_URL, url, null, version);
        }
        skips.add("REDIS_URL unset");

        Optional<Source> container = tryTestcontainers(skips);
        if (container.isPresent()) {
            return container.get();
        }
        RedisBinary b = binary(skips);
        LOG.info("Redis for tests: standalone servers come from {} ({})", b.provider(), String.join("; ", skips));
        return new Source(b.provider(), null, b, b.version());
    }

    private static Optional<Source> tryTestcontainers(List<String> skips) {
        boolean docker;
        try {
            docker = TestcontainersRedis.dockerAvailable();
        } catch (LinkageError e) {
            skips.add("Testcontainers not on the test class path");
            return Optional.empty();
        } catch (RuntimeException e) {
            skips.add("Docker probe failed: " + e);
            return Optional.empty();
        }
        if (!docker) {
            skips.add("no Docker engine for Testcontainers");
            return Optional.empty();
        }
        try {
            String url = "redis://" + TestcontainersRedis.start();
            RedisVersion version = RedisAdmin.version(RedisURI.create(url));
            requireMinimum(version, "the redis:7-alpine container");
            LOG.info("Redis for tests: provider TESTCONTAINERS (redis:7-alpine), Redis {} at {}", version, url);
            return Optional.of(new Source(RedisProvider.TESTCONTAINERS, url, null, version));
        } catch (RuntimeException e) {
            // Docker answers but the container does not start (no image, no registry): the binaries still can.
            LOG.warn("Docker is available but the Redis container did not start; trying redis-server binaries", e);
            skips.add("Testcontainers failed: " + e);
            return Optional.empty();
        }
    }

    private static RedisBinary binary(List<String> earlierSkips) {
        if (binary == null && binaryFailure == null) {
            List<String> skips = new ArrayList<>();
            binary = resolveBinary(skips);
            if (binary == null) {
                binaryFailure = List.copyOf(skips);
            } else {
                LOG.info("Redis for tests: provider {}, Redis {} at {}{}", binary.provider(), binary.version(),
                        binary.path(), skips.isEmpty() ? "" : " (skipped: " + String.join("; ", skips) + ")");
            }
        }
        if (binaryFailure != null) {
            // The binary chain is probed once, but each caller reports everything it tried before it.
            List<String> all = new ArrayList<>(earlierSkips);
            all.addAll(binaryFailure);
            throw new IllegalStateException(noProviderMessage(all));
        }
        return binary;
    }

    /** The first usable binary, or null with the reasons in {@code skips}. */
    private static RedisBinary resolveBinary(List<String> skips) {
        Optional<Path> onPath = RedisBinary.findOnPath();
        if (onPath.isPresent()) {
            try {
                RedisBinary b = RedisBinary.probe(onPath.get(), RedisProvider.PATH_BINARY);
                if (b.version().atLeast(RedisVersion.MINIMUM)) {
                    return b;
                }
                skips.add("redis-server on PATH (" + onPath.get() + ") is " + b.version() + ", older than "
                        + RedisVersion.MINIMUM);
            } catch (Exception e) {
                skips.add("redis-server on PATH (" + onPath.get() + ") unusable: " + e);
            }
        } else {
            skips.add("no redis-server on PATH");
        }
        try {
            Path extracted = EmbeddedRedisBinary.extract(ProcessRegistry.binDir());
            RedisBinary b = RedisBinary.probe(extracted, RedisProvider.EMBEDDED_BINARY);
            if (b.version().atLeast(RedisVersion.MINIMUM)) {
                return b;
            }
            skips.add("the embedded-redis binary is " + b.version() + ", older than " + RedisVersion.MINIMUM);
        } catch (LinkageError e) {
            skips.add("com.github.codemonstur:embedded-redis not on the test class path");
        } catch (Exception e) {
            skips.add("embedded-redis binary unusable: " + e);
        }
        return null;
    }

    private static String noProviderMessage(List<String> skips) {
        boolean ci = "true".equalsIgnoreCase(System.getenv("CI"));
        return "No Redis server for tests. Tried, in order: " + String.join("; ", skips) + ". "
                + "Set REDIS_URL=redis://host:port, run a Docker engine, or put redis-server (>= "
                + RedisVersion.MINIMUM + ") on PATH."
                + (ci ? " CI=true: Redis tests are never skipped in CI, so this is a failure." : "");
    }

    private static void requireMinimum(RedisVersion version, String where) {
        if (!version.atLeast(RedisVersion.MINIMUM)) {
            throw new IllegalStateException(where + " runs Redis " + version + "; tests need " + RedisVersion.MINIMUM
                    + " or later");
        }
    }

    /** Never log a password that a REDIS_URL may carry. */
    static String redact(String url) {
        return url.replaceAll("//[^@/]*@", "//***@");
    }
}
