package dev.tiercache.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.tiercache.redis.testing.RedisNode;
import dev.tiercache.redis.testing.RedisReplicatedCluster;
import io.lettuce.core.cluster.ClusterClientOptions;
import io.lettuce.core.cluster.ClusterTopologyRefreshOptions;
import io.lettuce.core.cluster.RedisClusterClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Issue 9, "Cluster failover heals as fast as the cluster does": a master of a 3+3 Redis Cluster is killed and its
 * replica promoted; the tier's L2 (every bucket) and its bus heartbeat (every master) work again within about a
 * second of the cluster reporting healthy, instead of waiting for a 30 s periodic topology refresh.
 *
 * <p>{@code -Dfailover.legacyOptions=true} runs it with the options of before (adaptive triggers rate-limited to one
 * per 30 s, periodic refresh every 30 s) to compare; the bound then fails.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class RedisClusterFailoverTest {

  @RegisterExtension
  static final RedisReplicatedCluster CLUSTER = new RedisReplicatedCluster(3, Duration.ofMillis(1_000));

  private static final Duration HEAL_BOUND = Duration.ofMillis(1_500);
  private static final Duration PROBE_TIMEOUT = Duration.ofMillis(300);

  @Test
  void theL2AndTheHeartbeatHealWithinASecondOfTheClusterAfterAFailover() throws Exception {
    RedisClusterClient client = RedisClusterClient.create(CLUSTER.uris());
    io.lettuce.core.RedisClient admin = io.lettuce.core.RedisClient.create();
    client.setOptions(Boolean.getBoolean("failover.legacyOptions") ? legacyOptions()
        : RedisTier.recommendedClusterClientOptions());
    try (RedisTier tier = RedisTier.create(client, RedisTierOptions.builder()
        .heartbeatTimeout(PROBE_TIMEOUT).build())) {
      RecordingListener listener = new RecordingListener();
      tier.bus().subscribe("failover", listener);
      List<String> oneKeyPerBucket = oneKeyPerBucket(RedisTierOptions.DEFAULT_CLUSTER_BUCKETS);
      await().atMost(Duration.ofSeconds(10)).until(() -> l2Works(tier, oneKeyPerBucket) && heartbeatWorks(tier));

      RedisNode victim = CLUSTER.masters().get(0);
      RedisNode heir = CLUSTER.replicas().get(0);
      AtomicBoolean failed = new AtomicBoolean();
      AtomicLong l2Back = new AtomicLong();
      AtomicLong heartbeatBack = new AtomicLong();
      long killed = System.nanoTime();
      victim.stop();
      Thread prober = new Thread(() -> {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline && (l2Back.get() == 0 || heartbeatBack.get() == 0)) {
          boolean l2 = l2Works(tier, oneKeyPerBucket);
          boolean heartbeat = heartbeatWorks(tier);
          failed.compareAndSet(false, !l2);
          long now = System.nanoTime();
          if (failed.get() && l2) {
            l2Back.compareAndSet(0, now);
          }
          if (failed.get() && heartbeat) {
            heartbeatBack.compareAndSet(0, now);
          }
          java.util.concurrent.locks.LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(10));
        }
      }, "failover-prober");
      prober.start();

      await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(10))
          .until(() -> heir.isRunning() && promoted(admin, heir) && CLUSTER.healthy());
      long healthy = System.nanoTime();
      prober.join(TimeUnit.SECONDS.toMillis(60));

      Map<String, String> figures = new LinkedHashMap<>();
      figures.put("cluster healthy after kill", FaultKit.ms(healthy - killed));
      figures.put("L2 back after healthy", FaultKit.ms(l2Back.get() - healthy));
      figures.put("heartbeat back after healthy", FaultKit.ms(heartbeatBack.get() - healthy));
      System.out.println("FAULT cluster failover: " + figures);
      assertThat(failed).as("the L2 failed while the master was dead").isTrue();
      assertThat(l2Back.get()).as("the L2 came back").isNotZero();
      assertThat(heartbeatBack.get()).as("the heartbeat came back").isNotZero();
      assertThat(Duration.ofNanos(l2Back.get() - healthy)).isLessThan(HEAL_BOUND);
      assertThat(Duration.ofNanos(heartbeatBack.get() - healthy)).isLessThan(HEAL_BOUND);
      // The dead master may have died with messages it was still relaying: the caches were told to clear.
      assertThat(listener.count("suspect")).as("suspects after the failover").isPositive();
    } finally {
      client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
      admin.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
  }

  /** Every bucket answers a read within the probe timeout. */
  private static boolean l2Works(RedisTier tier, List<String> keys) {
    List<CompletableFuture<?>> reads = new ArrayList<>();
    keys.forEach(k -> reads.add(tier.get("failover", k)));
    try {
      CompletableFuture.allOf(reads.toArray(CompletableFuture[]::new))
          .get(PROBE_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
      return true;
    } catch (Exception e) {
      return false;
    }
  }

  private static boolean heartbeatWorks(RedisTier tier) {
    try {
      tier.bus().heartbeat("failover").get(PROBE_TIMEOUT.toMillis() * 2, TimeUnit.MILLISECONDS);
      return true;
    } catch (Exception e) {
      return false;
    }
  }

  private static boolean promoted(io.lettuce.core.RedisClient admin, RedisNode node) {
    try (var c = admin.connect(node.uri())) {
      return c.sync().info("replication").contains("role:master");
    } catch (RuntimeException e) {
      return false;
    }
  }

  private static List<String> oneKeyPerBucket(int buckets) {
    KeySpace keys = new KeySpace(RedisTierOptions.DEFAULT_NAMESPACE, buckets);
    Map<Integer, String> byBucket = new LinkedHashMap<>();
    for (int i = 0; byBucket.size() < buckets && i < 100_000; i++) {
      byBucket.putIfAbsent(keys.bucketOf("key" + i), "key" + i);
    }
    return List.copyOf(byBucket.values());
  }

  /** The recommended Cluster options before issue 9, for comparison. */
  private static ClusterClientOptions legacyOptions() {
    return ClusterClientOptions.builder()
        .topologyRefreshOptions(ClusterTopologyRefreshOptions.builder()
            .enableAllAdaptiveRefreshTriggers()
            .enablePeriodicRefresh(Duration.ofSeconds(30))
            .build())
        .disconnectedBehavior(io.lettuce.core.ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
        .build();
  }
}
