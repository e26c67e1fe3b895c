package dev.tiercache.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.tiercache.redis.testing.RedisExtension;
import io.lettuce.core.RedisClient;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.DefaultClientResources;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Issue 9: "an instance whose network to Redis comes back is in full service within about a second". One instance
 * is cut off from Redis by a proxy (connections reset, new ones refused) for long enough that Lettuce's default
 * reconnect delay (doubling to 30 s) would leave it seconds late; with the recommended delay its L2 and its bus are
 * back within about a second of the network.
 *
 * <p>{@code -DargLine=-Dreconnect.lettuceDefaultDelay=true} runs it with Lettuce's default delay to compare; the
 * bound then fails.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class RedisReconnectTest {

  @RegisterExtension
  static final RedisExtension REDIS = RedisExtension.standalone();

  // Lettuce's default doubles from 1 ms: attempts about 8.2 s and 16.4 s after the drop, so a 10 s cut ends mid-gap.
  private static final Duration CUT = Duration.ofSeconds(10);
  /** About a second; 2 s leaves room for a loaded CI machine (2.3 s was seen once with five builds on 2 cores). */
  private static final Duration BACK_WITHIN = Duration.ofMillis(2_000);

  @Test
  void anInstanceCutOffForSecondsIsBackWithinASecondOfItsNetwork() throws Exception {
    ClientResources resources = Boolean.getBoolean("reconnect.lettuceDefaultDelay")
        ? DefaultClientResources.create()
        : DefaultClientResources.builder().reconnectDelay(RedisTier.recommendedReconnectDelay()).build();
    try (FaultKit.Proxy proxy = new FaultKit.Proxy(REDIS.uri())) {
      RedisClient client = RedisClient.create(resources, proxy.uri());
      client.setOptions(RedisTier.recommendedClientOptions());
      RecordingListener listener = new RecordingListener();
      try (RedisTier tier = RedisTier.create(client, RedisTierOptions.builder()
              .heartbeatTimeout(Duration.ofMillis(300)).build());
          var subscription = tier.bus().subscribe("reconnect", listener)) {
        // Building a tier never waits for Redis: its first connection (here through the proxy) may still be on its
        // way, or retried, when subscribe returns (CI once found it not yet there 36 ms in).
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(10)).until(() -> works(tier));

        proxy.cut();
        await().atMost(Duration.ofSeconds(2)).until(() -> listener.events.contains("lost"));
        // The proof stays down for the whole cut: nothing is taken for health.
        await().during(CUT).atMost(CUT.plusSeconds(2)).until(() -> !works(tier));

        proxy.heal();
        long healed = System.nanoTime();
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(10)).until(() -> works(tier));
        Duration back = Duration.ofNanos(System.nanoTime() - healed);
        System.out.println("FAULT reconnect after an " + CUT.toSeconds() + " s cut: L2 and bus back in "
            + FaultKit.ms(back.toNanos()));
        assertThat(back).isLessThan(BACK_WITHIN);
        assertThat(listener.events).containsSubsequence("lost", "suspect", "restored");
      } finally {
        client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
      }
    } finally {
      resources.shutdown(0, 2, TimeUnit.SECONDS);
    }
  }

  /** The L2 answers and a heartbeat comes back. */
  private static boolean works(RedisTier tier) {
    try {
      tier.get("reconnect", "k").get(300, TimeUnit.MILLISECONDS);
      tier.bus().heartbeat("reconnect").get(600, TimeUnit.MILLISECONDS);
      return true;
    } catch (Exception e) {
      return false;
    }
  }
}
