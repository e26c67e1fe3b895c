package dev.tiercache;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A write over an expired raw value (L1Tier#put removes the expired node first, since computeIfPresent does not see
 * it): the expired value is counted as one eviction, exactly, whichever path writes over it (a put of an L1-only
 * cache, a read-through load, a bulk load), whether the old value was raw, an entry with tags, or a raw value wrapped
 * once an invalidation of many keys began; the new value is served for its full TTL and nothing else is removed.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RawExpiredOverwriteTest {

  private static final long TTL = TimeUnit.SECONDS.toNanos(10);

  enum Old { RAW, TAGGED, WRAPPED }

  enum Path { PUT, LOAD, GET_ALL }

  @ParameterizedTest
  @EnumSource(Old.class)
  void aWriteOverAnExpiredValueCountsItsEvictionOnceOnEveryPath(Old old) {
    for (Path path : Path.values()) {
      String what = old + " " + path;
      SimpleMeterRegistry registry = new SimpleMeterRegistry();
      AtomicLong now = new AtomicLong(5_000_000);
      try (TieredCache<String, String> cache = TieredCache.<String, String>builder("raw-over-" + old + path)
          .keyCodec(k -> k).ticker(now::get).meterRegistry(registry)
          .l1(l1 -> l1.maximumSize(100).expireAfterWrite(Duration.ofNanos(TTL))).build()) {
        if (old == Old.TAGGED) {
          cache.put("k", "old", Tags.of("t"));
        } else {
          cache.put("k", "old");
        }
        cache.put("other", "live");
        if (old == Old.WRAPPED) {
          cache.invalidate(Invalidation.prefix("nothing:"));
          assertThat(cache.getIfPresent("k")).isEqualTo("old");
        }
        long start = now.get();
        now.set(start + TTL / 2);
        cache.put("other", "live2");
        now.set(start + TTL);
        switch (path) {
          case PUT -> cache.put("k", "new");
          case LOAD -> assertThat(cache.get("k", k -> "new")).as(what).isEqualTo("new");
          case GET_ALL -> assertThat(cache.getAll(List.of("k"), keys -> Map.of("k", "new"))).as(what)
              .containsEntry("k", "new");
          default -> throw new IllegalArgumentException();
        }
        assertThat(evictions(registry)).as("%s: the expired value, once", what).isEqualTo(1);
        assertThat(cache.estimatedL1Size()).as(what).isEqualTo(2);
        assertThat(cache.getIfPresent("other")).as("%s: the other key untouched", what).isEqualTo("live2");
        now.set(start + TTL + TTL - 1);
        assertThat(cache.getIfPresent("k")).as("%s: the new value for its full TTL", what).isEqualTo("new");
        now.set(start + TTL + TTL);
        assertThat(cache.getIfPresent("k")).as("%s: the new value at its TTL", what).isNull();
        // A put's upkeep runs on the pool: let it settle, then a fill's upkeep expires the rest.
        assertThat(ForkJoinPool.commonPool().awaitQuiescence(10, TimeUnit.SECONDS)).isTrue();
        assertThat(cache.get("x", k -> "x")).isEqualTo("x");
        assertThat(ForkJoinPool.commonPool().awaitQuiescence(10, TimeUnit.SECONDS)).isTrue();
        assertThat(evictions(registry)).as("%s: and the new one and other's once each", what).isEqualTo(3);
      }
    }
  }

  private static long evictions(SimpleMeterRegistry registry) {
    return (long) registry.get("cache.evictions").tag("tier", "l1").counter().count();
  }
}
