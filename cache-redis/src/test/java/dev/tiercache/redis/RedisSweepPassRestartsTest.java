package dev.tiercache.redis;

import static dev.tiercache.redis.StoreKit.join;
import static dev.tiercache.redis.StoreKit.uniqueName;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.tiercache.redis.RedisMgetReplayTest.CuttingProxy;
import dev.tiercache.redis.testing.RedisExtension;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A pattern sweep asked to run once more (the pattern invalidated again while it ran) gets its own
 * {@link PatternSweeper#MAX_RESTARTS} restarts for that pass: replayed {@code SCAN} replies of the earlier pass must not
 * cut the next one short. Before the fix the count carried over, so a second pass that met one replayed reply after a
 * first pass that met four ended at once, leaving in Redis the covered entries it was asked to unlink.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class RedisSweepPassRestartsTest {

  /** Its own server: the SCAN pages below must hold only this test's entries. */
  @RegisterExtension static final RedisExtension REDIS = RedisExtension.standalone().withProcessControl();

  private static final int COVERED = 600;
  private static final int OTHERS = 40;
  /** Keys per SCAN page: a cut page holds about this many, so a pass that stops early leaves most entries behind. */
  private static final int BATCH = 20;
  /** Inside a page's keys: the first run's cursor is decoded, so the replay is told apart (RedisSweepScanReplayTest). */
  private static final int CUT_AT = 100;
  /** The first pass's first page and its restarts (one past MAX_RESTARTS ends it), then one in the second pass. */
  private static final int CUTS = PatternSweeper.MAX_RESTARTS + 2;

  @Test
  void aSecondPassGetsItsOwnRestartsAndUnlinksWhatThePatternCovers() throws Exception {
    REDIS.flushAll();
    String cache = uniqueName("passes");
    try (ProxiedSweeper rig = new ProxiedSweeper(REDIS, BATCH)) {
      CuttingProxy proxy = rig.proxy;
      RedisTier sweeper = rig.sweeper;
      rig.write(cache, "p:", COVERED);
      rig.write(cache, "q:", OTHERS);
      AtomicReference<CompletableFuture<Void>> again = new AtomicReference<>();
      proxy.atCut = () -> {
        int cuts = proxy.cuts.get();
        if (cuts == 1) {
          // The pattern invalidated again while its first pass runs: its reply comes, replayed, before the reply
          // of the restarted SCAN, so the first pass has not ended when the sweep is asked for one more.
          again.set(sweeper.invalidatePattern(cache, "p:*"));
        }
        if (cuts < CUTS) {
          // Not the replay of the SCAN cut now, which must go through for the sweep to tell it was replayed, but
          // the SCAN the sweep then starts over with.
          proxy.cutReplyAfter("SCAN", CUT_AT, 1);
        }
      };
      proxy.cutNextReplyAfter("SCAN", CUT_AT);
      sweeper.invalidatePattern(cache, "p:*").get(20, TimeUnit.SECONDS);
      await().atMost(Duration.ofSeconds(60))
          .until(() -> again.get() != null && again.get().isDone() && !sweeper.isSweeping(cache, "p:*"));
      proxy.cutNextReplyAfter("SCAN", -1);
      again.get().get(1, TimeUnit.SECONDS);

      assertThat(proxy.cuts.get()).as("SCAN replies cut and replayed").isEqualTo(CUTS);
      assertThat(rig.count(cache, "}:k:q:")).as("entries the pattern does not cover").isEqualTo(OTHERS);
      assertThat(rig.count(cache, "}:k:p:")).as("covered entries the second pass left in Redis").isZero();
      for (int i = 0; i < COVERED; i += 37) {
        assertThat(join(rig.writer.get(cache, "p:" + i)).isHit()).as("p:" + i + " served").isFalse();
      }
    }
  }
}
