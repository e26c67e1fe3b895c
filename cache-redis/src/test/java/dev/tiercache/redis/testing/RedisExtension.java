package dev.tiercache.redis.testing;

import io.lettuce.core.RedisURI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionConfigurationException;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real Redis for a test class: a standalone server or a Redis Cluster of several {@code redis-server} processes.
 *
 * <pre>{@code
 * @RegisterExtension
 * static RedisExtension redis = RedisExtension.standalone();
 * }</pre>
 *
 * <p>A standalone server comes from, in order: {@code REDIS_URL}; Testcontainers ({@code redis:7-alpine}) when a
 * Docker engine is reachable; {@code redis-server} on {@code PATH}; the redis-server 6.2 binary shipped inside the
 * {@code com.github.codemonstur:embedded-redis} jar. A cluster, and a standalone server created
 * {@link #withProcessControl() with process control}, come from the last two only, because the fixture must own the
 * processes. The choice is made once per JVM and logged once at INFO. When nothing works the class fails with a
 * message naming what was tried; it is never skipped, least of all in CI.
 *
 * <p>Servers the fixture starts listen on 127.0.0.1 only, persist nothing, live for the test class (register the
 * extension on a {@code static} field) and are killed on JVM exit too. A shared server (REDIS_URL, the container)
 * is flushed before each class instead. After each test, a server the test left stopped or frozen is brought back,
 * so one fault test cannot break the next.
 */
public final class RedisExtension implements BeforeAllCallback, AfterAllCallback, BeforeEachCallback,
        AfterEachCallback {

    private static final Logger LOG = LoggerFactory.getLogger(RedisExtension.class);
    private static final int START_ATTEMPTS = 5;

    private final int clusterSize;
    private boolean processControl;
    private Duration clusterNodeTimeout = Duration.ofSeconds(5);
    private Duration clusterReadyTimeout = Duration.ofSeconds(20);

    private String ownerId;
    private RedisProvider provider;
    private RedisVersion version;
    private String externalUri;
    private final List<RedisNode> nodes = new ArrayList<>();

    private RedisExtension(int clusterSize) {
        this.clusterSize = clusterSize;
    }

    /**
     * One standalone Redis from the provider chain.
     *
     * @return a new extension to register on a static field
     */
    public static RedisExtension standalone() {
        return new RedisExtension(0);
    }

    /**
     * A Redis Cluster of {@code masters} redis-server processes on loopback ports, no replicas, the 16384 slots
     * split in equal ranges. Formed without redis-cli, and ready (cluster_state:ok on every node) before the first
     * test runs.
     *
     * @param masters how many master nodes, at least 1
     * @return a new extension to register on a static field
     */
    public static RedisExtension cluster(int masters) {
        if (masters < 1) {
            throw new IllegalArgumentException("a cluster needs at least one master, got " + masters);
        }
        return new RedisExtension(masters);
    }

    /**
     * Makes a standalone fixture launch its own redis-server even when REDIS_URL or Docker is available, so that
     * {@link #restart()}, {@link #stop()}, {@link #freeze()} and {@link #pid()} work. Clusters always own theirs.
     *
     * @return this extension
     */
    public RedisExtension withProcessControl() {
        this.processControl = true;
        return this;
    }

    /**
     * Sets {@code cluster-node-timeout} (default 5 s, Redis's own default is 15 s): how long a frozen or stopped
     * node takes to be marked failed, which bounds how long a cluster fault test runs.
     *
     * @param timeout the node timeout
     * @return this extension
     */
    public RedisExtension withClusterNodeTimeout(Duration timeout) {
        this.clusterNodeTimeout = Objects.requireNonNull(timeout);
        return this;
    }

    /**
     * Sets how long forming or healing a cluster may take before the class fails (default 20 s).
     *
     * @param timeout the bound
     * @return this extension
     */
    public RedisExtension withClusterReadyTimeout(Duration timeout) {
        this.clusterReadyTimeout = Objects.requireNonNull(timeout);
        return this;
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        if (ownerId != null) {
            return; // a @Nested class shares its enclosing class's server
        }
        ownerId = context.getUniqueId();
        try {
            startServers(context.getRequiredTestClass().getSimpleName());
        } catch (RuntimeException e) {
            stopServers();
            ownerId = null;
            throw new ExtensionConfigurationException("RedisExtension could not provide Redis for "
                    + context.getDisplayName() + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void afterAll(ExtensionContext context) {
        if (context.getUniqueId().equals(ownerId)) {
            ownerId = null;
            stopServers();
        }
    }

    @Override
    public void beforeEach(ExtensionContext context) {
        if (ownerId == null) {
            throw new ExtensionConfigurationException(
                    "RedisExtension must be registered on a static field (@RegisterExtension static ...): "
                            + "it starts Redis once per class");
        }
    }

    @Override
    public void afterEach(ExtensionContext context) {
        boolean healed = false;
        for (RedisNode node : nodes) {
            if (node.isFrozen()) {
                node.unfreeze();
                healed = true;
            }
            if (!node.isRunning()) {
                node.start();
                healed = true;
            }
        }
        if (healed) {
            LOG.info("{} left Redis stopped or frozen; brought it back", context.getDisplayName());
            if (isCluster()) {
                awaitClusterOk();
            }
        }
    }

    /**
     * Which provider serves this class.
     *
     * @return the provider
     */
    public RedisProvider provider() {
        return requireStarted(provider);
    }

    /**
     * The server's version, as {@code INFO server} or {@code redis-server --version} reported it.
     *
     * @return e.g. "6.2.11"
     */
    public String serverVersion() {
        return requireStarted(version).toString();
    }

    /**
     * Tells whether this fixture is a Redis Cluster.
     *
     * @return true for {@link #cluster(int)}
     */
    public boolean isCluster() {
        return clusterSize > 0;
    }

    /**
     * A new URI for the standalone server, or for the first cluster node (a valid seed for RedisClusterClient).
     *
     * @return a fresh, mutable copy each call
     */
    public RedisURI uri() {
        if (externalUri != null) {
            return RedisURI.create(externalUri);
        }
        return firstNode().uri();
    }

    /**
     * The host of {@link #uri()}.
     *
     * @return the host name or address
     */
    public String host() {
        return uri().getHost();
    }

    /**
     * The port of {@link #uri()}.
     *
     * @return the TCP port
     */
    public int port() {
        return uri().getPort();
    }

    /**
     * The URIs of every node, for {@code RedisClusterClient.create(redis.uris())}; one element when standalone.
     *
     * @return fresh URIs in node order
     */
    public List<RedisURI> uris() {
        if (externalUri != null) {
            return List.of(uri());
        }
        requireStarted(provider);
        return nodes.stream().map(RedisNode::uri).toList();
    }

    /**
     * The processes this fixture owns, in node order; empty when the server is REDIS_URL's or a container.
     *
     * @return an unmodifiable list
     */
    public List<RedisNode> nodes() {
        return List.copyOf(nodes);
    }

    /**
     * One owned process, for node-level faults in a cluster.
     *
     * @param index 0-based node index
     * @return the node
     */
    public RedisNode node(int index) {
        requireOwned("node(" + index + ")");
        return nodes.get(index);
    }

    /** Deletes every key on every node (FLUSHALL, synchronous). */
    public void flushAll() {
        for (RedisURI target : uris()) {
            String reply = RedisAdmin.call(target, c -> c.flushall());
            if (!"OK".equals(reply)) {
                throw new IllegalStateException("FLUSHALL on " + target + " answered " + reply);
            }
        }
    }

    /**
     * Stops and starts every node on the same ports: the data is gone, connections break, a cluster keeps its
     * topology (nodes.conf survives) and is ready again before this returns.
     */
    public void restart() {
        stop();
        start();
    }

    /** Stops every node (SIGTERM, then SIGKILL after 5 s). */
    public void stop() {
        requireOwned("stop()");
        for (RedisNode node : nodes) {
            node.stop();
        }
    }

    /** Starts every stopped node on its old port and, for a cluster, waits until it reports ok again. */
    public void start() {
        requireOwned("start()");
        for (RedisNode node : nodes) {
            node.start();
        }
        if (isCluster()) {
            awaitClusterOk();
        }
    }

    /** Freezes every node with SIGSTOP: connections open, nothing answered, until {@link #unfreeze()}. */
    public void freeze() {
        requireOwned("freeze()");
        for (RedisNode node : nodes) {
            node.freeze();
        }
    }

    /** Resumes every frozen node with SIGCONT and waits until each answers PING. */
    public void unfreeze() {
        requireOwned("unfreeze()");
        for (RedisNode node : nodes) {
            node.unfreeze();
        }
    }

    /**
     * The standalone server's process id.
     *
     * @return the pid
     */
    public long pid() {
        requireOwned("pid()");
        if (isCluster()) {
            throw new UnsupportedOperationException("a cluster has one pid per node: use node(i).pid()");
        }
        return firstNode().pid();
    }

    /** Waits (at most the cluster ready timeout) until every node reports cluster_state:ok with all slots. */
    public void awaitClusterOk() {
        if (!isCluster()) {
            throw new UnsupportedOperationException("not a cluster");
        }
        RedisClusterFormation.awaitOk(nodes, clusterReadyTimeout);
    }

    private void startServers(String owner) {
        if (isCluster()) {
            RedisBinary binary = RedisProviders.binaryForOwnedProcess("Redis Cluster fixtures");
            for (int i = 0; i < clusterSize; i++) {
                nodes.add(startNode(binary, owner, true));
            }
            RedisClusterFormation.form(nodes, clusterReadyTimeout);
            provider = binary.provider();
            version = binary.version();
            return;
        }
        RedisBinary binary;
        if (processControl) {
            binary = RedisProviders.binaryForOwnedProcess("fixtures with process control");
        } else {
            RedisProviders.Source source = RedisProviders.standalone();
            if (source.binary() == null) {
                provider = source.provider();
                version = source.version();
                externalUri = source.externalUri();
                flushAll();
                return;
            }
            binary = source.binary();
        }
        nodes.add(startNode(binary, owner, false));
        provider = binary.provider();
        version = binary.version();
    }

    private RedisNode startNode(RedisBinary binary, String owner, boolean clusterNode) {
        Path jvmDir = ProcessRegistry.jvmDir();
        for (int attempt = 1; ; attempt++) {
            int port = LoopbackPorts.pick(clusterNode);
            Path dir = jvmDir.resolve(owner + "-" + port);
            List<String> args = clusterNode
                    ? List.of("--cluster-enabled", "yes",
                            "--cluster-config-file", dir.resolve("nodes.conf").toString(),
                            "--cluster-node-timeout", Long.toString(clusterNodeTimeout.toMillis()))
                    : List.of();
            RedisNode node = new RedisNode(binary, port, dir, args);
            try {
                node.start();
                return node;
            } catch (RedisNode.StartFailure e) {
                ProcessRegistry.deleteTree(dir);
                // Another process may take a port between our probe and redis-server's bind.
                if (!e.addressInUse || attempt >= START_ATTEMPTS) {
                    throw e;
                }
                LOG.debug("port {} was taken before redis-server bound it; trying another", port);
            }
        }
    }

    private void stopServers() {
        RuntimeException first = null;
        for (RedisNode node : nodes) {
            try {
                node.stop();
                ProcessRegistry.deleteTree(node.dir());
            } catch (RuntimeException e) {
                if (first == null) {
                    first = e;
                } else {
                    first.addSuppressed(e);
                }
            }
        }
        nodes.clear();
        provider = null;
        version = null;
        externalUri = null;
        if (first != null) {
            throw first;
        }
    }

    private RedisNode firstNode() {
        requireStarted(provider);
        return nodes.get(0);
    }

    private void requireOwned(String operation) {
        requireStarted(provider);
        if (nodes.isEmpty()) {
            throw new UnsupportedOperationException(operation + " needs a redis-server the fixture owns, but this "
                    + "class is served by " + provider + ": use RedisExtension.standalone().withProcessControl()");
        }
    }

    private static <T> T requireStarted(T value) {
        if (value == null) {
            throw new IllegalStateException("Redis is not started: register RedisExtension with @RegisterExtension "
                    + "on a static field and use it from tests or @BeforeAll/@BeforeEach methods");
        }
        return value;
    }
}
