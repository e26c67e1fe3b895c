package dev.tiercache;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tiercache.testkit.InMemoryBus;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Expiry at its exact boundary on an injected ticker, for every way a hit is judged: by Caffeine alone (values), by
 * the cache from its own reading (cached absences with a shorter negative TTL, values fail-safe keeps), with and
 * without a bus (whose hits share one clock reading with the proof, which an injected ticker must not replace), and
 * with access expiry. One nanosecond before its time an entry is served; at its time it is not.
 */
class ExpiryBoundaryTest {

  private static final long TTL = 1_000_000_000L;
  private static final long NEGATIVE_TTL = 300_000_000L;

  /** Bit 0: a bus; bit 1: access expiry (half the TTL); bit 2: fail-safe. */
  @ParameterizedTest(name = "configuration {0}")
  @ValueSource(ints = {0, 1, 2, 3, 4, 5, 6, 7})
  void anEntryIsServedUntilOneNanosecondBeforeItsExpiryAndNotAtIt(int configuration) {
    boolean bus = (configuration & 1) != 0;
    boolean access = (configuration & 2) != 0;
    boolean failSafe = (configuration & 4) != 0;
    AtomicLong now = new AtomicLong(1_000_000);
    TieredCacheBuilder<String, String> builder = TieredCache.<String, String>builder("boundary-" + configuration)
        .keyCodec(k -> k).ticker(now::get).negativeTtl(Duration.ofNanos(NEGATIVE_TTL))
        .l1(l1 -> {
          l1.maximumSize(100).expireAfterWrite(Duration.ofNanos(TTL));
          if (access) {
            l1.expireAfterAccess(Duration.ofNanos(TTL / 2));
          }
        });
    if (bus) {
      builder.bus(new InMemoryBus());
    }
    if (failSafe) {
      builder.failSafe(Duration.ofSeconds(5));
    }
    try (TieredCache<String, String> cache = builder.build()) {
      long start = now.get();
      cache.put("value", "x");
      cache.putAbsent("absent", Tags.empty());
      now.set(start + NEGATIVE_TTL - 1);
      assertThat(cache.getIfPresent("absent", "ABSENT")).as("an absence just before its TTL").isEqualTo("ABSENT");
      now.set(start + NEGATIVE_TTL);
      assertThat(cache.getIfPresent("absent", "ABSENT")).as("an absence at its TTL").isNull();
      if (access) {
        // The read at start + NEGATIVE_TTL - 1 did not touch "value"; the next one does, and restarts its idle time.
        now.set(start + TTL / 2 - 1);
        assertThat(cache.getIfPresent("value")).as("a value just before its idle time").isEqualTo("x");
        now.addAndGet(TTL / 2);
        assertThat(cache.getIfPresent("value")).as("a value at its idle time").isNull();
      } else {
        now.set(start + TTL - 1);
        assertThat(cache.getIfPresent("value")).as("a value just before its TTL").isEqualTo("x");
        now.set(start + TTL);
        assertThat(cache.getIfPresent("value")).as("a value at its TTL").isNull();
        assertThat(cache.get("value", k -> "loaded")).isEqualTo("loaded");
      }
    }
  }
}
