package dev.tiercache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tiercache.testkit.InMemoryL2Store;
import dev.tiercache.testkit.TestCodec;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Fail-safe (serve a stale value when the loader fails) and refresh-ahead (reload before expiry, driven by reads),
 * on a fake ticker and a same-thread executor so every boundary is exact.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class FailSafeAndRefreshTest {

  private static final Duration TTL = Duration.ofSeconds(10);

  private final AtomicLong now = new AtomicLong(1_000);
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final AtomicInteger loads = new AtomicInteger();
  private final AtomicReference<String> database = new AtomicReference<>("v1");
  private final AtomicReference<RuntimeException> databaseFailure = new AtomicReference<>();

  private final Function<String, String> loader =
      k -> {
        loads.incrementAndGet();
        RuntimeException failure = databaseFailure.get();
        if (failure != null) {
          throw failure;
        }
        return database.get();
      };

  private TieredCacheBuilder<String, String> builder() {
    return TieredCache.<String, String>builder("failsafe")
        .keyCodec(k -> k)
        .ticker(now::get)
        .executor(Runnable::run)
        .meterRegistry(registry)
        .l1(l1 -> l1.expireAfterWrite(TTL));
  }

  private void advance(Duration d) {
    now.addAndGet(d.toNanos());
  }

  private double count(String name, String... tags) {
    return registry.counter(name, concat(tags)).count();
  }

  private static String[] concat(String... tags) {
    String[] all = new String[tags.length + 2];
    all[0] = "cache";
    all[1] = "failsafe";
    System.arraycopy(tags, 0, all, 2, tags.length);
    return all;
  }

  /** Review defect: each fail-safe serve renewed the window, so a value with TTL 10 s was served at 600 s. */
  @Test
  void servingAStaleValueAgainDoesNotMoveTheFailSafeWindow() {
    TieredCache<String, String> cache =
        builder().failSafe(Duration.ofSeconds(30)).failSafeThrottle(Duration.ofSeconds(5)).build();
    assertThat(cache.get("k", loader)).isEqualTo("v1");
    advance(TTL);
    databaseFailure.set(new IllegalStateException("database down"));
    // Read every 6 s (past the throttle each time) for 29 s past expiry: fail-safe serves v1 throughout.
    for (int i = 0; i < 5; i++) {
      assertThat(cache.get("k", loader)).as("read %d", i).isEqualTo("v1");
      advance(Duration.ofSeconds(6));
    }
    advance(Duration.ofSeconds(1));
    // 31 s past the first expiry: the window is over, however often the value was served meanwhile.
    assertThatThrownBy(() -> cache.get("k", loader)).hasMessage("database down");
  }

  @Test
  void aFailingLoaderServesTheExpiredValueWithinTheMaximumStalenessAndIsThrottled() {
    TieredCache<String, String> cache =
        builder().failSafe(Duration.ofMinutes(1)).failSafeThrottle(Duration.ofSeconds(5)).build();
    assertThat(cache.get("k", loader)).isEqualTo("v1");
    advance(TTL);
    databaseFailure.set(new IllegalStateException("database down"));

    assertThat(cache.get("k", loader)).isEqualTo("v1");
    assertThat(loads).hasValue(2);
    assertThat(count("cache.failsafe.served")).isEqualTo(1);

    // Throttled: the failing loader is not called again for 5 s.
    advance(Duration.ofSeconds(4));
    assertThat(cache.get("k", loader)).isEqualTo("v1");
    assertThat(loads).hasValue(2);
    advance(Duration.ofSeconds(1));
    assertThat(cache.get("k", loader)).isEqualTo("v1");
    assertThat(loads).hasValue(3);

    // The database is back: the next load after the throttle wins.
    databaseFailure.set(null);
    database.set("v2");
    advance(Duration.ofSeconds(5));
    assertThat(cache.get("k", loader)).isEqualTo("v2");
  }

  @Test
  void pastTheMaximumStalenessTheFailurePropagates() {
    TieredCache<String, String> cache = builder().failSafe(Duration.ofSeconds(30)).build();
    assertThat(cache.get("k", loader)).isEqualTo("v1");
    advance(TTL.plusSeconds(30).plusNanos(1));
    databaseFailure.set(new IllegalStateException("database down"));
    assertThatThrownBy(() -> cache.get("k", loader)).hasMessage("database down");
  }

  @Test
  void anInvalidatedValueIsNeverServedByFailSafe() {
    TieredCache<String, String> cache = builder().failSafe(Duration.ofMinutes(1)).build();
    assertThat(cache.get("k", loader)).isEqualTo("v1");
    cache.invalidate(Invalidation.key("k"));
    databaseFailure.set(new IllegalStateException("database down"));
    assertThatThrownBy(() -> cache.get("k", loader)).hasMessage("database down");
  }

  @Test
  void withoutFailSafeTheLoaderFailurePropagates() {
    TieredCache<String, String> cache = builder().build();
    assertThat(cache.get("k", loader)).isEqualTo("v1");
    advance(TTL);
    databaseFailure.set(new IllegalStateException("database down"));
    assertThatThrownBy(() -> cache.get("k", loader)).hasMessage("database down");
    assertThat(registry.find("cache.failsafe.served").counter()).isNull();
  }

  @Test
  void aReadPastTheRefreshPointReloadsInTheBackgroundWhileServingTheCurrentValue() {
    InMemoryL2Store store = new InMemoryL2Store();
    TieredCache<String, String> cache =
        builder().l2(store).valueCodec(TestCodec.STRING).refreshAhead(0.8).build();
    assertThat(cache.get("k", loader)).isEqualTo("v1");
    database.set("v2");

    advance(Duration.ofSeconds(7));
    assertThat(cache.get("k", loader)).as("before the refresh point").isEqualTo("v1");
    assertThat(loads).hasValue(1);

    advance(Duration.ofSeconds(1));
    // The read that crosses 80% still gets the current value; with a same-thread executor the reload is done after.
    assertThat(cache.get("k", loader)).isEqualTo("v1");
    assertThat(loads).hasValue(2);
    assertThat(cache.get("k", loader)).isEqualTo("v2");
    assertThat(count("cache.refreshes", "result", "success")).isEqualTo(1);

    // The refreshed value went to the L2 too, and its TTL restarted in the L1.
    TieredCache<String, String> other = builder().l2(store).valueCodec(TestCodec.STRING).build();
    assertThat(other.get("k", k -> "unexpected")).isEqualTo("v2");
    advance(Duration.ofSeconds(7));
    assertThat(cache.get("k", loader)).isEqualTo("v2");
    assertThat(loads).hasValue(2);
  }

  @Test
  void xfetchRefreshesAnEntryThatWasSlowToLoadLongBeforeItExpires() {
    // The early margin is load time x beta x -ln(U): with a 2 ms load and a huge beta it exceeds the whole TTL.
    TieredCache<String, String> cache = builder().xfetch(1e9).build();
    assertThat(cache.get("slow", k -> {
      loads.incrementAndGet();
      long until = System.nanoTime() + 2_000_000;
      while (System.nanoTime() < until) {
        Thread.onSpinWait();
      }
      return "s1";
    })).isEqualTo("s1");
    assertThat(cache.get("slow", loader)).isEqualTo("s1");
    assertThat(loads).hasValue(2);
  }

  @Test
  void refreshAndFailSafeNeedAnL1Expiry() {
    TieredCacheBuilder<String, String> noExpiry = TieredCache.<String, String>builder("no-expiry");
    assertThatThrownBy(() -> noExpiry.failSafe(Duration.ofMinutes(1)).build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("failSafe");
    assertThatThrownBy(() -> TieredCache.<String, String>builder("x").refreshAhead(0.5).build())
        .hasMessageContaining("refreshAhead");
    assertThatThrownBy(() -> TieredCache.<String, String>builder("x").xfetch(1).build())
        .hasMessageContaining("xfetch");
    assertThatThrownBy(() -> TieredCache.<String, String>builder("x").refreshAhead(1.0))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
