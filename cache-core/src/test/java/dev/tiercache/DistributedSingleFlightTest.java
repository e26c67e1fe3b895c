package dev.tiercache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.tiercache.testkit.InMemoryL2Store;
import dev.tiercache.testkit.TestCodec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** With load leases, a missing key is loaded once for the whole cluster; without, once per instance. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class DistributedSingleFlightTest {

  private static final int NODES = 3;
  private static final int THREADS_PER_NODE = 4;

  private final InMemoryL2Store store = new InMemoryL2Store();
  private final ExecutorService pool = Executors.newFixedThreadPool(NODES * THREADS_PER_NODE);

  @AfterEach
  void stop() {
    pool.shutdownNow();
  }

  private int loaderCallsForOneMissingKey(boolean leases) throws Exception {
    List<TieredCache<String, String>> nodes = new ArrayList<>();
    for (int n = 0; n < NODES; n++) {
      TieredCacheBuilder<String, String> builder =
          TieredCache.<String, String>builder("dsf").keyCodec(k -> k).l2(store).valueCodec(TestCodec.STRING);
      if (leases) {
        builder.distributedSingleFlight(Duration.ofSeconds(5));
      }
      nodes.add(builder.build());
    }
    AtomicInteger loads = new AtomicInteger();
    CountDownLatch release = new CountDownLatch(1);
    CountDownLatch start = new CountDownLatch(1);
    List<Future<String>> results = new ArrayList<>();
    for (TieredCache<String, String> node : nodes) {
      for (int t = 0; t < THREADS_PER_NODE; t++) {
        results.add(pool.submit(() -> {
          start.await(5, TimeUnit.SECONDS);
          return node.get("hot", k -> {
            loads.incrementAndGet();
            try {
              release.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
            return "value";
          });
        }));
      }
    }
    int readsBefore = store.reads.get();
    start.countDown();
    // Hold the load until every instance has read the L2 at least once (and, with leases, the others are polling).
    await().atMost(Duration.ofSeconds(10)).until(() -> store.reads.get() - readsBefore >= NODES + (leases ? 2 : 0));
    release.countDown();
    for (Future<String> result : results) {
      assertThat(result.get(10, TimeUnit.SECONDS)).isEqualTo("value");
    }
    nodes.forEach(TieredCache::close);
    return loads.get();
  }

  @Test
  void withLeasesOneInstanceLoadsAndTheOthersReadItsResultFromTheL2() throws Exception {
    assertThat(loaderCallsForOneMissingKey(true)).isEqualTo(1);
  }

  /**
   * Review defect: a waiter polled the entry, never the lease, so when the holder failed it waited out the whole
   * lease (3 s seen). Now a waiter that finds the lease free takes it over and loads.
   */
  @Test
  void whenTheLeaseHolderFailsAWaiterTakesTheLeaseOverAtOnce() throws Exception {
    Duration lease = Duration.ofSeconds(20);
    TieredCache<String, String> holder = leased("dsf-fail", store, lease);
    TieredCache<String, String> waiter = leased("dsf-fail", store, lease);
    CountDownLatch holding = new CountDownLatch(1);
    CountDownLatch fail = new CountDownLatch(1);
    Future<String> failing = pool.submit(() -> holder.get("hot", k -> {
      holding.countDown();
      try {
        fail.await(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      throw new IllegalStateException("database down");
    }));
    assertThat(holding.await(10, TimeUnit.SECONDS)).isTrue();
    int readsBefore = store.reads.get();
    Future<String> waiting = pool.submit(() -> waiter.get("hot", k -> "loaded by the waiter"));
    await().atMost(Duration.ofSeconds(10)).until(() -> store.reads.get() - readsBefore >= 2); // the waiter polls
    long failedAt = System.nanoTime();
    fail.countDown();
    assertThat(waiting.get(10, TimeUnit.SECONDS)).isEqualTo("loaded by the waiter");
    assertThat(Duration.ofNanos(System.nanoTime() - failedAt)).as("far less than the lease").isLessThan(Duration.ofSeconds(5));
    assertThatThrownBy(failing::get).hasRootCauseMessage("database down");
    holder.close();
    waiter.close();
  }

  /**
   * A waiter polls the entry, then tries the lease. When the holder stores the value and releases its lease between
   * the two, the waiter takes the lease over with a miss in hand: it must read the entry again before loading, or
   * the key is loaded twice (seen in a CI run of the test above: 2 loads).
   */
  @Test
  void aWaiterThatTakesTheLeaseJustAfterTheHolderStoredTheValueServesItAndDoesNotLoad() throws Exception {
    CountDownLatch holding = new CountDownLatch(1);
    CountDownLatch finishLoad = new CountDownLatch(1);
    CountDownLatch released = new CountDownLatch(1);
    AtomicInteger leaseCalls = new AtomicInteger();
    dev.tiercache.spi.L2Store racing = new dev.tiercache.testkit.ForwardingL2Store(store) {
      @Override
      public java.util.concurrent.CompletableFuture<Boolean> tryLease(
          String cache, String key, String owner, Duration ttl) {
        // 1: the holder's; 2: the waiter's first, refused; 3: the waiter's after its poll read a miss. Before that
        // one, the holder finishes: it stores the value and releases its lease.
        if (leaseCalls.incrementAndGet() == 3) {
          finishLoad.countDown();
          try {
            assertThat(released.await(10, TimeUnit.SECONDS)).as("the holder released its lease").isTrue();
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        }
        return super.tryLease(cache, key, owner, ttl);
      }

      @Override
      public java.util.concurrent.CompletableFuture<Void> releaseLease(String cache, String key, String owner) {
        return super.releaseLease(cache, key, owner).whenComplete((v, e) -> released.countDown());
      }
    };
    Duration lease = Duration.ofSeconds(5);
    TieredCache<String, String> holder = leased("dsf-race", racing, lease);
    TieredCache<String, String> waiter = leased("dsf-race", racing, lease);
    AtomicInteger loads = new AtomicInteger();
    Future<String> held = pool.submit(() -> holder.get("hot", k -> {
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
    Future<String> waited = pool.submit(() -> waiter.get("hot", k -> {
      loads.incrementAndGet();
      return "loaded again";
    }));
    assertThat(held.get(10, TimeUnit.SECONDS)).isEqualTo("value");
    assertThat(waited.get(10, TimeUnit.SECONDS)).isEqualTo("value");
    assertThat(leaseCalls.get()).as("lease calls").isEqualTo(3);
    assertThat(loads.get()).as("loads").isEqualTo(1);
    holder.close();
    waiter.close();
  }

  /** An instance of cache {@code name} on {@code l2} with distributed single-flight. */
  private static TieredCache<String, String> leased(String name, dev.tiercache.spi.L2Store l2, Duration lease) {
    return leasedBuilder(name, l2, lease).build();
  }

  /** The builder of {@link #leased}, for tests of load leases that add settings of their own. */
  static TieredCacheBuilder<String, String> leasedBuilder(String name, dev.tiercache.spi.L2Store l2, Duration lease) {
    return TieredCache.<String, String>builder(name).keyCodec(k -> k).l2(l2).valueCodec(TestCodec.STRING)
        .distributedSingleFlight(lease);
  }

  @Test
  void withoutLeasesEachInstanceLoadsOnce() throws Exception {
    assertThat(loaderCallsForOneMissingKey(false)).isEqualTo(NODES);
  }
}
