package dev.tiercache.redis;

import static dev.tiercache.redis.StoreKit.uniqueName;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.tiercache.redis.testing.RedisExtension;
import dev.tiercache.spi.L2Read;
import dev.tiercache.spi.L2Store;
import dev.tiercache.testkit.ForwardingL2Store;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Review of fb2a968 on a real Redis: the fixed race, and a store Error on the waiter's re-read. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RedisLeaseReReadReviewTest {

  @RegisterExtension static final RedisExtension REDIS = RedisExtension.standalone();

  private static TierSession session;

  @BeforeAll
  static void connect() {
    session = new TierSession(REDIS.uri());
  }

  @AfterAll
  static void disconnect() {
    session.close();
  }

  private static boolean leaseHeld(String cache) {
    return session.redis.exists(StoreKit.meta(cache, "l:k")) == 1;
  }

  /** Runs the fixed test's race on Redis; {@code errorOnReRead}: the waiter's re-read throws an Error. */
  private void race(boolean errorOnReRead) throws Exception {
    String cache = uniqueName("rr");
    Duration lease = Duration.ofSeconds(20);
    ExecutorService pool = Executors.newFixedThreadPool(2);
    CountDownLatch holding = new CountDownLatch(1);
    CountDownLatch finishLoad = new CountDownLatch(1);
    AtomicInteger loads = new AtomicInteger();
    AtomicInteger leaseCalls = new AtomicInteger();
    boolean[] granted = {false};
    AtomicInteger reReads = new AtomicInteger();
    UnaryOperator<L2Store> hooked = tier -> new ForwardingL2Store(tier) {
      @Override
      public CompletableFuture<Boolean> tryLease(String c, String key, String owner, Duration ttl) {
        if (leaseCalls.incrementAndGet() == 2) {
          finishLoad.countDown();
          await().atMost(Duration.ofSeconds(10)).until(() -> !leaseHeld(cache));
        }
        CompletableFuture<Boolean> got = super.tryLease(c, key, owner, ttl);
        if (Boolean.TRUE.equals(got.join())) {
          granted[0] = true;
        }
        return got;
      }

      @Override
      public CompletableFuture<L2Read> get(String c, String key) {
        if (granted[0]) {
          reReads.incrementAndGet();
          if (errorOnReRead) {
            throw new AssertionError("store bug on the re-read");
          }
        }
        return super.get(c, key);
      }
    };
    try (LeasedNode holder = new LeasedNode(REDIS.uri(), cache, lease, UnaryOperator.identity());
        LeasedNode waiter = new LeasedNode(REDIS.uri(), cache, lease, hooked)) {
      Future<String> held = pool.submit(() -> holder.cache.get("k", k -> {
        loads.incrementAndGet();
        holding.countDown();
        try {
          finishLoad.await(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        return "value";
      }));
      assertThat(holding.await(10, TimeUnit.SECONDS)).isTrue();
      Future<String> waited = pool.submit(() -> waiter.cache.get("k", k -> {
        loads.incrementAndGet();
        return "loaded by the waiter";
      }));
      assertThat(held.get(20, TimeUnit.SECONDS)).isEqualTo("value");
      if (errorOnReRead) {
        assertThatThrownBy(() -> waited.get(20, TimeUnit.SECONDS)).hasRootCauseMessage("store bug on the re-read");
        long ttl = session.redis.pttl(StoreKit.meta(cache, "l:k"));
        assertThat(leaseHeld(cache)).as("lease left in Redis after the re-read threw (pttl %s ms)", ttl).isFalse();
      } else {
        assertThat(waited.get(20, TimeUnit.SECONDS)).isEqualTo("value");
        assertThat(reReads.get()).as("re-reads").isEqualTo(1);
        assertThat(loads.get()).as("loads").isEqualTo(1);
        assertThat(leaseHeld(cache)).as("lease left").isFalse();
      }
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void theFixedRaceOnRedisLoadsOnce() throws Exception {
    race(false);
  }

  /** The review's finding, fixed (see LeaseReReadReviewTest.anErrorOnTheReReadStillReleasesTheLease), on Redis. */
  @Test
  void anErrorOnTheReReadLeavesNoLeaseInRedis() throws Exception {
    race(true);
  }
}
