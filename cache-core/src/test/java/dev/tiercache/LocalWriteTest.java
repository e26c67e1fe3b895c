package dev.tiercache;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
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
}
