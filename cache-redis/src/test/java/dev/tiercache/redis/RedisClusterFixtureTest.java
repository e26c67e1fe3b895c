package dev.tiercache.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tiercache.redis.testing.RedisExtension;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.SlotHash;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.cluster.api.sync.RedisAdvancedClusterCommands;
import io.lettuce.core.cluster.models.partitions.Partitions;
import io.lettuce.core.cluster.models.partitions.RedisClusterNode;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/** A real three-master Redis Cluster on loopback ports, formed without redis-cli. */
@Timeout(value = 45, unit = TimeUnit.SECONDS)
class RedisClusterFixtureTest {

    @RegisterExtension
    static final RedisExtension REDIS = RedisExtension.cluster(3);

    private RedisClusterClient client;
    private StatefulRedisClusterConnection<String, String> connection;
    private RedisAdvancedClusterCommands<String, String> redis;

    @BeforeEach
    void connect() {
        client = RedisClusterClient.create(REDIS.uris());
        connection = client.connect();
        redis = connection.sync();
    }

    @AfterEach
    void close() {
        connection.close();
        client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }

    @Test
    void hundredKeysSpreadOverAllMastersReadBack() {
        List<String> keys = IntStream.range(0, 100).mapToObj(i -> "fixture:key:" + i).toList();

        keys.forEach(k -> assertThat(redis.set(k, "v-" + k)).isEqualTo("OK"));

        keys.forEach(k -> assertThat(redis.get(k)).isEqualTo("v-" + k));
        Partitions partitions = connection.getPartitions();
        Set<String> owners = keys.stream()
                .map(k -> partitions.getPartitionBySlot(SlotHash.getSlot(k)).getNodeId())
                .collect(Collectors.toSet());
        assertThat(owners).as("nodes owning the 100 keys").hasSize(3);
    }

    @Test
    void clusterNodesShowsThreeConnectedMasters() {
        String nodes = redis.clusterNodes();

        List<String> masters = nodes.lines().filter(l -> l.split(" ")[2].contains("master")).toList();
        assertThat(masters).hasSize(3).allSatisfy(l -> assertThat(l).contains("connected"));
        assertThat(nodes.lines()).hasSize(3);
        assertThat(connection.getPartitions())
                .extracting(RedisClusterNode::getUri)
                .extracting(uri -> uri.getPort())
                .containsExactlyInAnyOrderElementsOf(REDIS.uris().stream().map(uri -> uri.getPort()).toList());
    }

    @Test
    void restartedNodeRejoinsEmptyAndTheClusterIsOkAgain() {
        String key = "fixture:restart";
        redis.set(key, "before");
        int slot = SlotHash.getSlot(key);
        int ownerPort = connection.getPartitions().getPartitionBySlot(slot).getUri().getPort();
        int index = IntStream.range(0, 3).filter(i -> REDIS.node(i).port() == ownerPort).findFirst().orElseThrow();
        long pidBefore = REDIS.node(index).pid();

        REDIS.node(index).restart();
        REDIS.awaitClusterOk();

        assertThat(REDIS.node(index).pid()).isNotEqualTo(pidBefore);
        assertThat(redis.get(key)).isNull();
        assertThat(redis.set(key, "after")).isEqualTo("OK");
        assertThat(redis.get(key)).isEqualTo("after");
    }
}
