package dev.tiercache.redis;

import static dev.tiercache.redis.StoreKit.uniqueName;
import static org.assertj.core.api.Assertions.assertThat;

import dev.tiercache.redis.testing.RedisExtension;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Review s8-review2 (holds): distributed single-flight in an exhausted bucket. The lease is taken and released as
 * usual (its script does not touch the clock); the holder's write-back is refused, so a waiter's poll finds a miss,
 * takes the lease and loads itself: one load at a time across instances, no hang, no value from before.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RedisExhaustedLeaseTest {

  @RegisterExtension static final RedisExtension REDIS = RedisExtension.standalone();

  private static final Duration LEASE = Duration.ofSeconds(20);

  private static TierSession session;

  @BeforeAll
  static void connect() {
    session = new TierSession(REDIS.uri());
  }

  @AfterAll
  static void disconnect() {
    session.close();
  }

  @Test
  void aWaiterOnALeaseInAnExhaustedBucketLoadsOnceTheHolderIsDone() throws Exception {
    String cache = uniqueName("lease-end");
    try (LeasedNode a = new LeasedNode(REDIS.uri(), cache, LEASE, UnaryOperator.identity());
        LeasedNode b = new LeasedNode(REDIS.uri(), cache, LEASE, UnaryOperator.identity())) {
      a.cache.put("k", "old");
      session.redis.set(StoreKit.meta(cache, "clock"), Long.toString(SeenVersions.MAX_VERSION));
      CountDownLatch entered = new CountDownLatch(1);
      CountDownLatch release = new CountDownLatch(1);
      AtomicBoolean released = new AtomicBoolean();
      AtomicBoolean bLoadedAfterRelease = new AtomicBoolean();
      AtomicInteger bLoads = new AtomicInteger();
      a.cache.invalidate(dev.tiercache.Invalidation.key("k")); // a's L1 and the L2 entry go

      CompletableFuture<String> first = CompletableFuture.supplyAsync(() -> a.cache.get("k", k -> {
        entered.countDown();
        try {
          assertThat(release.await(20, TimeUnit.SECONDS)).isTrue();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        released.set(true);
        return "from a";
      }));
      assertThat(entered.await(10, TimeUnit.SECONDS)).isTrue();
      assertThat(session.redis.exists(StoreKit.meta(cache, "l:k"))).as("a holds the lease").isEqualTo(1);

      CompletableFuture<String> second = CompletableFuture.supplyAsync(() -> b.cache.get("k", k -> {
        bLoads.incrementAndGet();
        bLoadedAfterRelease.set(released.get());
        return "from b";
      }));
      release.countDown();
      assertThat(first.get(20, TimeUnit.SECONDS)).isEqualTo("from a");
      String got = second.get(20, TimeUnit.SECONDS);
      assertThat(got).isIn("from a", "from b");
      if (bLoads.get() > 0) {
        assertThat(bLoadedAfterRelease).as("b waited for a's load").isTrue();
      }
      assertThat(got).isNotEqualTo("old");
      assertThat(session.redis.exists(StoreKit.meta(cache, "l:k"))).as("no lease left").isZero();
      assertThat(session.redis.get(StoreKit.meta(cache, "clock"))).isEqualTo(Long.toString(SeenVersions.MAX_VERSION));
    }
  }
}
