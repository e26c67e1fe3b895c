package dev.tiercache.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.tiercache.redis.testing.RedisExtension;
import dev.tiercache.redis.testing.RedisNode;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.codec.ByteArrayCodec;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The bus on a real 3-master Redis Cluster: Redis orders Pub/Sub per node only, so a heartbeat is published on every
 * master and proves delivery of what each of them published before it; a master that came back after losing what
 * it was relaying is noticed.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class RedisClusterBusTest {

  @RegisterExtension
  static final RedisExtension REDIS = RedisExtension.cluster(3);

  private final String cache = "cbus-" + Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 1);
  private RedisClusterClient client;
  private RedisClient direct;
  private RedisTier tier;

  @BeforeEach
  void open() {
    client = RedisClusterClient.create(REDIS.uris());
    client.setOptions(RedisTier.recommendedClusterClientOptions());
    tier = RedisTier.create(client, RedisTierOptions.builder().heartbeatTimeout(Duration.ofMillis(500)).build());
    direct = RedisClient.create();
  }

  @AfterEach
  void close() {
    tier.close();
    client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    direct.shutdown(Duration.ZERO, Duration.ofSeconds(2));
  }

  @Test
  void aHeartbeatComesBackBehindWhatEveryMasterPublishedBeforeIt() throws Exception {
    RecordingListener listener = new RecordingListener();
    tier.bus().subscribe(cache, listener);
    byte[] channel = ("tiercache:bus:" + cache).getBytes(StandardCharsets.UTF_8);
    List<StatefulRedisConnection<byte[], byte[]>> masters = new ArrayList<>();
    for (RedisNode node : REDIS.nodes()) {
      masters.add(direct.connect(ByteArrayCodec.INSTANCE, node.uri()));
    }
    try {
      long sequence = 0;
      for (int round = 1; round <= 10; round++) {
        // As the invalidation scripts do: each master publishes what its buckets invalidated.
        List<CompletableFuture<Long>> published = new ArrayList<>();
        for (StatefulRedisConnection<byte[], byte[]> master : masters) {
          for (int i = 0; i < 20; i++) {
            byte[] frame = BusFrames.message(RecordingListener.message("peer", ++sequence, "k" + sequence));
            published.add(master.async().publish(channel, frame).toCompletableFuture());
          }
        }
        CompletableFuture.allOf(published.toArray(CompletableFuture[]::new)).get(5, TimeUnit.SECONDS);

        tier.bus().heartbeat(cache).get(5, TimeUnit.SECONDS);

        assertThat(listener.messages).hasSize((int) sequence);
      }
    } finally {
      masters.forEach(StatefulRedisConnection::close);
    }
  }

  @Test
  void aMasterThatWasAwayWhileHeartbeatsWereSentMakesTheBusSuspect() throws Exception {
    RecordingListener listener = new RecordingListener();
    tier.bus().subscribe(cache, listener);
    tier.bus().heartbeat(cache).get(5, TimeUnit.SECONDS);
    // A master other than the one the subscription lives on, so the subscription itself never drops.
    RedisNode away = REDIS.nodes().stream().filter(n -> !hostsPubSub(n)).findFirst().orElseThrow();

    away.stop();
    for (int i = 0; i < 3; i++) {
      assertThat(tier.bus().heartbeat(cache)).failsWithin(Duration.ofSeconds(5));
    }
    away.start();
    REDIS.awaitClusterOk();
    await().atMost(Duration.ofSeconds(20)).ignoreExceptions().pollInterval(Duration.ofMillis(50))
        .until(() -> tier.bus().heartbeat(cache).get(2, TimeUnit.SECONDS) != null);

    assertThat(listener.count("suspect")).isPositive();
    assertThat(listener.events).doesNotContain("lost");
  }

  private boolean hostsPubSub(RedisNode node) {
    try (StatefulRedisConnection<String, String> c = direct.connect(node.uri())) {
      return c.sync().clientList().lines().anyMatch(l -> l.matches(".*\\bsub=[1-9].*"));
    }
  }
}
