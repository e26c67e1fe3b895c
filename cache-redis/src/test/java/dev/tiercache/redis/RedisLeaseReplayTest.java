package dev.tiercache.redis;

import static dev.tiercache.redis.StoreKit.join;
import static dev.tiercache.redis.StoreKit.uniqueName;
import static org.assertj.core.api.Assertions.assertThat;

import dev.tiercache.redis.RedisMgetReplayTest.CuttingProxy;
import dev.tiercache.redis.testing.RedisExtension;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Review 16: a load lease's {@code SET NX} whose reply a closed connection loses. With Lettuce's default options the
 * command is replayed after the reconnect; its first run took the lease, so the replay finds it taken and the tier
 * answers that another instance holds it. The owner then waits for its own lease until it expires (the load lease
 * TTL) before it loads: a lease it holds must be reported as held.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RedisLeaseReplayTest {

  @RegisterExtension static final RedisExtension REDIS = RedisExtension.standalone();

  @Test
  void aLeaseWhoseReplyWasLostAndWhoseSetWasReplayedIsReportedHeldByItsOwner() throws Exception {
    String cache = uniqueName("lease");
    RedisClient direct = RedisClient.create(REDIS.uri());
    direct.setOptions(RedisTier.recommendedClientOptions());
    try (CuttingProxy proxy = new CuttingProxy(REDIS.host(), REDIS.port())) {
      RedisClient viaProxy = RedisClient.create(
          RedisURI.builder().withHost("127.0.0.1").withPort(proxy.port()).withTimeout(Duration.ofSeconds(5)).build());
      try (RedisTier other = RedisTier.create(direct); RedisTier owner = RedisTier.create(viaProxy)) {
        // A first lease, of another key, so that whatever command takes a lease is known to the server already.
        assertThat(join(owner.tryLease(cache, "warm-up", "node-w", Duration.ofSeconds(30)))).isTrue();
        // Not a byte of the reply gets through: Redis took the lease, the connection closes, Lettuce replays the
        // command (the first one that names the owner, whichever command takes the lease).
        proxy.cutNextReplyAfter("node-a", 0);
        boolean taken = owner.tryLease(cache, "k", "node-a", Duration.ofSeconds(30)).get(20, TimeUnit.SECONDS);
        assertThat(proxy.cuts.get()).as("the reply was cut").isOne();
        boolean takenByOther = join(other.tryLease(cache, "k", "node-b", Duration.ofSeconds(30)));
        System.out.println("LEASE owner told " + taken + ", another instance told " + takenByOther);
        assertThat(takenByOther).as("the lease is held (by node-a)").isFalse();
        assertThat(taken).as("node-a holds the lease and must be told so").isTrue();
      } finally {
        viaProxy.shutdown(Duration.ZERO, Duration.ofSeconds(2));
      }
    } finally {
      direct.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
  }
}
