package dev.tiercache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tiercache.spi.L2Read;
import dev.tiercache.spi.L2Store;
import dev.tiercache.testkit.ForwardingL2Store;
import dev.tiercache.testkit.InMemoryL2Store;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Review of fb2a968 (a waiter that takes the load lease over reads the L2 again): hostile things at the re-read, and
 * the window the builder's javadoc admits.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class LeaseReReadReviewTest {

  private static final String CACHE = "rr";

  private final InMemoryL2Store store = new InMemoryL2Store();
  private final ExecutorService pool = Executors.newFixedThreadPool(4);

  @AfterEach
  void stop() {
    pool.shutdownNow();
  }

  /** One instance's view of the shared store, with hooks. */
  static final class Hooked extends ForwardingL2Store {
    final AtomicInteger gets = new AtomicInteger();
    final AtomicInteger leaseCalls = new AtomicInteger();
    volatile boolean granted;
    /** Before the n-th tryLease ({@link #beforeLeaseAt}), this runs. */
    volatile int beforeLeaseAt = -1;
    volatile Runnable beforeLease = () -> {};
    /** The read after this instance was granted a lease (the re-read): replaces the call, once. */
    volatile Function<L2Store, CompletableFuture<L2Read>> reRead;
    /** After the n-th get returned ({@link #afterGetAt}), this runs. */
    volatile int afterGetAt = -1;
    volatile Runnable afterGet = () -> {};
    final CountDownLatch released = new CountDownLatch(1);
    final L2Store delegate;

    Hooked(L2Store delegate) {
      super(delegate);
      this.delegate = delegate;
    }

    @Override
    public CompletableFuture<L2Read> get(String cache, String key) {
      int n = gets.incrementAndGet();
      Function<L2Store, CompletableFuture<L2Read>> hook = reRead;
      if (granted && hook != null) {
        reRead = null;
        return hook.apply(delegate);
      }
      CompletableFuture<L2Read> read = super.get(cache, key);
      if (n == afterGetAt) {
        afterGet.run();
      }
      return read;
    }

    @Override
    public CompletableFuture<Boolean> tryLease(String cache, String key, String owner, Duration ttl) {
      if (leaseCalls.incrementAndGet() == beforeLeaseAt) {
        beforeLease.run();
      }
      CompletableFuture<Boolean> got = super.tryLease(cache, key, owner, ttl);
      if (Boolean.TRUE.equals(got.getNow(false))) {
        granted = true;
      }
      return got;
    }

    @Override
    public CompletableFuture<Void> releaseLease(String cache, String key, String owner) {
      return super.releaseLease(cache, key, owner).whenComplete((v, e) -> released.countDown());
    }
  }

  private static TieredCache<String, String> leased(L2Store l2, Duration lease) {
    return leased(l2, lease, false);
  }

  private static TieredCache<String, String> leased(L2Store l2, Duration lease, boolean negative) {
    TieredCacheBuilder<String, String> b = DistributedSingleFlightTest.leasedBuilder(CACHE, l2, lease);
    if (negative) {
      b.negativeTtl(Duration.ofSeconds(30));
    }
    return b.build();
  }

  private static void await(CountDownLatch latch) {
    try {
      assertThat(latch.await(10, TimeUnit.SECONDS)).isTrue();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /**
   * The race of the fixed test: holder H loads and holds; the waiter W polls; before W's second tryLease (the
   * poll's), H finishes (stores "value", releases). Then W is granted the lease and re-reads, through {@code reRead}.
   */
  private final class Race {
    final Hooked holderStore = new Hooked(store);
    final Hooked waiterStore = new Hooked(store);
    final TieredCache<String, String> holder;
    final TieredCache<String, String> waiter;
    final AtomicInteger loads = new AtomicInteger();
    final CountDownLatch holding = new CountDownLatch(1);
    final CountDownLatch finishLoad = new CountDownLatch(1);
    volatile String holderValue = "value";
    Future<String> held;

    Race(Duration lease, Function<L2Store, CompletableFuture<L2Read>> reRead) {
      this(lease, reRead, false);
    }

    Race(Duration lease, Function<L2Store, CompletableFuture<L2Read>> reRead, boolean negative) {
      holder = leased(holderStore, lease, negative);
      waiter = leased(waiterStore, lease, negative);
      waiterStore.beforeLeaseAt = 2;
      waiterStore.beforeLease = () -> {
        finishLoad.countDown();
        LeaseReReadReviewTest.await(holderStore.released);
      };
      waiterStore.reRead = reRead;
    }

    Future<String> start() {
      held = pool.submit(() -> holder.get("hot", k -> {
        loads.incrementAndGet();
        holding.countDown();
        LeaseReReadReviewTest.await(finishLoad);
        return holderValue;
      }));
      LeaseReReadReviewTest.await(holding);
      return pool.submit(() -> waiter.get("hot", k -> {
        loads.incrementAndGet();
        return "loaded by the waiter";
      }));
    }

    void close() {
      holder.close();
      waiter.close();
    }
  }

  private boolean leaseFree() throws Exception {
    boolean free = store.tryLease(CACHE, "hot", "probe", Duration.ofMillis(1)).get();
    if (free) {
      store.releaseLease(CACHE, "hot", "probe").get();
    }
    return free;
  }

  /**
   * Review finding, fixed: the re-read sat between the waiter's granted tryLease and the point where Loads.load
   * records that it holds the lease. A store Error there (a store's bug; L2Tier rethrows Errors "the caller's to
   * see") left the lease held until it expired, and every other instance waited out the whole lease (3 s here). The
   * re-read now runs after the lease is recorded, so the load's finally releases it.
   */
  @Test
  void anErrorOnTheReReadStillReleasesTheLease() throws Exception {
    Duration lease = Duration.ofSeconds(3);
    Race race = new Race(lease, l2 -> {
      throw new AssertionError("store bug on the re-read");
    });
    Future<String> waited = race.start();
    assertThat(race.held.get(10, TimeUnit.SECONDS)).isEqualTo("value");
    assertThatThrownBy(() -> waited.get(10, TimeUnit.SECONDS)).hasRootCauseMessage("store bug on the re-read");
    boolean freeAfterError = leaseFree();
    // What it costs: a third instance that misses (the key invalidated) waits for the stuck lease.
    store.invalidateKey(CACHE, "hot").get();
    TieredCache<String, String> third = leased(store, lease);
    long start = System.nanoTime();
    assertThat(third.get("hot", k -> "third")).isEqualTo("third");
    Duration waitedOut = Duration.ofNanos(System.nanoTime() - start);
    race.close();
    third.close();
    assertThat(freeAfterError)
        .as("lease released after the re-read threw (third instance then waited %s ms)", waitedOut.toMillis())
        .isTrue();
  }

  /** Runs the race; the waiter, finding no value on its re-read, loads once more and releases the lease. */
  private void waiterLoadsAgain(Race race) throws Exception {
    Future<String> waited = race.start();
    assertThat(race.held.get(10, TimeUnit.SECONDS)).isEqualTo("value");
    assertThat(waited.get(10, TimeUnit.SECONDS)).isEqualTo("loaded by the waiter");
    assertThat(race.loads.get()).as("loads").isEqualTo(2);
    assertThat(leaseFree()).as("lease released").isTrue();
    race.close();
  }

  /** The re-read fails (L2 error): the waiter loads, with its first read's version; the lease is released. */
  @Test
  void aFailedReReadLoadsOnceMoreAndReleasesTheLease() throws Exception {
    Race race = new Race(Duration.ofSeconds(20),
        l2 -> CompletableFuture.failedFuture(new IllegalStateException("L2 hiccup")));
    waiterLoadsAgain(race);
  }

  /**
   * An invalidation lands between the holder's write-back and the waiter's re-read: the waiter must not serve the
   * holder's (now invalidated) value; it loads again and that load may be written back.
   */
  @Test
  void anInvalidationBeforeTheReReadIsNotOvertaken() throws Exception {
    Race race = new Race(Duration.ofSeconds(20), l2 -> {
      l2.invalidateKey(CACHE, "hot").join();
      return l2.get(CACHE, "hot");
    });
    Future<String> waited = race.start();
    assertThat(race.held.get(10, TimeUnit.SECONDS)).isEqualTo("value");
    assertThat(waited.get(10, TimeUnit.SECONDS)).isEqualTo("loaded by the waiter");
    assertThat(race.loads.get()).as("loads").isEqualTo(2);
    assertThat(store.get(CACHE, "hot").get().entry()).isNotNull();
    assertThat(leaseFree()).as("lease released").isTrue();
    race.close();
  }

  /** Another instance's put lands before the re-read: the waiter serves it, does not load, releases the lease. */
  @Test
  void aPutBeforeTheReReadIsServed() throws Exception {
    TieredCache<String, String> writer = leased(store, Duration.ofSeconds(20));
    Race race = new Race(Duration.ofSeconds(20), l2 -> {
      writer.put("hot", "put by another");
      return l2.get(CACHE, "hot");
    });
    Future<String> waited = race.start();
    assertThat(race.held.get(10, TimeUnit.SECONDS)).isEqualTo("value");
    assertThat(waited.get(10, TimeUnit.SECONDS)).isEqualTo("put by another");
    assertThat(race.loads.get()).as("loads").isEqualTo(1);
    assertThat(leaseFree()).as("lease released").isTrue();
    race.close();
    writer.close();
  }

  /** The lease expires during the re-read and a third instance takes it: two loads, the third's lease kept. */
  @Test
  void theLeaseExpiringDuringTheReReadDoesNotReleaseAnothersLease() throws Exception {
    Duration lease = Duration.ofMillis(300);
    CountDownLatch thirdDone = new CountDownLatch(1);
    Hooked thirdStore = new Hooked(store);
    TieredCache<String, String> third = leased(thirdStore, Duration.ofSeconds(20));
    AtomicInteger thirdLoads = new AtomicInteger();
    CountDownLatch thirdHolds = new CountDownLatch(1);
    CountDownLatch thirdFinish = new CountDownLatch(1);
    Race race = new Race(lease, l2 -> {
      // The waiter's lease runs out; a third instance misses (invalidated) and takes the lease, and holds it.
      l2.invalidateKey(CACHE, "hot").join();
      // Until the waiter's 300 ms lease has lapsed (a probe lease of 1 ms is granted).
      org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(20))
          .until(() -> l2.tryLease(CACHE, "hot", "nobody", Duration.ofMillis(1)).get());
      pool.submit(() -> third.get("hot", k -> {
        thirdLoads.incrementAndGet();
        thirdHolds.countDown();
        LeaseReReadReviewTest.await(thirdFinish);
        return "third";
      }));
      LeaseReReadReviewTest.await(thirdHolds);
      return l2.get(CACHE, "hot");
    });
    Future<String> waited = race.start();
    assertThat(race.held.get(10, TimeUnit.SECONDS)).isEqualTo("value");
    assertThat(waited.get(10, TimeUnit.SECONDS)).isEqualTo("loaded by the waiter");
    // The waiter released "its" lease in its finally: the third's must still be held.
    assertThat(leaseFree()).as("third instance's lease still held").isFalse();
    thirdFinish.countDown();
    race.close();
    third.close();
  }

  /**
   * The window the javadoc admits: W's first read misses; H then loads, stores and releases entirely; W's first
   * tryLease is granted and W loads again (no re-read on that path) and overwrites H's value with its own. Confirmed
   * as documented: 2 loads; nothing worse (the write-back is conditional on W's read, so an invalidation or put in
   * the window refuses it).
   */
  @Test
  void theAdmittedWindowCostsOneMoreLoadAndNothingElse() throws Exception {
    Hooked waiterStore = new Hooked(store);
    TieredCache<String, String> holder = leased(store, Duration.ofSeconds(20));
    TieredCache<String, String> waiter = leased(waiterStore, Duration.ofSeconds(20));
    TieredCache<String, String> writer = leased(store, Duration.ofSeconds(20));
    AtomicInteger loads = new AtomicInteger();
    waiterStore.afterGetAt = 1;
    waiterStore.afterGet = () -> {
      assertThat(holder.get("hot", k -> {
        loads.incrementAndGet();
        return "value";
      })).isEqualTo("value");
      // Another instance's put in the same window: the waiter's late write-back must not overwrite it.
      writer.put("hot", "newer");
    };
    assertThat(waiter.get("hot", k -> {
      loads.incrementAndGet();
      return "loaded by the waiter";
    })).isEqualTo("loaded by the waiter");
    assertThat(loads.get()).as("loads").isEqualTo(2);
    assertThat(leaseFree()).as("lease released").isTrue();
    assertThat(holder.get("hot2", k -> "x")).isEqualTo("x");
    TieredCache<String, String> fresh = leased(store, Duration.ofSeconds(20));
    assertThat(fresh.get("hot", k -> "fresh load")).as("L2 keeps the put").isEqualTo("newer");
    holder.close();
    waiter.close();
    writer.close();
    fresh.close();
  }

  /**
   * The re-read returns the holder's value, but an invalidation made on the waiter's own instance overtook it (read,
   * then invalidated, then answered): the waiter must not serve it, and its own write-back must be refused.
   */
  @Test
  void aReReadOvertakenByALocalInvalidationIsNotServed() throws Exception {
    AtomicInteger invalidated = new AtomicInteger();
    Race[] race = new Race[1];
    race[0] = new Race(Duration.ofSeconds(20), l2 -> {
      CompletableFuture<L2Read> read = l2.get(CACHE, "hot");
      Future<?> inv = pool.submit(() -> race[0].waiter.invalidateKey("hot"));
      try {
        inv.get(5, TimeUnit.SECONDS);
        invalidated.incrementAndGet();
      } catch (Exception e) {
        throw new IllegalStateException("the invalidation did not return", e);
      }
      return read;
    });
    Future<String> waited = race[0].start();
    assertThat(race[0].held.get(10, TimeUnit.SECONDS)).isEqualTo("value");
    assertThat(waited.get(10, TimeUnit.SECONDS)).isEqualTo("loaded by the waiter");
    assertThat(invalidated.get()).isEqualTo(1);
    assertThat(race[0].loads.get()).as("loads").isEqualTo(2);
    assertThat(leaseFree()).as("lease released").isTrue();
    race[0].close();
  }

  /** The holder cached an absence: the waiter's re-read serves it (null) and does not load. */
  @Test
  void aCachedAbsenceOnTheReReadIsServed() throws Exception {
    Race race = new Race(Duration.ofSeconds(20), l2 -> l2.get(CACHE, "hot"), true);
    race.holderValue = null;
    Future<String> waited = race.start();
    assertThat(race.held.get(10, TimeUnit.SECONDS)).isNull();
    assertThat(waited.get(10, TimeUnit.SECONDS)).isNull();
    assertThat(race.loads.get()).as("loads").isEqualTo(1);
    assertThat(leaseFree()).as("lease released").isTrue();
    race.close();
  }

  /** An undecodable entry on the re-read: the waiter loads and overwrites it (as on a first read). */
  @Test
  void anUndecodableReReadLoadsAndReleases() throws Exception {
    Race race = new Race(Duration.ofSeconds(20), l2 -> CompletableFuture.completedFuture(new L2Read(
        new dev.tiercache.spi.L2Entry("foreign", new byte[] {1, 2}, Tags.empty()),
        l2.get(CACHE, "hot").join().version())));
    waiterLoadsAgain(race);
  }

  /** Three waiters all try the lease right after the holder released it: one is granted, nobody loads again. */
  @Test
  void threeWaitersRacingForTheReleasedLeaseLoadNothing() throws Exception {
    int n = 3;
    Hooked holderStore = new Hooked(store);
    TieredCache<String, String> holder = leased(holderStore, Duration.ofSeconds(20));
    CountDownLatch arrived = new CountDownLatch(n);
    CountDownLatch go = new CountDownLatch(1);
    AtomicInteger loads = new AtomicInteger();
    CountDownLatch holding = new CountDownLatch(1);
    CountDownLatch finishLoad = new CountDownLatch(1);
    ExecutorService more = Executors.newFixedThreadPool(n + 1);
    try {
      Future<String> held = more.submit(() -> holder.get("hot", k -> {
        loads.incrementAndGet();
        holding.countDown();
        await(finishLoad);
        return "value";
      }));
      await(holding);
      java.util.List<TieredCache<String, String>> waiters = new java.util.ArrayList<>();
      java.util.List<Future<String>> results = new java.util.ArrayList<>();
      for (int i = 0; i < n; i++) {
        Hooked ws = new Hooked(store);
        ws.beforeLeaseAt = 2;
        ws.beforeLease = () -> {
          arrived.countDown();
          await(go);
        };
        TieredCache<String, String> w = leased(ws, Duration.ofSeconds(20));
        waiters.add(w);
        results.add(more.submit(() -> w.get("hot", k -> {
          loads.incrementAndGet();
          return "again";
        })));
      }
      await(arrived);
      finishLoad.countDown();
      assertThat(held.get(10, TimeUnit.SECONDS)).isEqualTo("value");
      await(holderStore.released);
      go.countDown();
      for (Future<String> r : results) {
        assertThat(r.get(10, TimeUnit.SECONDS)).isEqualTo("value");
      }
      assertThat(loads.get()).as("loads").isEqualTo(1);
      assertThat(leaseFree()).as("lease released").isTrue();
      holder.close();
      waiters.forEach(TieredCache::close);
    } finally {
      more.shutdownNow();
    }
  }
}
