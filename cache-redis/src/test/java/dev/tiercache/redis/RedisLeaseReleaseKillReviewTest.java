package dev.tiercache.redis;

import static dev.tiercache.redis.RedisLeaseReleaseReviewTest.blockingLoad;
import static dev.tiercache.redis.RedisLeaseReleaseReviewTest.leaseKey;
import static dev.tiercache.redis.StoreKit.uniqueName;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.tiercache.redis.RedisLeaseReleaseReviewTest.Node;
import dev.tiercache.redis.testing.RedisExtension;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.lettuce.core.ClientOptions;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Review of 3428b43: a lease holder whose Redis is killed during its load (its breaker opens) sends its release past
 * the breaker into a dead connection. Its get must neither throw nor wait, nothing may hang or pile up threads, and
 * once Redis is back the cache takes and releases leases again. With Lettuce's default options (commands queued while
 * disconnected) and with {@link RedisTier#recommendedClientOptions()} (rejected at once).
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class RedisLeaseReleaseKillReviewTest {

  @RegisterExtension static final RedisExtension REDIS = RedisExtension.standalone().withProcessControl();

  private static CircuitBreakerConfig healsQuickly() {
    return CircuitBreakerConfig.custom().slidingWindowSize(2).minimumNumberOfCalls(2).failureRateThreshold(50)
        .waitDurationInOpenState(Duration.ofMillis(500)).permittedNumberOfCallsInHalfOpenState(1).build();
  }

  private void killDuringALeasedLoad(ClientOptions options) throws Exception {
    String name = uniqueName("kill");
    ExecutorService pool = Executors.newFixedThreadPool(1);
    AtomicInteger loads = new AtomicInteger();
    try (TierSession session = new TierSession(REDIS.uri());
        Node a = new Node(REDIS.uri(), name, Duration.ofSeconds(20), healsQuickly(), Duration.ofMillis(200),
            options)) {
      CountDownLatch loading = new CountDownLatch(1);
      CountDownLatch finish = new CountDownLatch(1);
      Future<String> held = pool.submit(() -> a.cache.get("k", k -> blockingLoad(loading, finish, loads, "value")));
      assertThat(loading.await(10, TimeUnit.SECONDS)).isTrue();
      assertThat(session.redis.exists(leaseKey(name, "k"))).isEqualTo(1);
      int threadsBefore = ManagementFactory.getThreadMXBean().getThreadCount();

      REDIS.stop();
      try {
        a.cache.get("other1", o -> "o");
        a.cache.get("other2", o -> "o");
        assertThat(a.cache.status().l2Circuit()).isEqualTo("open");
        long finishedAt = System.nanoTime();
        finish.countDown();
        assertThat(held.get(10, TimeUnit.SECONDS)).isEqualTo("value");
        Duration took = Duration.ofNanos(System.nanoTime() - finishedAt);
        assertThat(took).as("holder's get after its loader returned, Redis down").isLessThan(Duration.ofMillis(150));
        assertThat(a.releaseCalls.get()).isEqualTo(1);
        CompletableFuture<Void> release = a.lastRelease();
        if (options != null) {
          // Rejected while disconnected: failed at once, nothing queued.
          await().atMost(Duration.ofSeconds(2)).until(release::isDone);
          assertThat(release).isCompletedExceptionally();
        }
      } finally {
        REDIS.start();
      }
      // Redis is back (empty): the breaker heals through calls, then leases work again.
      AtomicInteger probes = new AtomicInteger();
      await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(100)).until(() -> {
        a.cache.get("probe-" + probes.incrementAndGet(), k -> "p");
        return "closed".equals(a.cache.status().l2Circuit());
      });
      // The release queued while Redis was down (default options) completes, one way or the other: nothing hangs.
      await().atMost(Duration.ofSeconds(10)).until(() -> a.lastRelease().isDone());

      CountDownLatch loading2 = new CountDownLatch(1);
      CountDownLatch finish2 = new CountDownLatch(1);
      Future<String> held2 = pool.submit(() -> a.cache.get("k2", k -> blockingLoad(loading2, finish2, loads, "v2")));
      assertThat(loading2.await(10, TimeUnit.SECONDS)).isTrue();
      assertThat(session.redis.exists(leaseKey(name, "k2"))).as("lease taken after healing").isEqualTo(1);
      finish2.countDown();
      assertThat(held2.get(10, TimeUnit.SECONDS)).isEqualTo("v2");
      assertThat(session.redis.exists(leaseKey(name, "k2"))).as("lease released after healing").isZero();
      int threadsAfter = ManagementFactory.getThreadMXBean().getThreadCount();
      assertThat(threadsAfter).as("threads before the kill %s, after healing %s", threadsBefore, threadsAfter)
          .isLessThanOrEqualTo(threadsBefore + 8);
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void defaultClientOptions() throws Exception {
    killDuringALeasedLoad(null);
  }

  @Test
  void recommendedClientOptions() throws Exception {
    killDuringALeasedLoad(RedisTier.recommendedClientOptions());
  }
}
