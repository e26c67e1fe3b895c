package dev.tiercache.redis.history;

import dev.tiercache.redis.testing.RedisNode;
import dev.tiercache.redis.testing.RedisReplicatedCluster;
import java.time.Duration;
import java.util.Comparator;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Issue 9's failover run: a Redis Cluster of 3 masters with a replica each; the master holding the most keys is
 * killed and its replica promoted while three instances read and write. Slower than the standalone scenarios (six
 * processes to form, and the failover itself takes the cluster node timeout and an election), so tagged
 * {@code history-slow} as well, which the default build excludes. A steady run on the same cluster comes first.
 */
@Tag("history")
@Tag("history-slow")
@Timeout(value = 10, unit = TimeUnit.MINUTES)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ClusterFailoverHistoryTest {

  @RegisterExtension
  static final RedisReplicatedCluster CLUSTER = new RedisReplicatedCluster(3, Duration.ofSeconds(2));

  private static final Scenarios SCENARIOS = new Scenarios();

  @AfterAll
  static void table() {
    SCENARIOS.printTable("Redis Cluster 3+3");
  }

  /** The same workload on the healthy cluster first: what the failover run is compared with. */
  @Test
  @Order(1)
  @Tag(HistoryScenariosTest.PENDING)
  void steady() throws Exception {
    SCENARIOS.assertSteady("cluster-steady", CacheInstances.cluster(CLUSTER.uris()));
  }

  @Test
  @Order(2)
  void masterKilledAndReplicaPromoted() throws Exception {
    Faults.Timing timing = SCENARIOS.timing();
    // Long enough for the failover (node timeout 2 s, then an election) and a few seconds of healed cluster after it.
    Duration length = timing.isShort() ? Duration.ofSeconds(10) : timing.run();
    SCENARIOS.assertCoherent("cluster-failover", CacheInstances.cluster(CLUSTER.uris()), context -> {
      context.at(timing.faultAt());
      RedisNode busiest = CLUSTER.liveMasters().stream()
          .max(Comparator.comparingLong(n -> Faults.withAdmin(n.uri(), c -> c.dbsize())))
          .orElseThrow();
      long from = System.nanoTime();
      CLUSTER.killMaster(busiest);
      context.window("busiest master killed, until its replica was promoted and the cluster ok", from);
    }, length);
  }
}
