package dev.tiercache;

import static org.assertj.core.api.Assertions.assertThat;

import com.github.benmanes.caffeine.cache.Ticker;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Caffeine's upkeep after a local write runs on the writing thread when the cache is quiet (no upkeep asked for in
 * the last {@link L1Upkeep#QUIET_NANOS}) and its upkeep is bounded, and goes to the common pool otherwise: waking a
 * sleeping pool worker for every put, removal and write-back of a cache in front of Redis cost more than the upkeep.
 * The common pool's workers are held, so what is handed to the pool stays queued where the test counts it; the
 * cache's ticker is moved by hand.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class QuietUpkeepTest {

  private static final long QUIET = L1Upkeep.QUIET_NANOS;

  private final AtomicLong nanos = new AtomicLong(1_000_000_000L);
  private final Ticker ticker = nanos::get;

  private TieredCache<String, String> cache(boolean expiring) {
    return TieredCache.<String, String>builder("quiet")
        .ticker(ticker)
        .l1(l1 -> {
          l1.maximumSize(2);
          if (expiring) {
            l1.expireAfterWrite(Duration.ofMinutes(10));
          }
        })
        .build();
  }

  @Test
  void aWriteToAQuietCacheRunsItsUpkeepInlineAndABurstHandsItToThePool() throws Exception {
    try (TieredCache<String, String> cache = cache(false); HeldCommonPool pool = new HeldCommonPool()) {
      long queued = pool.queued();
      cache.put("k1", "v1");
      nanos.addAndGet(QUIET + 1);
      cache.put("k2", "v2");
      nanos.addAndGet(QUIET + 1);
      cache.put("k3", "v3");
      assertThat(pool.queued()).as("quiet writes queue nothing").isEqualTo(queued);
      assertThat(cache.estimatedL1Size()).as("the third write evicted inline").isEqualTo(2);

      cache.put("k4", "v4");
      assertThat(pool.queued()).as("a write right after another hands its upkeep to the pool").isEqualTo(queued + 1);
      assertThat(cache.estimatedL1Size()).as("not evicted yet: the upkeep waits in the pool").isEqualTo(3);

      nanos.addAndGet(QUIET);
      cache.invalidateKey("k4");
      assertThat(pool.queued()).as("still within the quiet period of the last request").isEqualTo(queued + 1);
    }
  }

  /**
   * Review of d2e052a: Caffeine asks for no upkeep while one is pending or running, so "none asked for in the last
   * 100 us" also holds in the middle of a sustained burst once the pool's upkeep took longer than that to be woken and
   * run (usual on two busy cores): the next write, 1 us after the previous one, then runs the upkeep on its own thread,
   * under the key's stripe, though the pool's worker has only just finished. Here a write every microsecond by the
   * cache's ticker, 200 of them while the pool is held; the pool then runs the upkeep; the burst goes on.
   */
  @Test
  void aWriteInASustainedBurstHandsItsUpkeepToThePoolAfterThePoolHasRunIt() throws Exception {
    try (TieredCache<String, String> cache = cache(false)) {
      cache.put("k0", "v");
      HeldCommonPool pool = new HeldCommonPool();
      long queued = pool.queued();
      for (int i = 1; i <= 200; i++) {
        nanos.addAndGet(1_000);
        cache.put("k" + i, "v");
      }
      assertThat(pool.queued()).as("the burst's first write queued its upkeep, the others found it pending")
          .isEqualTo(queued + 1);
      pool.close();
      org.awaitility.Awaitility.await()
          .atMost(Duration.ofSeconds(10))
          .pollInterval(Duration.ofMillis(5))
          // Quiescent: the pool's upkeep has returned, not only evicted.
          .until(() -> cache.estimatedL1Size() == 2 && java.util.concurrent.ForkJoinPool.commonPool().isQuiescent());

      nanos.addAndGet(1_000);
      try (HeldCommonPool again = new HeldCommonPool()) {
        long before = again.queued();
        cache.put("next", "v");
        assertThat(again.queued()).as("a write 1 us after the previous one, in the same burst").isEqualTo(before + 1);
      }
    }
  }

  @Test
  void aLocalRemovalFromAQuietCacheRunsItsUpkeepInline() throws Exception {
    try (TieredCache<String, String> cache = cache(false)) {
      cache.put("k1", "v1");
      nanos.addAndGet(QUIET + 1);
      try (HeldCommonPool pool = new HeldCommonPool()) {
        long queued = pool.queued();
        cache.invalidateKey("k1");
        assertThat(pool.queued()).isEqualTo(queued);
        assertThat(cache.getIfPresent("k1")).isNull();
      }
    }
  }

  /**
   * Review of d2e052a: a cache with no expiry never read its ticker before (Caffeine gets a disabled ticker, and the
   * L1 reads it only for times it keeps); the quiet check now reads it at build time and on every upkeep request, so a
   * ticker that cannot be read (a test clock not set up, a clock that throws) fails build() of a cache that has no use
   * for time. It should fall back to the pool, as before.
   */
  @Test
  void aCacheWithNoExpiryStillBuildsAndWritesWhenItsTickerCannotBeRead() {
    Ticker broken = () -> {
      throw new IllegalStateException("no time here");
    };
    try (TieredCache<String, String> cache =
        TieredCache.<String, String>builder("no-time").ticker(broken).l1(l1 -> l1.maximumSize(2)).build()) {
      for (int i = 0; i < 5; i++) {
        cache.put("k" + i, "v" + i);
      }
      assertThat(cache.getIfPresent("k4")).isEqualTo("v4");
    }
  }

  @Test
  void anExpiringCacheNeverRunsItsUpkeepInline() throws Exception {
    // With a TTL one upkeep expires every entry past it, however many: not on a caller's thread.
    try (TieredCache<String, String> cache = cache(true); HeldCommonPool pool = new HeldCommonPool()) {
      long queued = pool.queued();
      nanos.addAndGet(QUIET + 1);
      cache.put("k1", "v1");
      assertThat(pool.queued()).isEqualTo(queued + 1);
    }
  }
}
