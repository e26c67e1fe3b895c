package dev.tiercache;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tiercache.spi.L2Read;
import dev.tiercache.testkit.ForwardingL2Store;
import dev.tiercache.testkit.InMemoryL2Store;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Review of fb2a968, a defect older than it, fixed: a lease holder whose L2 circuit breaker opened during its load
 * skipped its releaseLease (and its write-back), so the waiters on healthy instances waited out the whole lease (3.9 s
 * of 4 s) instead of taking it over when the holder was done. The release now goes past the open breaker.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class LeaseBreakerReviewTest {

  @Test
  void aHolderWhoseBreakerOpenedDuringItsLoadStillLetsTheWaitersGoOn() throws Exception {
    InMemoryL2Store store = new InMemoryL2Store();
    ForwardingL2Store failingOthers = new ForwardingL2Store(store) {
      @Override
      public CompletableFuture<L2Read> get(String cache, String key) {
        return key.startsWith("other")
            ? CompletableFuture.failedFuture(new IllegalStateException("L2 flaky")) : super.get(cache, key);
      }
    };
    CircuitBreakerConfig breaker = CircuitBreakerConfig.custom().slidingWindowSize(2).minimumNumberOfCalls(2)
        .failureRateThreshold(50).waitDurationInOpenState(Duration.ofSeconds(30)).build();
    Duration lease = Duration.ofSeconds(4);
    TieredCache<String, String> holder =
        DistributedSingleFlightTest.leasedBuilder("brk", failingOthers, lease).l2CircuitBreaker(breaker).build();
    TieredCache<String, String> waiter = DistributedSingleFlightTest.leasedBuilder("brk", store, lease).build();
    ExecutorService pool = Executors.newFixedThreadPool(2);
    try {
      CountDownLatch holding = new CountDownLatch(1);
      CountDownLatch finish = new CountDownLatch(1);
      Future<String> held = pool.submit(() -> holder.get("hot", k -> {
        holding.countDown();
        try {
          finish.await(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        // Two failed L2 reads on this instance open its breaker while it holds the lease.
        holder.get("other1", o -> "o");
        holder.get("other2", o -> "o");
        return "value";
      }));
      assertThat(holding.await(10, TimeUnit.SECONDS)).isTrue();
      int readsBefore = store.reads.get();
      Future<String> waited = pool.submit(() -> waiter.get("hot", k -> "loaded by the waiter"));
      org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> store.reads.get() - readsBefore >= 2);
      finish.countDown();
      assertThat(held.get(10, TimeUnit.SECONDS)).isEqualTo("value");
      String circuit = holder.status().l2Circuit();
      long doneAt = System.nanoTime();
      String got = waited.get(10, TimeUnit.SECONDS);
      Duration after = Duration.ofNanos(System.nanoTime() - doneAt);
      assertThat(circuit).isEqualTo("open");
      assertThat(after).as("waiter finished %s ms after the holder (lease 4 s), got %s", after.toMillis(), got)
          .isLessThan(Duration.ofSeconds(2));
    } finally {
      pool.shutdownNow();
      holder.close();
      waiter.close();
    }
  }
}
