package dev.tiercache.redis.testing;

import io.lettuce.core.RedisURI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A Redis Cluster of N masters with one replica each, for failover tests: kill a master ({@link #killMaster}, or
 * stop it yourself) and its replica is promoted after the node timeout. Built from the same parts as
 * {@link RedisExtension#cluster(int)}; register it on a static field. The processes live for the test class; a
 * class that kills a node leaves the cluster with one master fewer, so one failover per class.
 */
public final class RedisReplicatedCluster implements BeforeAllCallback, AfterAllCallback {

    private static final Duration READY = Duration.ofSeconds(30);
    private static final int START_ATTEMPTS = 5;

    private final int masters;
    private final Duration nodeTimeout;
    private final List<RedisNode> masterNodes = new ArrayList<>();
    private final List<RedisNode> replicaNodes = new ArrayList<>();

    /**
     * A cluster to be started before the class's tests.
     *
     * @param masters how many masters, each with one replica
     * @param nodeTimeout {@code cluster-node-timeout}: how long a dead master takes to be failed over
     */
    public RedisReplicatedCluster(int masters, Duration nodeTimeout) {
        this.masters = masters;
        this.nodeTimeout = nodeTimeout;
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        RedisBinary binary = RedisProviders.binaryForOwnedProcess("replicated Redis Cluster fixtures");
        String owner = context.getRequiredTestClass().getSimpleName();
        for (int i = 0; i < masters; i++) {
            masterNodes.add(start(binary, owner));
        }
        RedisClusterFormation.form(masterNodes, READY);
        for (int i = 0; i < masters; i++) {
            RedisNode master = masterNodes.get(i);
            RedisNode replica = start(binary, owner);
            replicaNodes.add(replica);
            String masterId = RedisAdmin.call(master.uri(), c -> c.clusterMyId());
            RedisAdmin.call(replica.uri(), c -> c.clusterMeet(master.host(), master.port()));
            // A replica can follow a master only once gossip told it about the master.
            Awaitility.await(replica + " knows its master").atMost(READY).ignoreExceptions()
                    .pollInterval(Duration.ofMillis(50))
                    .until(() -> RedisAdmin.call(replica.uri(), c -> c.clusterNodes()).contains(masterId));
            RedisAdmin.call(replica.uri(), c -> c.clusterReplicate(masterId));
        }
        RedisClusterFormation.awaitOk(nodes(), READY);
        for (RedisNode replica : replicaNodes) {
            Awaitility.await(replica + " is in sync").atMost(READY).ignoreExceptions()
                    .pollInterval(Duration.ofMillis(50))
                    .until(() -> RedisAdmin.call(replica.uri(), c -> c.info("replication"))
                            .contains("master_link_status:up"));
        }
    }

    @Override
    public void afterAll(ExtensionContext context) {
        for (RedisNode node : nodes()) {
            node.stop();
            ProcessRegistry.deleteTree(node.dir());
        }
    }

    /**
     * The masters, in formation order (their replica has the same index in {@link #replicas()}).
     *
     * @return the master nodes
     */
    public List<RedisNode> masters() {
        return List.copyOf(masterNodes);
    }

    /**
     * The replicas, one per master.
     *
     * @return the replica nodes
     */
    public List<RedisNode> replicas() {
        return List.copyOf(replicaNodes);
    }

    /**
     * Seeds for a cluster client: the masters' URIs.
     *
     * @return fresh URIs
     */
    public List<RedisURI> uris() {
        return masterNodes.stream().map(RedisNode::uri).toList();
    }

    /**
     * Whether every running node reports {@code cluster_state:ok} with all slots served.
     *
     * @return true when the cluster is healthy as seen from every live node
     */
    public boolean healthy() {
        for (RedisNode node : nodes()) {
            if (!node.isRunning()) {
                continue;
            }
            String info;
            try {
                info = RedisAdmin.call(node.uri(), c -> c.clusterInfo());
            } catch (RuntimeException e) {
                return false;
            }
            if (!info.contains("cluster_state:ok") || !info.contains("cluster_slots_ok:" + RedisClusterFormation.SLOTS)) {
                return false;
            }
        }
        return true;
    }

    /**
     * The nodes that are masters now and running, masters before replicas in start order.
     *
     * @return the live masters
     */
    public List<RedisNode> liveMasters() {
        return nodes().stream().filter(n -> n.isRunning() && role(n).equals("master")).toList();
    }

    /**
     * Stops a master (SIGTERM; with nothing to persist it exits at once) and waits until one of its replicas is a
     * master and every running node reports {@code cluster_state:ok} with all slots.
     *
     * @param master a node of {@link #liveMasters()}
     * @return the promoted replica
     */
    public RedisNode killMaster(RedisNode master) {
        String id = nodeId(master);
        List<RedisNode> followers = replicaNodes.stream()
                .filter(r -> r.isRunning() && replication(r).contains("master_port:" + master.port()))
                .toList();
        if (followers.isEmpty()) {
            throw new IllegalStateException(master + " (" + id + ") has no running replica");
        }
        master.stop();
        return Awaitility.await("a replica of " + master + " is promoted and the cluster is ok")
                .atMost(READY).pollInterval(Duration.ofMillis(100)).ignoreExceptions()
                .until(() -> followers.stream().filter(r -> role(r).equals("master")).findFirst()
                                .filter(promoted -> healthy()),
                        Optional::isPresent)
                .orElseThrow();
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

    /**
     * The node id of a node.
     *
     * @param node a node of this cluster
     * @return its cluster node id
     */
    public String nodeId(RedisNode node) {
        return RedisAdmin.call(node.uri(), c -> c.clusterMyId());
    }

    private List<RedisNode> nodes() {
        List<RedisNode> all = new ArrayList<>(masterNodes);
        all.addAll(replicaNodes);
        return all;
    }

    private RedisNode start(RedisBinary binary, String owner) {
        for (int attempt = 1; ; attempt++) {
            int port = LoopbackPorts.pick(true);
            Path dir = ProcessRegistry.jvmDir().resolve(owner + "-" + port);
            RedisNode node = new RedisNode(binary, port, dir, List.of(
                    "--cluster-enabled", "yes",
                    "--cluster-config-file", dir.resolve("nodes.conf").toString(),
                    "--cluster-node-timeout", Long.toString(nodeTimeout.toMillis())));
            try {
                node.start();
                return node;
            } catch (RedisNode.StartFailure e) {
                ProcessRegistry.deleteTree(dir);
                if (!e.addressInUse || attempt >= START_ATTEMPTS) {
                    throw e;
                }
            }
        }
    }
}
