package dev.tiercache.redis.history;

import dev.tiercache.redis.testing.RedisExtension;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The history workload on the fixture's plain Redis Cluster (3 masters, no replicas) with no fault: the baseline for
 * {@link ClusterFailoverHistoryTest}, without replicas in the topology.
 */
@Tag("history")
@Tag("history-slow")
@Timeout(value = 10, unit = TimeUnit.MINUTES)
class ClusterSteadyHistoryTest {

  @RegisterExtension
  static final RedisExtension CLUSTER = RedisExtension.cluster(3);

  private static final Scenarios SCENARIOS = new Scenarios();

  @AfterAll
  static void table() {
    SCENARIOS.printTable("Redis Cluster of 3 masters");
  }

  @Test
  @Tag(HistoryScenariosTest.PENDING)
  void steady() throws Exception {
    SCENARIOS.assertSteady("cluster-3-steady", CacheInstances.cluster(CLUSTER.uris()));
  }
}
