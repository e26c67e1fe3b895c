package dev.tiercache.redis;

import static dev.tiercache.redis.StoreKit.entry;
import static dev.tiercache.redis.StoreKit.join;
import static dev.tiercache.redis.StoreKit.uniqueName;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.tiercache.redis.RedisMgetReplayTest.CuttingProxy;
import dev.tiercache.redis.testing.RedisExtension;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Review of bb381ca (a pass run again gets its own MAX_RESTARTS): hostile interleavings of the sweep's passes with
 * replayed replies, repeated invalidations, a frozen Redis and close(). The guarantees: a sweep ends (each pass is
 * bounded), a covered entry is never served, an entry the pattern does not cover is never unlinked, and a sweep that
 * ended leaves no trace in the running map (a later invalidation sweeps again).
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class RedisSweepHostileReviewTest {

  @RegisterExtension static final RedisExtension REDIS = RedisExtension.standalone().withProcessControl();

  private static final Duration TTL = Duration.ofMinutes(5);
  private static final int BATCH = 20;
  private static final int CUT_AT = 100;

  /**
   * Every SCAN the sweep starts is cut (its replay let through), and the pattern is invalidated again at each of the
   * first AGAIN cuts. Each pass must still end after MAX_RESTARTS + 1 cuts, so the sweep ends after at most
   * (AGAIN + 1) * (MAX_RESTARTS + 1) cuts, well before the cap at which the proxy stops cutting.
   */
  @Test
  void aSweepCutOnEveryScanAndInvalidatedAgainAtEachCutStillEnds() throws Exception {
    REDIS.flushAll();
    String cache = uniqueName("hostile");
    int covered = 300;
    int others = 40;
    int again = 6;
    int cap = 200;
    int bound = (again + 1) * (PatternSweeper.MAX_RESTARTS + 1);
    try (ProxiedSweeper rig = new ProxiedSweeper(REDIS, BATCH)) {
      CuttingProxy proxy = rig.proxy;
      RedisTier writer = rig.writer;
      RedisTier sweeper = rig.sweeper;
      StatefulRedisConnection<String, String> raw = rig.raw;
      rig.write(cache, "p:", covered);
      rig.write(cache, "q:", others);
      List<CompletableFuture<Void>> invalidations = new CopyOnWriteArrayList<>();
      proxy.atCut = () -> {
        int cuts = proxy.cuts.get();
        if (cuts <= again) {
          invalidations.add(sweeper.invalidatePattern(cache, "p:*"));
        }
        if (cuts < cap) {
          proxy.cutReplyAfter("SCAN", CUT_AT, 1);
        }
      };
      proxy.cutNextReplyAfter("SCAN", CUT_AT);
      sweeper.invalidatePattern(cache, "p:*").get(20, TimeUnit.SECONDS);
      await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(50))
          .until(() -> invalidations.size() == again
              && invalidations.stream().allMatch(CompletableFuture::isDone)
              && !sweeper.isSweeping(cache, "p:*"));
      int cuts = proxy.cuts.get();
      proxy.cutNextReplyAfter("SCAN", -1);
      System.out.println("REVIEW every-scan-cut: cuts=" + cuts + " bound=" + bound + " cap=" + cap
          + " covered left=" + count(raw, cache, "}:k:p:") + " others=" + count(raw, cache, "}:k:q:"));
      assertThat(cuts).as("cuts before the sweep ended on its own").isLessThanOrEqualTo(bound).isLessThan(cap);
      assertThat(count(raw, cache, "}:k:q:")).as("entries the pattern does not cover").isEqualTo(others);
      for (int i = 0; i < covered; i += 7) {
        assertThat(join(writer.get(cache, "p:" + i)).isHit()).as("p:" + i + " served").isFalse();
      }
      // Not stuck: a later invalidation without faults sweeps every covered entry.
      join(sweeper.invalidatePattern(cache, "p:*"));
      await().atMost(Duration.ofSeconds(30)).until(() -> !sweeper.isSweeping(cache, "p:*"));
      assertThat(count(raw, cache, "}:k:p:")).as("covered entries left after a clean sweep").isZero();
      assertThat(count(raw, cache, "}:k:q:")).as("entries the pattern does not cover").isEqualTo(others);
    }
  }

  /**
   * The SWEEP script's reply (not the SCAN's) cut at each offset and replayed, the pattern invalidated again at the
   * cut and entries of the pattern written anew between: the sweep ends, the again pass leaves no covered entry
   * written before the last invalidation, the rewritten ones (after it) stay, and nothing uncovered is unlinked.
   */
  @Test
  void aSweepScriptReplyCutAndReplayedWithAnotherPassKeepsTheGuarantees() throws Exception {
    REDIS.flushAll();
    int covered = 200;
    int others = 30;
    try (ProxiedSweeper rig = new ProxiedSweeper(REDIS, BATCH)) {
      CuttingProxy proxy = rig.proxy;
      RedisTier writer = rig.writer;
      RedisTier sweeper = rig.sweeper;
      StatefulRedisConnection<String, String> raw = rig.raw;
      List<String> wrong = new ArrayList<>();
      int cut = 0;
      for (int offset = 0; offset < 6; offset++) {
        String cache = uniqueName("script");
        rig.write(cache, "p:", covered);
        rig.write(cache, "q:", others);
        AtomicInteger phase = new AtomicInteger();
        CompletableFuture<Void> second = new CompletableFuture<>();
        proxy.atCut = () -> {
          if (phase.getAndIncrement() == 0) {
            // Invalidated again while the pass runs; the write of p:0 after it must survive every pass.
            sweeper.invalidatePattern(cache, "p:*")
                .thenCompose(v -> writer.put(cache, "p:0", entry("after"), TTL))
                .whenComplete((v, e) -> {
                  if (e != null) {
                    second.completeExceptionally(e);
                  } else {
                    second.complete(null);
                  }
                });
          }
        };
        int cutsBefore = proxy.cuts.get();
        // The INVALIDATE goes first; the cut is armed for the first SWEEP after it (skip 1 EVALSHA).
        proxy.cutReplyAfter("EVALSHA", offset, 1);
        sweeper.invalidatePattern(cache, "p:*").get(20, TimeUnit.SECONDS);
        await().atMost(Duration.ofSeconds(30))
            .until(() -> !sweeper.isSweeping(cache, "p:*") && (proxy.cuts.get() == cutsBefore || second.isDone()));
        proxy.cutNextReplyAfter("EVALSHA", -1);
        if (proxy.cuts.get() == cutsBefore) {
          continue;
        }
        cut++;
        second.get(10, TimeUnit.SECONDS);
        await().atMost(Duration.ofSeconds(30)).until(() -> !sweeper.isSweeping(cache, "p:*"));
        long q = count(raw, cache, "}:k:q:");
        long p = count(raw, cache, "}:k:p:");
        if (q != others) {
          wrong.add("offset " + offset + ": " + (others - q) + " uncovered unlinked");
        }
        if (!"after".equals(text(join(writer.get(cache, "p:0"))))) {
          wrong.add("offset " + offset + ": p:0 written after the last invalidation lost");
        }
        for (int i = 1; i < covered; i += 7) {
          if (join(writer.get(cache, "p:" + i)).isHit()) {
            wrong.add("offset " + offset + ": p:" + i + " served");
          }
        }
        System.out.println("REVIEW sweep-script-cut offset " + offset + ": covered left " + p + " (1 expected)");
      }
      System.out.println("REVIEW sweep-script-cut: cut " + cut + ", wrong " + wrong);
      assertThat(cut).as("SWEEP replies cut").isGreaterThan(2);
      assertThat(wrong).isEmpty();
    }
  }

  /**
   * A sweep asked for one more pass while Redis is frozen: both passes fail, the sweep must end (no running entry
   * left) and a later invalidation must sweep again. Meanwhile threads invalidate the pattern and one closes a second
   * tier, whose sweeps must leave nothing running.
   */
  @Test
  void aSweepWhoseStepsFailOnAFrozenRedisEndsAndALaterOneSweeps() throws Exception {
    REDIS.flushAll();
    String cache = uniqueName("frozen");
    int covered = 3000;
    int others = 50;
    RedisClient direct = RedisClient.create(REDIS.uri());
    direct.setOptions(RedisTier.recommendedClientOptions());
    RedisClient slow = RedisClient.create(
        RedisURI.builder().withHost(REDIS.host()).withPort(REDIS.port()).withTimeout(Duration.ofSeconds(1)).build());
    try (StatefulRedisConnection<String, String> raw = direct.connect();
        RedisTier writer = RedisTier.create(direct);
        RedisTier sweeper = RedisTier.create(slow, RedisTierOptions.builder().scanBatch(5).build())) {
      for (int i = 0; i < covered; i++) {
        writer.put(cache, "p:" + i, entry("v"), TTL);
      }
      for (int i = 0; i < others; i++) {
        join(writer.put(cache, "q:" + i, entry("v"), TTL));
      }
      join(writer.put(cache, "p:last", entry("v"), TTL));
      join(sweeper.invalidatePattern(cache, "p:*"));
      join(sweeper.invalidatePattern(cache, "p:*")); // one more pass, asked while the first runs
      boolean sweepingAtFreeze = sweeper.isSweeping(cache, "p:*");
      REDIS.freeze();
      try {
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100))
            .until(() -> !sweeper.isSweeping(cache, "p:*"));
      } finally {
        REDIS.unfreeze();
      }
      System.out.println("REVIEW frozen: sweeping at freeze " + sweepingAtFreeze + ", covered left "
          + count(raw, cache, "}:k:p:"));
      assertThat(count(raw, cache, "}:k:q:")).isEqualTo(others);
      join(sweeper.invalidatePattern(cache, "p:*"));
      await().atMost(Duration.ofSeconds(60)).until(() -> !sweeper.isSweeping(cache, "p:*"));
      assertThat(count(raw, cache, "}:k:p:")).as("covered entries after a clean sweep").isZero();
      assertThat(count(raw, cache, "}:k:q:")).isEqualTo(others);

      // close() racing sweep() and running passes: nothing may stay running, nothing may throw.
      RedisTier closing = RedisTier.create(direct, RedisTierOptions.builder().scanBatch(5).build());
      for (int i = 0; i < 500; i++) {
        join(writer.put(cache, "r:" + i, entry("v"), TTL));
      }
      ExecutorService pool = Executors.newFixedThreadPool(2);
      CountDownLatch go = new CountDownLatch(1);
      List<Throwable> thrown = new CopyOnWriteArrayList<>();
      try {
        for (int t = 0; t < 2; t++) {
          int id = t;
          pool.execute(() -> {
            try {
              go.await(10, TimeUnit.SECONDS);
              for (int i = 0; i < 50; i++) {
                closing.invalidatePattern(cache, "r:" + (id * 50 + i) % 7 + "*");
              }
            } catch (Throwable e) {
              thrown.add(e);
            }
          });
        }
        go.countDown();
        closing.close();
      } finally {
        pool.shutdown();
        assertThat(pool.awaitTermination(20, TimeUnit.SECONDS)).isTrue();
      }
      await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
        for (int k = 0; k < 7; k++) {
          assertThat(closing.isSweeping(cache, "r:" + k + "*")).as("r:" + k + "* after close").isFalse();
        }
      });
      assertThat(thrown).isEmpty();
    } finally {
      slow.shutdown(Duration.ZERO, Duration.ofSeconds(2));
      direct.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
  }

  /**
   * Redis killed and restarted (empty) while a sweep with one more pass asked runs, its commands queued and replayed
   * by Lettuce's default options on the new server: the sweep ends, and entries written after the restart (which no
   * recorded pattern covers) are neither unlinked nor missed.
   */
  @Test
  void aSweepRunningAcrossARedisRestartEndsAndUnlinksNothingWrittenAfterIt() throws Exception {
    REDIS.flushAll();
    String cache = uniqueName("killed");
    int covered = 3000;
    RedisClient direct = RedisClient.create(REDIS.uri());
    direct.setOptions(RedisTier.recommendedClientOptions());
    RedisClient queueing = RedisClient.create(
        RedisURI.builder().withHost(REDIS.host()).withPort(REDIS.port()).withTimeout(Duration.ofSeconds(5)).build());
    try (RedisTier writer = RedisTier.create(direct);
        RedisTier sweeper = RedisTier.create(queueing, RedisTierOptions.builder().scanBatch(5).build())) {
      for (int i = 0; i < covered; i++) {
        writer.put(cache, "p:" + i, entry("v"), TTL);
      }
      join(writer.put(cache, "p:last", entry("v"), TTL));
      join(sweeper.invalidatePattern(cache, "p:*"));
      join(sweeper.invalidatePattern(cache, "p:*"));
      boolean sweepingAtKill = sweeper.isSweeping(cache, "p:*");
      REDIS.restart();
      int fresh = 200;
      await().atMost(Duration.ofSeconds(20)).ignoreExceptions()
          .until(() -> {
            writer.put(cache, "p:new0", entry("new"), TTL).get(2, TimeUnit.SECONDS);
            return true;
          });
      for (int i = 1; i < fresh; i++) {
        join(writer.put(cache, "p:new" + i, entry("new"), TTL));
      }
      await().atMost(Duration.ofSeconds(60)).until(() -> !sweeper.isSweeping(cache, "p:*"));
      try (StatefulRedisConnection<String, String> raw = direct.connect()) {
        long left = count(raw, cache, "}:k:p:new");
        int served = 0;
        for (int i = 0; i < fresh; i++) {
          if ("new".equals(text(join(writer.get(cache, "p:new" + i))))) {
            served++;
          }
        }
        System.out.println("REVIEW restart: sweeping at kill " + sweepingAtKill + ", fresh left " + left
            + ", fresh served " + served);
        assertThat(left).as("entries written after the restart, left in Redis").isEqualTo(fresh);
        assertThat(served).as("entries written after the restart, served").isEqualTo(fresh);
      }
    } finally {
      queueing.shutdown(Duration.ZERO, Duration.ofSeconds(2));
      direct.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
  }

  private static String text(dev.tiercache.spi.L2Read read) {
    return read.entry() == null || read.entry().value() == null
        ? null
        : new String(read.entry().value(), java.nio.charset.StandardCharsets.UTF_8);
  }

  private static long count(StatefulRedisConnection<String, String> raw, String cache, String marker) {
    return ProxiedSweeper.entries(raw, cache, marker);
  }
}
