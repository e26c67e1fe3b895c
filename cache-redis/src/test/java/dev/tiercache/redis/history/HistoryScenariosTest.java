package dev.tiercache.redis.history;

import dev.tiercache.redis.testing.TcpProxy;
import dev.tiercache.redis.testing.TcpProxy.Mode;
import dev.tiercache.redis.testing.RedisExtension;
import io.lettuce.core.RedisURI;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Issue 9's history checks on a standalone Redis the test owns: three instances, reads and writes of every kind from
 * four threads each, one fault per scenario, then {@link HistoryChecker}. Tagged {@code history}; the scenarios that
 * the product does not pass yet are also tagged {@code history-pending}, which the default build excludes.
 *
 * <pre>
 * mvn -B -o -pl cache-redis -am test -Dtest='dev.tiercache.redis.history.**' -Dsurefire.failIfNoSpecifiedTests=false \
 *     -Dgroups=history -Dtiercache.excludedGroups=none          # every scenario, short form
 * ... -Dhistory.seconds=30                                      # issue 9's long form, and a table
 * </pre>
 */
@Tag("history")
@Timeout(value = 10, unit = TimeUnit.MINUTES)
@TestMethodOrder(MethodOrderer.MethodName.class)
class HistoryScenariosTest {

  @RegisterExtension
  static final RedisExtension REDIS = RedisExtension.standalone().withProcessControl();

  /** Scenarios the product does not pass yet: out of the default build (see cache-redis/pom.xml). */
  static final String PENDING = "history-pending";

  private static final Scenarios SCENARIOS = new Scenarios();

  @AfterAll
  static void table() {
    SCENARIOS.printTable("standalone Redis");
  }

  private static CacheInstances direct() {
    return CacheInstances.standalone(i -> REDIS.uri());
  }

  /**
   * No fault: the contract only. (Writes may still throw here: on a loaded machine one L2 call past the timeout
   * queues an invalidation, and the instance then refuses its L2, so its writes throw, until the queue drains.)
   */
  @Test
  void steady() throws Exception {
    SCENARIOS.assertCoherent("steady", direct(), Workload.Fault.NONE);
  }

  @Test
  void pubSubConnectionsKilled() throws Exception {
    SCENARIOS.assertCoherent("pubsub-killed", direct(), Faults.killPubSub(REDIS.uri(), SCENARIOS.timing()));
  }

  @Test
  void redisStoppedAndRestartedEmpty() throws Exception {
    SCENARIOS.assertCoherent("restarted-empty", direct(), Faults.restartEmpty(REDIS, SCENARIOS.timing()));
  }

  @Test
  void redisFrozen() throws Exception {
    SCENARIOS.assertCoherent("frozen", direct(), Faults.freeze(REDIS, SCENARIOS.timing()));
  }

  @Test
  void redisSlowedByClientPause() throws Exception {
    SCENARIOS.assertCoherent("client-pause", direct(), Faults.clientPause(REDIS.uri(), SCENARIOS.timing()));
  }

  @Test
  void olderSnapshotRestoredByRestart() throws Exception {
    SCENARIOS.assertCoherent("snapshot-restart", direct(),
        Faults.restoreSnapshotByRestart(REDIS, SCENARIOS.timing()));
  }

  @Test
  void olderSnapshotRestoredByDebugReload() throws Exception {
    SCENARIOS.assertCoherent("snapshot-reload", direct(),
        Faults.restoreSnapshotByReload(REDIS.uri(), SCENARIOS.timing()));
  }

  @Test
  void oneInstanceCutOffSilently() throws Exception {
    cutOff("cut-off-silent", Mode.SILENT);
  }

  @Test
  void oneInstanceCutOffByResets() throws Exception {
    cutOff("cut-off-reset", Mode.RESET);
  }

  private static void cutOff(String scenario, Mode mode) throws Exception {
    RedisURI redis = REDIS.uri();
    try (TcpProxy proxy = new TcpProxy(redis.getHost(), redis.getPort())) {
      SCENARIOS.assertCoherent(scenario, CacheInstances.standalone(i -> i == 0 ? proxy.uri(redis) : REDIS.uri()),
          Faults.cutOff(proxy, mode, SCENARIOS.timing()));
    }
  }
}
