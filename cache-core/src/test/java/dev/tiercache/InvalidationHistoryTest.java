package dev.tiercache;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Review defect: under heavy invalidation traffic a 1,024-entry history made installs scan it under the lock, refused
 * loads that had seen more, and evicted every entry not checked recently, so the L1 hit rate collapsed. Invalidations
 * are now looked up by what they name.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class InvalidationHistoryTest {

  @Test
  void thousandsOfUnrelatedInvalidationsNeitherEvictAnEntryNorRefuseItsLoad() {
    AtomicInteger loads = new AtomicInteger();
    try (TieredCache<String, String> cache = TieredCache.<String, String>builder("history").build()) {
      assertThat(cache.get("user:1", Tags.of("tenant:1"), k -> "v" + loads.incrementAndGet())).isEqualTo("v1");
      for (int i = 0; i < 5_000; i++) {
        cache.invalidate(Invalidation.tag("tenant:other-" + i));
        cache.invalidate(Invalidation.prefix("order:" + i + ":"));
        cache.invalidate(Invalidation.key("order:" + i));
      }
      assertThat(cache.get("user:1", Tags.of("tenant:1"), k -> "v" + loads.incrementAndGet()))
          .as("still served from the L1")
          .isEqualTo("v1");
      assertThat(loads).hasValue(1);

      cache.invalidate(Invalidation.tag("tenant:1"));
      assertThat(cache.get("user:1", Tags.of("tenant:1"), k -> "v" + loads.incrementAndGet())).isEqualTo("v2");
      cache.invalidate(Invalidation.prefix("user:"));
      assertThat(cache.get("user:1", Tags.of("tenant:1"), k -> "v" + loads.incrementAndGet())).isEqualTo("v3");
      cache.invalidate(Invalidation.pattern("user:?"));
      assertThat(cache.get("user:1", Tags.of("tenant:1"), k -> "v" + loads.incrementAndGet())).isEqualTo("v4");
      cache.invalidate(Invalidation.all());
      assertThat(cache.get("user:1", Tags.of("tenant:1"), k -> "v" + loads.incrementAndGet())).isEqualTo("v5");
    }
  }

  @Test
  void whenTheIndexFillsUpItForgetsConservatively() {
    InvalidationLog log = new InvalidationLog(4);
    long before = log.stamp();
    for (int i = 0; i < 5; i++) {
      InvalidationLog.Entry e = log.begin(Invalidation.tag("t" + i), true, () -> {});
      log.end(e, () -> {});
    }
    assertThat(log.coveredSince("k", Tags.empty(), before))
        .as("an entry checked before the index forgot is treated as covered")
        .isTrue();
    assertThat(log.installIfCurrent("k", Tags.empty(), before, checked -> {}))
        .as("a load that began before the index forgot is refused")
        .isFalse();
    long now = log.stamp();
    assertThat(log.coveredSince("k", Tags.empty(), now)).isFalse();
    assertThat(log.installIfCurrent("k", Tags.empty(), now, checked -> {})).isTrue();
  }
}
