package dev.tiercache.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.tiercache.redis.testing.RedisExtension;
import io.lettuce.core.RedisClient;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Review 8's suspicion: a channel Redis stops sending to this connection while the bus still counts it as subscribed
 * (a closed cache's UNSUBSCRIBE reaching Redis after a new cache of the same name subscribed again) would deliver
 * nothing while heartbeats, on their own channel, kept proving delivery. Redis's unsubscribe notice is the signal: the
 * listeners hear lost, and the channel is subscribed again (suspect and restored follow).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RedisBusUnsubscribedTest {

  @RegisterExtension static final RedisExtension REDIS = RedisExtension.standalone();

  private final String cache = "unsub-" + Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 1);

  @Test
  void aChannelUnsubscribedUnderTheBusIsReportedLostAndSubscribedAgain() throws Exception {
    RedisClient client = RedisClient.create(REDIS.uri());
    try (RedisTier receiving = RedisTier.create(client);
        RedisTier sending = RedisTier.create(client)) {
      RecordingListener listener = new RecordingListener();
      RedisBus bus = (RedisBus) receiving.bus();
      bus.subscribe(cache, listener);
      await().atMost(Duration.ofSeconds(5)).until(() -> listener.events.equals(List.of("restored")));

      bus.pubSubConnection().sync().unsubscribe(("tiercache:bus:" + cache).getBytes(StandardCharsets.UTF_8));

      await().atMost(Duration.ofSeconds(10))
          .until(() -> listener.events.equals(List.of("restored", "lost", "suspect", "restored")));
      sending.bus().publish(cache, RecordingListener.message("peer", 1, "k")).get(5, TimeUnit.SECONDS);
      await().atMost(Duration.ofSeconds(5)).until(() -> listener.messages.size() == 1);
      assertThat(bus.heartbeat(cache).get(5, TimeUnit.SECONDS)).isNotNull();
    } finally {
      client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
  }

  @Test
  void theHeartbeatChannelUnsubscribedUnderTheBusWithdrawsEveryProofUntilItIsBack() throws Exception {
    RedisClient client = RedisClient.create(REDIS.uri());
    try (RedisTier tier = RedisTier.create(client)) {
      RecordingListener listener = new RecordingListener();
      RedisBus bus = (RedisBus) tier.bus();
      bus.subscribe(cache, listener);
      await().atMost(Duration.ofSeconds(5)).until(() -> listener.events.equals(List.of("restored")));
      bus.heartbeat(cache).get(5, TimeUnit.SECONDS);

      // Every channel of the connection but the cache's: only the heartbeat channel is left out.
      List<byte[]> subscribed = bus.pubSubConnection().sync().pubsubChannels();
      byte[] heartbeats = subscribed.stream()
          .filter(c -> !new String(c, StandardCharsets.UTF_8).equals("tiercache:bus:" + cache))
          .filter(c -> new String(c, StandardCharsets.UTF_8).startsWith("tiercache:hb:"))
          .findFirst().orElseThrow();
      bus.pubSubConnection().sync().unsubscribe(heartbeats);

      await().atMost(Duration.ofSeconds(10))
          .until(() -> listener.events.equals(List.of("restored", "lost", "suspect", "restored")));
      assertThat(bus.heartbeat(cache).get(5, TimeUnit.SECONDS)).isNotNull();
    } finally {
      client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
  }
}
