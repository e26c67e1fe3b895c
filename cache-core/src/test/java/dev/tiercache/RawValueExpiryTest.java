package dev.tiercache;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tiercache.testkit.InMemoryBus;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A value with no tags in an L1 with a TTL (and no fail-safe, refresh or weigher) is kept without an entry object, and
 * Caffeine judges its expiry: exactly on an injected ticker, and on the system clock at most 1 ms late
 * ({@link CoarseTicker#GRANULARITY_NANOS}). Once an invalidation that may cover many keys has begun, a read wraps such
 * a value in an entry, which must keep the value's expiry: replacing the value restarts Caffeine's own TTL.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class RawValueExpiryTest {

  private static final long TTL = 1_000_000_000L;

  @ParameterizedTest(name = "bus {0}")
  @ValueSource(booleans = {false, true})
  void aValueWrappedAfterAPrefixInvalidationBeganStillExpiresAtItsTtl(boolean bus) {
    AtomicLong now = new AtomicLong(1_000_000);
    try (TieredCache<String, String> cache = onTicker("raw-wrap", now, bus)) {
      long start = now.get();
      cache.put("k", "x");
      now.set(start + TTL / 2);
      cache.invalidate(Invalidation.prefix("other:"));

      assertThat(cache.getIfPresent("k")).as("read (and wrapped) half way through its TTL").isEqualTo("x");
      now.set(start + TTL - 1);
      assertThat(cache.getIfPresent("k")).as("just before its TTL").isEqualTo("x");
      now.set(start + TTL);
      assertThat(cache.getIfPresent("k")).as("at its TTL, counted from the put, not from the wrapping").isNull();
    }
  }

  /** A value wrapped before the first read after the invalidation is covered and goes; its neighbour is kept. */
  @ParameterizedTest(name = "bus {0}")
  @ValueSource(booleans = {false, true})
  void aPrefixInvalidationCoversARawValueWithATtl(boolean bus) {
    AtomicLong now = new AtomicLong(1_000_000);
    try (TieredCache<String, String> cache = onTicker("raw-covered", now, bus)) {
      cache.put("user:1", "a");
      cache.put("order:1", "b");
      now.addAndGet(TTL / 4);
      cache.invalidate(Invalidation.prefix("user:"));

      assertThat(cache.getIfPresent("user:1")).isNull();
      assertThat(cache.getIfPresent("order:1")).isEqualTo("b");
    }
  }

  /**
   * On the system clock no hit comes more than 1 ms after the TTL counted from the put's return: a read brings
   * Caffeine's coarse clock to within 1 ms of a reading taken after the caller's {@code before}, and the write was
   * stamped no later than the put returned. Reads rotate through getIfPresent, getAll and get with a loader; when
   * {@code wrapped}, a prefix invalidation begins after the put, so the first read wraps the value into an entry.
   * Bounded: the value must be gone within 2 s.
   */
  @ParameterizedTest(name = "bus {0} wrapped {1}")
  @CsvSource({"false,false", "true,false", "false,true", "true,true"})
  void onTheSystemClockNoHitComesMoreThanOneMillisecondPastTheTtl(boolean bus, boolean wrapped) {
    long ttl = TimeUnit.MILLISECONDS.toNanos(40);
    TieredCacheBuilder<String, String> builder = TieredCache.<String, String>builder("raw-system")
        .keyCodec(k -> k)
        .l1(l1 -> l1.maximumSize(100).expireAfterWrite(Duration.ofNanos(ttl)));
    if (bus) {
      builder.bus(new InMemoryBus());
    }
    try (TieredCache<String, String> cache = builder.build()) {
      for (int round = 0; round < 6; round++) {
        String key = "k" + round;
        cache.put(key, "x");
        long written = System.nanoTime();
        if (wrapped) {
          cache.invalidate(Invalidation.prefix("other:" + round));
        }
        long deadline = written + TimeUnit.SECONDS.toNanos(2);
        long lastHit = Long.MIN_VALUE;
        boolean gone = false;
        for (int op = 0; !gone && System.nanoTime() - deadline < 0; op++) {
          long before = System.nanoTime();
          String read = switch ((op + round) % 3) {
            case 0 -> cache.getIfPresent(key);
            case 1 -> cache.getAll(List.of(key), keys -> Map.of()).get(key);
            default -> cache.get(key, k -> "loaded");
          };
          if ("x".equals(read)) {
            lastHit = before;
          } else {
            gone = true;
          }
        }
        assertThat(gone).as("expired within 2 s").isTrue();
        if (lastHit != Long.MIN_VALUE) {
          assertThat(lastHit - written)
              .as("round %d: last hit, from the put's return", round)
              .isLessThan(ttl + CoarseTicker.GRANULARITY_NANOS);
        }
      }
    }
  }

  /** A cache whose L1 has a TTL of {@link #TTL} on the given ticker, with or without a bus. */
  private static TieredCache<String, String> onTicker(String name, AtomicLong now, boolean bus) {
    TieredCacheBuilder<String, String> builder = TieredCache.<String, String>builder(name)
        .keyCodec(k -> k).ticker(now::get)
        .l1(l1 -> l1.maximumSize(100).expireAfterWrite(Duration.ofNanos(TTL)));
    if (bus) {
      builder.bus(new InMemoryBus());
    }
    return builder.build();
  }
}
