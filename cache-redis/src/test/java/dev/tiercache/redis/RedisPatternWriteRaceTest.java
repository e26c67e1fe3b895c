package dev.tiercache.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.tiercache.Invalidation;
import dev.tiercache.InvalidationPendingException;
import dev.tiercache.TieredCache;
import dev.tiercache.codec.ValueCodecs;
import dev.tiercache.redis.testing.RedisExtension;
import io.lettuce.core.RedisClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A pattern invalidation racing writes of the keys it covers, keys holding glob metacharacters, the namespace's own
 * separators, braces, a NUL and non-ASCII text: once invalidate returns, no value whose put had returned before the
 * invalidation began is served, by the writing instance (L1 or L2) nor by another one reading the L2; keys the
 * pattern names only through a metacharacter it escapes keep their values.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class RedisPatternWriteRaceTest {

  @RegisterExtension static final RedisExtension REDIS = RedisExtension.standalone();

  private static final String PATTERN = "a\\*b:*:p";
  private static final String[] COVERED = {
    "a*b:1:p", "a*b:}:k:{x}:p", "a*b:caf\u00e9\u0000\n:p", "a*b:[1]?\\:p", "a*b::p", "a*b:*:p"
  };
  private static final String[] OTHERS = {"axb:1:p", "a*b:1:q", "a\\*b:1:p", "a*b:1:p:"};
  private static final int ROUNDS = 40;

  @Test
  void noValueWrittenBeforeAPatternInvalidationIsServedAfterIt() throws Exception {
    String name = StoreKit.uniqueName("patrace");
    RedisClient clientA = RedisClient.create(REDIS.uri());
    RedisClient clientB = RedisClient.create(REDIS.uri());
    try (RedisTier tierA = RedisTier.create(clientA);
        RedisTier tierB = RedisTier.create(clientB);
        TieredCache<String, String> a = cache(name, tierA, 10_000);
        // B keeps nothing in its L1: what it serves is what the L2 serves, with no bus delay in between.
        TieredCache<String, String> b = cache(name, tierB, 0)) {
      for (int i = 0; i < OTHERS.length; i++) {
        a.put(OTHERS[i], "other");
      }
      AtomicLongArray done = new AtomicLongArray(COVERED.length);
      AtomicBoolean stop = new AtomicBoolean();
      AtomicReference<Throwable> failure = new AtomicReference<>();
      CountDownLatch started = new CountDownLatch(2);
      List<Thread> writers = new ArrayList<>();
      for (int t = 0; t < 2; t++) {
        int first = t;
        Thread w = new Thread(() -> {
          started.countDown();
          long n = 0;
          while (!stop.get()) {
            n++;
            for (int k = first; k < COVERED.length; k += 2) {
              try {
                a.put(COVERED[k], Long.toString(n));
              } catch (InvalidationPendingException e) {
                continue;
              } catch (Throwable e) {
                failure.compareAndSet(null, e);
                return;
              }
              done.set(k, n);
            }
          }
        });
        w.start();
        writers.add(w);
      }
      assertThat(started.await(10, TimeUnit.SECONDS)).isTrue();
      List<String> stale = new ArrayList<>();
      try {
        for (int round = 0; round < ROUNDS && stale.isEmpty(); round++) {
          long[] before = new long[COVERED.length];
          for (int k = 0; k < COVERED.length; k++) {
            before[k] = done.get(k);
          }
          a.invalidate(Invalidation.pattern(PATTERN));
          for (int k = 0; k < COVERED.length; k++) {
            for (TieredCache<String, String> node : List.of(a, b)) {
              String got = node.getIfPresent(COVERED[k]);
              if (got != null && Long.parseLong(got) <= before[k]) {
                stale.add("round " + round + " node " + (node == a ? "A" : "B") + " key #" + k + ": served " + got
                    + ", written before the invalidation (" + before[k] + ")");
              }
            }
          }
        }
        // Writes that began after the last invalidation returned, while its sweep may still run: they stay.
        long[] after = new long[COVERED.length];
        for (int k = 0; k < COVERED.length; k++) {
          after[k] = done.get(k);
        }
        await().atMost(Duration.ofSeconds(20)).until(() -> {
          for (int k = 0; k < COVERED.length; k++) {
            if (done.get(k) < after[k] + 2) {
              return false;
            }
          }
          return true;
        });
      } finally {
        stop.set(true);
        for (Thread w : writers) {
          w.join(TimeUnit.SECONDS.toMillis(20));
        }
      }
      assertThat(failure.get()).isNull();
      assertThat(stale).isEmpty();
      await().atMost(Duration.ofSeconds(30)).until(() -> !tierA.isSweeping(name, PATTERN));
      for (int k = 0; k < COVERED.length; k++) {
        for (TieredCache<String, String> node : List.of(a, b)) {
          String got = node.getIfPresent(COVERED[k]);
          assertThat(got).as("key #%d on %s: written after the invalidation", k, node == a ? "A" : "B").isNotNull();
          assertThat(Long.parseLong(got)).as("key #%d", k).isGreaterThanOrEqualTo(done.get(k));
        }
      }
      for (String other : OTHERS) {
        assertThat(b.getIfPresent(other)).as("not covered: %s", other).isEqualTo("other");
        assertThat(a.getIfPresent(other)).as("not covered: %s", other).isEqualTo("other");
      }
    } finally {
      clientA.shutdown(Duration.ZERO, Duration.ofSeconds(2));
      clientB.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
  }

  private static TieredCache<String, String> cache(String name, RedisTier tier, long l1Size) {
    return TieredCache.<String, String>builder(name).keyCodec(k -> k).l2(tier).valueCodec(ValueCodecs.string())
        .l1(l1 -> l1.maximumSize(l1Size)).build();
  }
}
