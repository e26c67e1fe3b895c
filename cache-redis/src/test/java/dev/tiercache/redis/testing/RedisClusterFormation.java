package dev.tiercache.redis.testing;

import java.time.Duration;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.awaitility.Awaitility;
import org.awaitility.core.ConditionTimeoutException;

/**
 * Turns N empty cluster-enabled redis-servers into one Redis Cluster through Lettuce, without redis-cli (which the
 * embedded-redis artifact does not ship): each node takes an equal range of the 16384 slots, the first node meets
 * the others, and gossip does the rest.
 */
final class RedisClusterFormation {

    static final int SLOTS = 16_384;

    private RedisClusterFormation() {
    }

    static void form(List<RedisNode> nodes, Duration timeout) {
        int n = nodes.size();
        for (int i = 0; i < n; i++) {
            // CLUSTER ADDSLOTSRANGE is Redis 7; ADDSLOTS with every slot listed works on 6.2.
            int[] slots = IntStream.range(i * SLOTS / n, (i + 1) * SLOTS / n).toArray();
            RedisNode node = nodes.get(i);
            String reply = RedisAdmin.call(node.uri(), c -> c.clusterAddSlots(slots));
            if (!"OK".equals(reply)) {
                throw new IllegalStateException("CLUSTER ADDSLOTS on " + node + " answered " + reply);
            }
        }
        RedisAdmin.call(nodes.get(0).uri(), c -> {
            for (RedisNode other : nodes.subList(1, n)) {
                String reply = c.clusterMeet(other.host(), other.port());
                if (!"OK".equals(reply)) {
                    throw new IllegalStateException("CLUSTER MEET " + other + " answered " + reply);
                }
            }
            return null;
        });
        awaitOk(nodes, timeout);
    }

    /**
     * Waits until every node sees all N nodes, all slots assigned and healthy, and cluster_state:ok. A master
     * holds back "ok" for about 2 s after it starts (Redis's writable delay), so this takes a few seconds.
     */
    static void awaitOk(List<RedisNode> nodes, Duration timeout) {
        try {
            Awaitility.await("Redis Cluster of " + nodes.size() + " nodes reports cluster_state:ok on every node")
                    .atMost(timeout)
                    .pollDelay(Duration.ZERO)
                    .pollInterval(Duration.ofMillis(100))
                    .ignoreExceptions()
                    .until(() -> nodes.stream().allMatch(node -> healthy(clusterInfo(node), nodes.size())));
        } catch (ConditionTimeoutException e) {
            String states = nodes.stream()
                    .map(node -> node + ": " + summary(node))
                    .collect(Collectors.joining("\n  "));
            throw new IllegalStateException(e.getMessage() + "\n  " + states, e);
        }
    }

    private static String clusterInfo(RedisNode node) {
        return RedisAdmin.call(node.uri(), c -> c.clusterInfo());
    }

    private static boolean healthy(String info, int size) {
        return info.contains("cluster_state:ok")
                && info.contains("cluster_slots_ok:" + SLOTS)
                && info.contains("cluster_known_nodes:" + size);
    }

    private static String summary(RedisNode node) {
        try {
            return clusterInfo(node).lines()
                    .filter(l -> l.startsWith("cluster_state") || l.startsWith("cluster_slots_")
                            || l.startsWith("cluster_known_nodes"))
                    .collect(Collectors.joining(" "));
        } catch (RuntimeException e) {
            return "unreachable (" + e + ")";
        }
    }
}
