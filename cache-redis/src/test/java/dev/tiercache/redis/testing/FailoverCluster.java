package dev.tiercache.redis.testing;

import io.lettuce.core.RedisURI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionConfigurationException;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A Redis Cluster with one replica per master, for failover tests: {@link #killMaster(int)} stops a master and
 * waits until its replica has been promoted and the cluster reports ok again. Register on a static field:
 *
 * <pre>{@code
 * @RegisterExtension
 * static FailoverCluster CLUSTER = new FailoverCluster(3);
 * }</pre>
 *
 * <p>Slower to start than {@link RedisExtension#cluster(int)} (twice the processes, and replicas must sync), so kept
 * for the tests that need a failover. Processes come from the binary chain, like every cluster's.
 */
public final class FailoverCluster implements BeforeAllCallback, AfterAllCallback {

    private static final Duration NODE_TIMEOUT = Duration.ofMillis(2_000);
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(30);
    private static final Duration POLL = Duration.ofMillis(100);
    private static final int START_ATTEMPTS = 3;

    private final int masters;
    private final List<RedisNode> nodes = new ArrayList<>(); // masters first, then replica i of master i
    private final List<Integer> masterOf = new ArrayList<>(); // node index -> index of the node it serves now

    /**
     * A cluster of {@code masters} masters, each with one replica.
     *
     * @param masters at least 1
     */
    public FailoverCluster(int masters) {
        if (masters < 1) {
            throw new IllegalArgumentException("a cluster needs at least one master, got " + masters);
        }
        this.masters = masters;
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        try {
            start(context.getRequiredTestClass().getSimpleName());
        } catch (RuntimeException e) {
            afterAll(context);
            throw new ExtensionConfigurationException("FailoverCluster could not start: " + e.getMessage(), e);
        }
    }

    @Override
    public void afterAll(ExtensionContext context) {
        for (RedisNode node : nodes) {
            try {
                node.stop();
                ProcessRegistry.deleteTree(node.dir());
            } catch (RuntimeException e) {
                // best effort; the JVM's reaper kills what is left
            }
        }
        nodes.clear();
    }

    /**
     * Seeds for {@code RedisClusterClient.create(...)}: every node.
     *
     * @return fresh URIs
     */
    public List<RedisURI> uris() {
        return nodes.stream().map(RedisNode::uri).toList();
    }

    /**
     * The nodes that are masters now and running, in node order.
     *
     * @return the masters
     */
    public List<RedisNode> liveMasters() {
        return IntStream.range(0, nodes.size())
                .filter(i -> nodes.get(i).isRunning() && role(nodes.get(i)).equals("master"))
                .mapToObj(nodes::get)
                .toList();
    }

    /**
     * Stops a master (SIGTERM; with nothing to persist it exits at once) and waits until its replica is a master and
     * every running node reports cluster_state:ok with all slots.
     *
     * @param master the master to kill, one of {@link #liveMasters()}
     * @return the promoted replica
     */
    public RedisNode killMaster(RedisNode master) {
        int index = nodes.indexOf(master);
        RedisNode replica = nodes.get(replicaOf(index));
        master.stop();
        Awaitility.await(replica + " is promoted after its master " + master + " was killed")
                .atMost(READY_TIMEOUT)
                .pollDelay(Duration.ZERO)
                .pollInterval(POLL)
                .ignoreExceptions()
                .until(() -> role(replica).equals("master") && runningNodesOk());
        return replica;
    }

    /**
     * Starts a killed node again; it rejoins as a replica of whoever took its slots.
     *
     * @param node the node
     */
    public void restart(RedisNode node) {
        node.start();
        RedisClusterFormation.awaitOk(nodes, READY_TIMEOUT);
    }

    private int replicaOf(int index) {
        for (int i = 0; i < nodes.size(); i++) {
            if (masterOf.get(i) == index) {
                return i;
            }
        }
        throw new IllegalStateException(nodes.get(index) + " has no replica");
    }

    private void start(String owner) {
        RedisBinary binary = RedisProviders.binaryForOwnedProcess("Redis Cluster fixtures");
        Path jvmDir = ProcessRegistry.jvmDir();
        for (int i = 0; i < 2 * masters; i++) {
            nodes.add(startNode(binary, jvmDir, owner));
            masterOf.add(i < masters ? -1 : i - masters);
        }
        for (int i = 0; i < masters; i++) {
            int[] slots = IntStream.range(i * RedisClusterFormation.SLOTS / masters,
                    (i + 1) * RedisClusterFormation.SLOTS / masters).toArray();
            String reply = RedisAdmin.call(nodes.get(i).uri(), c -> c.clusterAddSlots(slots));
            if (!"OK".equals(reply)) {
                throw new IllegalStateException("CLUSTER ADDSLOTS on " + nodes.get(i) + " answered " + reply);
            }
        }
        RedisAdmin.call(nodes.get(0).uri(), c -> {
            for (RedisNode other : nodes.subList(1, nodes.size())) {
                c.clusterMeet(other.host(), other.port());
            }
            return null;
        });
        for (int r = masters; r < nodes.size(); r++) {
            RedisNode replica = nodes.get(r);
            String masterId = RedisAdmin.call(nodes.get(r - masters).uri(), c -> c.clusterMyId());
            // The replica must have learnt of its master through gossip first.
            Awaitility.await(replica + " replicates its master")
                    .atMost(READY_TIMEOUT)
                    .pollDelay(Duration.ZERO)
                    .pollInterval(POLL)
                    .ignoreExceptions()
                    .until(() -> "OK".equals(RedisAdmin.call(replica.uri(), c -> c.clusterReplicate(masterId))));
        }
        RedisClusterFormation.awaitOk(nodes, READY_TIMEOUT);
        Awaitility.await("every replica's link to its master is up")
                .atMost(READY_TIMEOUT)
                .pollDelay(Duration.ZERO)
                .pollInterval(POLL)
                .ignoreExceptions()
                .until(() -> nodes.subList(masters, nodes.size()).stream()
                        .allMatch(n -> replication(n).contains("master_link_status:up")));
    }

    /**
     * Starts one node on a fresh port, up to three times: on a loaded machine the first start in a JVM can miss the
     * fixture's 10 s PING deadline while the admin client warms up, and a port can be taken between probe and bind.
     */
    private RedisNode startNode(RedisBinary binary, Path jvmDir, String owner) {
        for (int attempt = 1; ; attempt++) {
            int port = LoopbackPorts.pick(true);
            Path dir = jvmDir.resolve(owner + "-replicated-" + port);
            RedisNode node = new RedisNode(binary, port, dir, List.of(
                    "--cluster-enabled", "yes",
                    "--cluster-config-file", dir.resolve("nodes.conf").toString(),
                    "--cluster-node-timeout", Long.toString(NODE_TIMEOUT.toMillis()),
                    // Any replica may take over, however long its link was down: a test wants the failover.
                    "--cluster-replica-validity-factor", "0"));
            try {
                node.start();
                return node;
            } catch (RedisNode.StartFailure e) {
                ProcessRegistry.deleteTree(dir);
                if (attempt >= START_ATTEMPTS) {
                    throw e;
                }
            }
        }
    }

    private boolean runningNodesOk() {
        return nodes.stream().filter(RedisNode::isRunning).allMatch(n -> {
            String info = RedisAdmin.call(n.uri(), c -> c.clusterInfo());
            return info.contains("cluster_state:ok")
                    && info.contains("cluster_slots_ok:" + RedisClusterFormation.SLOTS);
        });
    }

    private static String replication(RedisNode node) {
        return RedisAdmin.call(node.uri(), c -> c.info("replication"));
    }

    private static String role(RedisNode node) {
        return replication(node).lines()
                .filter(l -> l.startsWith("role:"))
                .map(l -> l.substring("role:".length()).trim())
                .findFirst()
                .orElse("unknown");
    }
}
