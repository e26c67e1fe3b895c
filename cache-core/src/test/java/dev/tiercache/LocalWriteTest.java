package dev.tiercache;

import static org.assertj.core.api.Assertions.assertThat;

import static org.awaitility.Awaitility.await;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A put on a cache with no L2 and no bus has nothing to propagate, so its invalidation and its install are one step
 * of the log ({@link InvalidationLog#writeLocally}). It must keep what the three-step write guarantees: a load that
 * began before it is refused, a reader that comes after it returned neither joins that load nor gets what it read,
 * and a refused write leaves no entry behind.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class LocalWriteTest {

  private static final String KEY = "user:42";

  private final ExecutorService pool = Executors.newFixedThreadPool(2);

  @AfterEach
  void tearDown() {
    pool.shutdownNow();
  }

  private static TieredCache<String, String> localCache(String name) {
    return TieredCache.<String, String>builder(name).keyCodec(k -> k).l1(l1 -> l1.maximumSize(100_000)).build();
  }

  @Test
  void aLocalPutWinsOverALoadThatBeganBeforeIt() throws Exception {
    try (TieredCache<String, String> cache = localCache("local-put")) {
      InFlightInvalidationTest.HeldLoader held = new InFlightInvalidationTest.HeldLoader();
      AtomicInteger loads = new AtomicInteger();
      Future<String> early = pool.submit(() -> cache.get(KEY, k -> {
        loads.incrementAndGet();
        return held.load("old");
      }));
      assertThat(held.reading.await(10, TimeUnit.SECONDS)).isTrue();
      cache.put(KEY, "put");
      // After the put returned: served from the L1, never joined to the load that read before it.
      Future<String> late = pool.submit(() -> cache.get(KEY, k -> {
        loads.incrementAndGet();
        return "late-load";
      }));
      assertThat(late.get(10, TimeUnit.SECONDS)).isEqualTo("put");
      held.release.countDown();
      assertThat(early.get(10, TimeUnit.SECONDS)).as("a read overlapping the put").isEqualTo("old");
      assertThat(cache.getIfPresent(KEY)).as("the load's late install was refused").isEqualTo("put");
      assertThat(loads).hasValue(1);
    }
  }

  @Test
  void aLocalPutOfOneKeyNeverDelaysOrUndoesAnotherKeysInvalidation() throws Exception {
    try (TieredCache<String, String> cache = localCache("local-slots")) {
      int keys = 4 * KeyLog.SLOTS;
      for (int i = 0; i < keys; i++) {
        cache.put("k" + i, "v" + i);
      }
      for (int i = 0; i < keys; i += 2) {
        cache.invalidateKey("k" + i);
      }
      AtomicInteger loads = new AtomicInteger();
      for (int i = 0; i < keys; i++) {
        String expected = i % 2 == 0 ? "loaded" : "v" + i;
        assertThat(cache.get("k" + i, k -> {
          loads.incrementAndGet();
          return "loaded";
        })).as("k%d", i).isEqualTo(expected);
      }
      assertThat(loads).hasValue(keys / 2);
    }
  }

  /**
   * A load that begins while a local put runs, after the put's write took its stamp, reads what the put wrote: the put
   * must not detach it (as a put that propagates does not), or a reader that misses after the put, here because the
   * value expired, starts a second load of the key while the first runs (DESIGN.md invariant 4). The put is held
   * inside its install by the weigher, the only user code it runs there.
   */
  @Test
  void aLocalPutNeverDetachesALoadThatBeganAfterItsWrite() throws Exception {
    AtomicLong nanos = new AtomicLong(1_000);
    AtomicReference<Thread> holdIn = new AtomicReference<>();
    CountDownLatch weighing = new CountDownLatch(1);
    CountDownLatch weighed = new CountDownLatch(1);
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    try (TieredCache<String, String> cache = TieredCache.<String, String>builder("local-put-flight").keyCodec(k -> k)
        .ticker(nanos::get).meterRegistry(registry)
        .l1(l1 -> l1.expireAfterWrite(Duration.ofSeconds(1)).<String>maximumWeight(1_000, (k, v) -> {
          if (Thread.currentThread() == holdIn.get()) {
            weighing.countDown();
            Rows.await(weighed);
          }
          return 1;
        })).build()) {
      Future<?> put = pool.submit(() -> {
        holdIn.set(Thread.currentThread());
        cache.put(KEY, "put");
      });
      assertThat(weighing.await(10, TimeUnit.SECONDS)).as("the put reached its install").isTrue();
      InFlightInvalidationTest.HeldLoader held = new InFlightInvalidationTest.HeldLoader();
      AtomicInteger loads = new AtomicInteger();
      Future<String> during = pool.submit(() -> cache.get(KEY, k -> {
        loads.incrementAndGet();
        return held.load("loaded-during");
      }));
      assertThat(held.reading.await(10, TimeUnit.SECONDS)).as("a load began during the put").isTrue();
      weighed.countDown();
      put.get(10, TimeUnit.SECONDS);
      nanos.addAndGet(Duration.ofSeconds(2).toNanos());
      // The put's value expired: a reader misses, and must join the load in flight rather than start another.
      AtomicReference<String> late = new AtomicReference<>();
      Thread reader = new Thread(() -> late.set(cache.get(KEY, k -> {
        loads.incrementAndGet();
        return "loaded-late";
      })));
      reader.start();
      await().atMost(Duration.ofSeconds(10)).until(() ->
          registry.counter("cache.stampede.coalesced", "cache", "local-put-flight").count() >= 1 || loads.get() > 1);
      held.release.countDown();
      reader.join(10_000);
      assertThat(during.get(10, TimeUnit.SECONDS)).isEqualTo("loaded-during");
      assertThat(loads).as("loader calls for one key at once").hasValue(1);
      assertThat(late).hasValue("loaded-during");
    }
  }

  /**
   * A loader that writes its own key: the put detaches the very load that runs it, under the key's stripe, and the
   * load's late install is refused; nothing waits on itself, and what the put wrote stays. The same from a bulk loader.
   */
  @Test
  void aPutFromInsideALoaderOfItsOwnKeyWinsOverTheLoadAndNeverDeadlocks() {
    try (TieredCache<String, String> cache = localCache("local-put-in-loader")) {
      assertThat(cache.get(KEY, k -> {
        cache.put(k, "put-by-loader");
        return "loaded";
      })).as("the load's own caller gets what its loader returned").isEqualTo("loaded");
      assertThat(cache.getIfPresent(KEY)).isEqualTo("put-by-loader");
      assertThat(cache.getAll(java.util.List.of("a", "b"), keys -> {
        cache.put("a", "put-by-bulk-loader");
        return java.util.Map.of("a", "loaded-a", "b", "loaded-b");
      })).containsEntry("a", "loaded-a").containsEntry("b", "loaded-b");
      assertThat(cache.getIfPresent("a")).isEqualTo("put-by-bulk-loader");
      assertThat(cache.getIfPresent("b")).isEqualTo("loaded-b");
    }
  }
}
