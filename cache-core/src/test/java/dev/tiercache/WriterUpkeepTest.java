package dev.tiercache;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tiercache.testkit.InMemoryL2Store;
import dev.tiercache.testkit.TestCodec;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A put or a local invalidation in a cache with an L2 runs Caffeine's upkeep on the caller's thread, which waits for
 * the L2 anyway: handing it to the common pool woke a pool thread for every write (about a tenth of a writing
 * thread's CPU under suite 4's mixed load). With an expiry the upkeep may expire any number of entries, and then it
 * stays off the caller's thread, as Caffeine's default has it.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class WriterUpkeepTest {

  private static final int KEYS = 64;

  @Test
  void putsAndInvalidationsWithAnL2QueueNothingOnTheCommonPool() throws Exception {
    try (TieredCache<String, String> cache = cache(b -> b)) {
      prepopulate(cache);
      try (HeldCommonPool pool = new HeldCommonPool()) {
        long queuedBefore = pool.queued();

        // New keys and removals: Caffeine asks for upkeep after each (an update within a second of the last write
        // of its key may not).
        for (int i = 0; i < KEYS; i++) {
          cache.put("n" + i, "w" + i);
          cache.invalidateKey("k" + i);
        }

        assertThat(pool.queued()).isEqualTo(queuedBefore);
      }
      assertThat(cache.getIfPresent("n0")).isEqualTo("w0");
      assertThat(cache.getIfPresent("k0")).isNull();
      assertThat(cache.get("k1", k -> "reloaded")).isEqualTo("reloaded");
    }
  }

  /** Size-bounded writes past the maximum evict on the writer's thread, one entry each, to the exact bound. */
  @Test
  void writesPastTheMaximumEvictOnTheWritersThread() throws Exception {
    try (TieredCache<String, String> cache = cache(b -> b.l1(l1 -> l1.maximumSize(KEYS)))) {
      prepopulate(cache);
      try (HeldCommonPool pool = new HeldCommonPool()) {
        long queuedBefore = pool.queued();

        for (int i = KEYS; i < 3 * KEYS; i++) {
          cache.put("k" + i, "v" + i);
        }

        assertThat(pool.queued()).isEqualTo(queuedBefore);
        assertThat(cache.estimatedL1Size()).isEqualTo(KEYS);
      }
    }
  }

  @Test
  void withAnExpiryAPutLeavesTheUpkeepToThePool() throws Exception {
    try (TieredCache<String, String> cache =
        cache(b -> b.l1(l1 -> l1.maximumSize(10_000).expireAfterWrite(Duration.ofMinutes(10))))) {
      assertAPutQueuesUpkeep(cache);
    }
  }

  @Test
  void withoutAnL2APutLeavesTheUpkeepToThePool() throws Exception {
    try (TieredCache<String, String> cache = TieredCache.<String, String>builder("writer-upkeep-l1").build()) {
      assertAPutQueuesUpkeep(cache);
    }
  }

  /** A put of a new key hands Caffeine's upkeep to the common pool, and the value is served. */
  private static void assertAPutQueuesUpkeep(TieredCache<String, String> cache) throws InterruptedException {
    prepopulate(cache);
    try (HeldCommonPool pool = new HeldCommonPool()) {
      long queuedBefore = pool.queued();

      cache.put("new", "w0");

      assertThat(pool.queued()).isGreaterThan(queuedBefore);
    }
    assertThat(cache.getIfPresent("new")).isEqualTo("w0");
  }

  private static TieredCache<String, String> cache(
      UnaryOperator<TieredCacheBuilder<String, String>> settings) {
    return settings.apply(
            TieredCache.<String, String>builder("writer-upkeep")
                .keyCodec(k -> k)
                .valueCodec(TestCodec.STRING)
                .l2(new InMemoryL2Store()))
        .build();
  }

  /**
   * Fills the L1. Upkeep it hands to the pool is queued before the {@link HeldCommonPool}'s own tasks, and so has run
   * when the pool is held: what follows starts from idle buffers.
   */
  private static void prepopulate(TieredCache<String, String> cache) {
    for (int i = 0; i < KEYS; i++) {
      cache.put("k" + i, "v" + i);
    }
    assertThat(cache.estimatedL1Size()).isEqualTo(KEYS);
  }
}
