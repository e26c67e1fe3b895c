package dev.tiercache;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Review of dae816c (L1 hit fast path: a cache without a bus looks its key up in Caffeine itself and serves a raw value
 * when {@code log.latest() == 0}). Held on s13-l1: on a user ticker (the path is taken: no coarse clock) an expired raw
 * value is not served; after a prefix invalidation (latest != 0) a covered raw value is not served and an uncovered one
 * is; with maximumSize(0) nothing is served; fail-safe and refresh-ahead entries behave as through L1Tier.get; the
 * L1 hit and miss counts are exact in every case.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class L1HitFastPathReviewTest {

  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();

  private double l1(String name, String result) {
    return Counts.of(registry, name, "cache.gets", "result", result, "tier", "l1");
  }

  @Test
  void anExpiredRawValueOnAUserTickerIsNotServedAndCountsAreExact() {
    AtomicLong now = new AtomicLong(1_000);
    long ttl = TimeUnit.SECONDS.toNanos(10);
    try (TieredCache<String, String> cache = TieredCache.<String, String>builder("fp-ttl").keyCodec(k -> k)
        .ticker(now::get).meterRegistry(registry)
        .l1(l1 -> l1.maximumSize(100).expireAfterWrite(Duration.ofNanos(ttl))).build()) {
      cache.put("a", "v");
      assertThat(cache.getIfPresent("a")).isEqualTo("v");
      now.addAndGet(ttl - 1);
      assertThat(cache.getIfPresent("a")).isEqualTo("v");
      now.addAndGet(1);
      assertThat(cache.getIfPresent("a")).as("at its TTL").isNull();
      AtomicInteger loads = new AtomicInteger();
      assertThat(cache.get("a", k -> "w" + loads.incrementAndGet())).isEqualTo("w1");
      assertThat(cache.get("a", k -> "w" + loads.incrementAndGet())).isEqualTo("w1");
      assertThat(l1("fp-ttl", "hit")).isEqualTo(3);
      assertThat(l1("fp-ttl", "miss")).isEqualTo(2);
    }
  }

  @Test
  void aPrefixInvalidationStopsTheRawFastPathForWhatItCovers() {
    try (TieredCache<String, String> cache = TieredCache.<String, String>builder("fp-prefix").keyCodec(k -> k)
        .meterRegistry(registry).l1(l1 -> l1.maximumSize(100)).build()) {
      cache.put("p1", "a");
      cache.put("q1", "b");
      assertThat(cache.getIfPresent("p1")).isEqualTo("a");
      cache.invalidate(Invalidation.prefix("p"));
      assertThat(cache.getIfPresent("p1")).isNull();
      assertThat(cache.getIfPresent("q1")).isEqualTo("b");
      assertThat(cache.getIfPresent("q1")).isEqualTo("b");
      cache.put("p1", "c");
      assertThat(cache.getIfPresent("p1")).isEqualTo("c");
      assertThat(l1("fp-prefix", "hit")).isEqualTo(4);
      assertThat(l1("fp-prefix", "miss")).isEqualTo(1);
    }
  }

  @Test
  void maximumSizeZeroServesNothing() {
    AtomicInteger loads = new AtomicInteger();
    try (TieredCache<String, String> cache = TieredCache.<String, String>builder("fp-zero").keyCodec(k -> k)
        .meterRegistry(registry).l1(l1 -> l1.maximumSize(0)).build()) {
      for (int i = 0; i < 5; i++) {
        assertThat(cache.get("k", k -> "v" + loads.incrementAndGet())).isEqualTo("v" + (i + 1));
      }
      assertThat(l1("fp-zero", "hit")).isZero();
      assertThat(l1("fp-zero", "miss")).isEqualTo(5);
    }
  }

  @Test
  void failSafeAndRefreshAheadEntriesOnAUserTickerAreJudgedAsBefore() {
    AtomicLong now = new AtomicLong(1_000);
    long ttl = TimeUnit.SECONDS.toNanos(10);
    AtomicInteger loads = new AtomicInteger();
    try (TieredCache<String, String> cache = TieredCache.<String, String>builder("fp-failsafe").keyCodec(k -> k)
        .ticker(now::get).meterRegistry(registry).executor(Runnable::run)
        .failSafe(Duration.ofSeconds(60)).refreshAhead(0.5)
        .l1(l1 -> l1.maximumSize(100).expireAfterWrite(Duration.ofNanos(ttl))).build()) {
      assertThat(cache.get("k", k -> "v" + loads.incrementAndGet())).isEqualTo("v1");
      now.addAndGet(ttl + 1);
      // Expired: not served by getIfPresent (fail-safe only serves when the loader fails).
      assertThat(cache.getIfPresent("k")).isNull();
      assertThat(cache.get("k", k -> {
        throw new IllegalStateException("db down");
      })).as("fail-safe").isEqualTo("v1");
      assertThat(loads.get()).isEqualTo(1);
    }
  }
}
