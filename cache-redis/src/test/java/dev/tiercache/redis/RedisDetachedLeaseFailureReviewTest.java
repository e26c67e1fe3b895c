package dev.tiercache.redis;

import static dev.tiercache.redis.RedisLeaseReleaseReviewTest.leaseKey;
import static dev.tiercache.redis.StoreKit.uniqueName;
import static org.assertj.core.api.Assertions.assertThat;

import dev.tiercache.Invalidation;
import dev.tiercache.redis.RedisLeaseReleaseReviewTest.Node;
import dev.tiercache.redis.testing.RedisExtension;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Review of dd312db (a lease per load) on a real Redis: an instance's load detached by an invalidation, whose loader
 * then fails (RuntimeException, Error), releases its own lease at once, so the same instance's next load of the key,
 * which now waits for that lease like any other, starts right away (not after the 20 s lease), holds its own lease,
 * and releases it at its end; another instance loads nothing meanwhile. Green on s13-l1 (held).
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class RedisDetachedLeaseFailureReviewTest {

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

  @Test
  void aDetachedLoadWhoseLoaderThrowsFreesItsLeaseForTheNextLoadAtOnce() throws Exception {
    run(() -> new IllegalStateException("db down"));
  }

  @Test
  void aDetachedLoadWhoseLoaderThrowsAnErrorFreesItsLeaseForTheNextLoadAtOnce() throws Exception {
    run(() -> new AssertionError("loader bug"));
  }

  private void run(Supplier<Throwable> failure) throws Exception {
    String cache = uniqueName("detfail");
    Duration lease = Duration.ofSeconds(20);
    ExecutorService pool = Executors.newFixedThreadPool(3);
    AtomicInteger loadsB = new AtomicInteger();
    try (Node a = new Node(REDIS.uri(), cache, lease, null, Duration.ofMillis(500));
        Node b = new Node(REDIS.uri(), cache, lease, null, Duration.ofMillis(500))) {
      CountDownLatch firstLoading = new CountDownLatch(1);
      CountDownLatch failFirst = new CountDownLatch(1);
      Future<String> first = pool.submit(() -> a.cache.get("k", k -> {
        firstLoading.countDown();
        try {
          failFirst.await(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        Throwable t = failure.get();
        if (t instanceof Error error) {
          throw error;
        }
        throw (RuntimeException) t;
      }));
      assertThat(firstLoading.await(10, TimeUnit.SECONDS)).isTrue();
      String firstToken = session.redis.get(leaseKey(cache, "k"));
      assertThat(firstToken).as("A's first lease").isNotNull();

      a.cache.invalidate(Invalidation.key("k"));
      CountDownLatch secondLoading = new CountDownLatch(1);
      CountDownLatch finishSecond = new CountDownLatch(1);
      Future<String> second = pool.submit(() -> a.cache.get("k", k -> {
        secondLoading.countDown();
        try {
          finishSecond.await(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        return "second";
      }));
      assertThat(secondLoading.await(1, TimeUnit.SECONDS)).as("second load waits for the first's lease").isFalse();

      long failedAt = System.nanoTime();
      failFirst.countDown();
      Throwable thrown = null;
      try {
        first.get(10, TimeUnit.SECONDS);
      } catch (java.util.concurrent.ExecutionException e) {
        thrown = e.getCause();
      }
      assertThat(thrown).as("the first get fails as its loader did").isNotNull();
      assertThat(secondLoading.await(5, TimeUnit.SECONDS)).as("second load starts once the first failed").isTrue();
      long startedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - failedAt);
      assertThat(startedMs).as("ms from the first loader's failure to the second load").isLessThan(5_000);
      String secondToken = session.redis.get(leaseKey(cache, "k"));
      assertThat(secondToken).as("the second load's lease").isNotNull().isNotEqualTo(firstToken);

      Future<String> fromB = pool.submit(() -> b.cache.get("k", k -> {
        loadsB.incrementAndGet();
        return "B's";
      }));
      finishSecond.countDown();
      assertThat(second.get(10, TimeUnit.SECONDS)).isEqualTo("second");
      assertThat(fromB.get(30, TimeUnit.SECONDS)).isEqualTo("second");
      assertThat(loadsB.get()).as("B's loads").isZero();
      assertThat(session.redis.exists(leaseKey(cache, "k"))).as("no lease left").isZero();
    } finally {
      pool.shutdownNow();
    }
  }
}
