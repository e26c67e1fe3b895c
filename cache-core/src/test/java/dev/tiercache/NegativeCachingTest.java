package dev.tiercache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.entry;

import dev.tiercache.codec.ValueCodecs;
import dev.tiercache.testkit.InMemoryL2Store;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** A loader that finds nothing: remembered only with a negative TTL, and then for exactly that long. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class NegativeCachingTest {

  private static final String NAME = "missing";
  private static final Duration NEGATIVE_TTL = Duration.ofSeconds(5);

  /** One clock for the L1 ticker and the L2's TTLs. */
  private final AtomicLong nanos = new AtomicLong(1_000_000);
  private final InMemoryL2Store store = new InMemoryL2Store(nanos::get);
  private final List<TieredCache<String, String>> opened = new ArrayList<>();

  @AfterEach
  void tearDown() {
    opened.forEach(TieredCache::close);
  }

  private TieredCache<String, String> node(boolean withL2, boolean negative) {
    TieredCacheBuilder<String, String> builder =
        TieredCache.<String, String>builder(NAME).ticker(nanos::get).executor(Runnable::run);
    if (withL2) {
      builder.l2(store).valueCodec(ValueCodecs.string());
    }
    if (negative) {
      builder.negativeTtl(NEGATIVE_TTL);
    }
    TieredCache<String, String> cache = builder.build();
    opened.add(cache);
    return cache;
  }

  /** Counts calls, finds nothing. */
  private static final class NothingLoader implements Function<String, String> {
    final AtomicInteger calls = new AtomicInteger();

    @Override
    public String apply(String key) {
      calls.incrementAndGet();
      return null;
    }
  }

  private void advance(Duration by) {
    nanos.addAndGet(by.toNanos());
  }

  @Test
  void withoutNegativeTtlAnAbsenceIsLoadedEveryTime() {
    TieredCache<String, String> cache = node(true, false);
    NothingLoader loader = new NothingLoader();

    for (int i = 1; i <= 3; i++) {
      assertThat(cache.get("ghost", loader)).isNull();
      assertThat(loader.calls).hasValue(i);
    }
    assertThat(store.writes).hasValue(0);
    assertThat(store.holds(NAME, "ghost")).isFalse();
    assertThat(cache.estimatedL1Size()).isZero();
  }

  @Test
  void withoutNegativeTtlABulkLoaderOmissionIsLoadedEveryTime() {
    TieredCache<String, String> cache = node(true, false);
    AtomicInteger calls = new AtomicInteger();

    for (int i = 1; i <= 2; i++) {
      assertThat(cache.getAll(List.of("a", "ghost"), keys -> {
        calls.incrementAndGet();
        return Map.of("a", "A");
      })).containsExactly(entry("a", "A"));
    }
    assertThat(calls).hasValue(2);
    assertThat(store.holds(NAME, "ghost")).isFalse();
  }

  @Test
  void withNegativeTtlTheAbsenceIsCachedInL1() {
    TieredCache<String, String> cache = node(false, true);
    NothingLoader loader = new NothingLoader();

    for (int i = 0; i < 5; i++) {
      assertThat(cache.get("ghost", loader)).isNull();
    }
    assertThat(loader.calls).hasValue(1);
    assertThat(cache.getAll(List.of("ghost"), keys -> {
      throw new AssertionError("a cached absence must not be loaded again: " + keys);
    })).isEmpty();
  }

  @Test
  void theL1AbsenceExpiresAfterTheNegativeTtl() {
    TieredCache<String, String> cache = node(false, true);
    NothingLoader loader = new NothingLoader();
    cache.get("ghost", loader);

    advance(NEGATIVE_TTL.minusNanos(1));
    assertThat(cache.get("ghost", loader)).isNull();
    assertThat(loader.calls).hasValue(1);

    advance(Duration.ofNanos(2));
    assertThat(cache.get("ghost", loader)).isNull();
    assertThat(loader.calls).hasValue(2);
    // ...and it is cached again, for a fresh negative TTL.
    assertThat(cache.get("ghost", loader)).isNull();
    assertThat(loader.calls).hasValue(2);
  }

  @Test
  void anExpiredAbsenceIsNotServedByGetIfPresentOrGetAllEither() {
    TieredCache<String, String> cache = node(false, true);
    cache.get("ghost", new NothingLoader());
    advance(NEGATIVE_TTL.plusSeconds(1));

    assertThat(cache.getAll(List.of("ghost"), keys -> Map.of("ghost", "found now")))
        .containsExactly(entry("ghost", "found now"));
    assertThat(cache.getIfPresent("ghost")).isEqualTo("found now");
  }

  @Test
  void theAbsenceIsStoredInL2ForOtherNodes() {
    TieredCache<String, String> cache = node(true, true);
    NothingLoader loader = new NothingLoader();
    assertThat(cache.get("ghost", loader)).isNull();
    assertThat(store.holds(NAME, "ghost")).isTrue();

    TieredCache<String, String> other = node(true, true);
    NothingLoader otherLoader = new NothingLoader();
    assertThat(other.get("ghost", otherLoader)).isNull();
    assertThat(otherLoader.calls).hasValue(0);
    // The L2's absence filled the other node's L1.
    int reads = store.reads.get();
    assertThat(other.get("ghost", otherLoader)).isNull();
    assertThat(store.reads).hasValue(reads);
    assertThat(otherLoader.calls).hasValue(0);
  }

  @Test
  void theL2AbsenceExpiresAfterTheNegativeTtlNotTheL2Ttl() {
    TieredCache<String, String> cache = node(true, true);
    cache.get("ghost", new NothingLoader());

    advance(NEGATIVE_TTL.plusNanos(1));
    assertThat(store.holds(NAME, "ghost")).isFalse();
    TieredCache<String, String> other = node(true, true);
    NothingLoader otherLoader = new NothingLoader();
    assertThat(other.get("ghost", otherLoader)).isNull();
    assertThat(otherLoader.calls).hasValue(1);
  }

  @Test
  void getAllCachesTheAbsenceOfAKeyTheBulkLoaderOmits() {
    TieredCache<String, String> cache = node(true, true);
    List<Set<String>> asked = new ArrayList<>();
    Function<Set<String>, Map<String, String>> bulk =
        keys -> {
          asked.add(Set.copyOf(keys));
          Map<String, String> found = new HashMap<>();
          keys.forEach(k -> {
            if (!k.startsWith("ghost")) {
              found.put(k, k.toUpperCase());
            }
          });
          return found;
        };

    assertThat(cache.getAll(List.of("a", "ghost", "b"), bulk)).containsExactly(entry("a", "A"), entry("b", "B"));
    assertThat(cache.getAll(List.of("a", "ghost", "b"), bulk)).containsExactly(entry("a", "A"), entry("b", "B"));
    assertThat(asked).containsExactly(Set.of("a", "ghost", "b"));

    NothingLoader loader = new NothingLoader();
    assertThat(cache.get("ghost", loader)).isNull();
    assertThat(loader.calls).hasValue(0);
    assertThat(store.holds(NAME, "ghost")).isTrue();

    TieredCache<String, String> other = node(true, true);
    assertThat(other.get("ghost", loader)).isNull();
    assertThat(loader.calls).hasValue(0);
  }

  @Test
  void getAllCachesAnAbsenceTheBulkLoaderMapsToNull() {
    TieredCache<String, String> cache = node(false, true);
    AtomicInteger calls = new AtomicInteger();
    Function<Set<String>, Map<String, String>> bulk =
        keys -> {
          calls.incrementAndGet();
          Map<String, String> found = new HashMap<>();
          found.put("a", "A");
          found.put("ghost", null);
          return found;
        };

    assertThat(cache.getAll(List.of("a", "ghost"), bulk)).containsExactly(entry("a", "A"));
    assertThat(cache.getAll(List.of("a", "ghost"), bulk)).containsExactly(entry("a", "A"));
    assertThat(calls).hasValue(1);
  }

  @Test
  void getIfPresentReturnsNullForACachedAbsence() {
    TieredCache<String, String> cache = node(true, true);
    cache.get("ghost", new NothingLoader());

    assertThat(cache.getIfPresent("ghost")).isNull(); // from L1
    assertThat(node(true, true).getIfPresent("ghost")).isNull(); // from L2
  }

  @Test
  void putReplacesACachedAbsence() {
    TieredCache<String, String> cache = node(true, true);
    TieredCache<String, String> other = node(true, true);
    NothingLoader loader = new NothingLoader();
    cache.get("ghost", loader);

    cache.put("ghost", "found");

    assertThat(cache.get("ghost", loader)).isEqualTo("found");
    assertThat(cache.getIfPresent("ghost")).isEqualTo("found");
    assertThat(other.get("ghost", loader)).isEqualTo("found");
    assertThat(loader.calls).hasValue(1);
    // It is a value now, not an absence: it outlives the negative TTL.
    advance(NEGATIVE_TTL.plusSeconds(1));
    assertThat(cache.get("ghost", loader)).isEqualTo("found");
    assertThat(loader.calls).hasValue(1);
  }

  @Test
  void putReplacesACachedAbsenceInAnL1OnlyCache() {
    TieredCache<String, String> cache = node(false, true);
    NothingLoader loader = new NothingLoader();
    cache.get("ghost", loader);

    cache.put("ghost", "found");

    assertThat(cache.getIfPresent("ghost")).isEqualTo("found");
    assertThat(cache.getAll(List.of("ghost"), keys -> Map.of())).containsExactly(entry("ghost", "found"));
    assertThat(loader.calls).hasValue(1);
  }

  private static final String ABSENT = "<absent>";

  @Test
  void getIfPresentWithAMarkerTellsACachedAbsenceFromAMissInBothTiers() {
    TieredCache<String, String> cache = node(true, true);
    assertThat(cache.getIfPresent("ghost", ABSENT)).as("a miss").isNull();
    cache.get("ghost", new NothingLoader());

    assertThat(cache.getIfPresent("ghost", ABSENT)).as("from L1").isEqualTo(ABSENT);
    TieredCache<String, String> other = node(true, true);
    assertThat(other.getIfPresentAsync("ghost", ABSENT).join()).as("from L2").isEqualTo(ABSENT);
    assertThat(other.getIfPresent("ghost", ABSENT)).as("now from its L1").isEqualTo(ABSENT);
    cache.put("ghost", "found");
    assertThat(cache.getIfPresent("ghost", ABSENT)).isEqualTo("found");

    advance(NEGATIVE_TTL.plusNanos(1));
    assertThat(node(true, true).getIfPresent("ghost", ABSENT)).as("a value outlives the negative TTL")
        .isEqualTo("found");
  }

  @Test
  void getIfPresentAsyncNeverLoadsNorCachesAMiss() {
    TieredCache<String, String> cache = node(true, true);
    assertThat(cache.getIfPresentAsync("ghost", ABSENT).join()).isNull();
    assertThat(store.writes).hasValue(0);
    assertThat(cache.getIfPresent("ghost", ABSENT)).isNull();
  }

  @Test
  void putAbsentCachesAnAbsenceForTheNegativeTtlInBothTiersOverAValue() {
    TieredCache<String, String> cache = node(true, true);
    TieredCache<String, String> other = node(true, true);
    cache.put("k", "v");
    assertThat(other.get("k", new NothingLoader())).isEqualTo("v");

    cache.putAbsent("k", Tags.empty());

    assertThat(cache.getIfPresent("k", ABSENT)).isEqualTo(ABSENT);
    assertThat(node(true, true).getIfPresent("k", ABSENT)).as("the L2 holds the absence").isEqualTo(ABSENT);
    NothingLoader loader = new NothingLoader();
    assertThat(cache.get("k", loader)).isNull();
    assertThat(loader.calls).hasValue(0);

    advance(NEGATIVE_TTL.plusNanos(1));
    assertThat(store.holds(NAME, "k")).as("the L2 let it go after the negative TTL, not the L2 TTL").isFalse();
    assertThat(cache.getIfPresent("k", ABSENT)).isNull();
    assertThat(cache.get("k", key -> "again")).isEqualTo("again");
  }

  @Test
  void putAbsentIsRefusedWithoutANegativeTtl() {
    TieredCache<String, String> cache = node(true, false);
    assertThatThrownBy(() -> cache.putAbsent("k", Tags.empty()))
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("negativeTtl");
    assertThat(store.writes).hasValue(0);
  }

  @Test
  void anAbsenceReadFromTheL2LivesItsWholeNegativeTtlInTheReadersL1() {
    TieredCache<String, String> writer = node(true, true);
    TieredCache<String, String> reader = node(true, true);
    writer.get("ghost", new NothingLoader());

    advance(NEGATIVE_TTL.minusSeconds(1));
    assertThat(reader.getIfPresent("ghost", ABSENT)).as("read from the L2 just before it expires there")
        .isEqualTo(ABSENT);
    advance(Duration.ofSeconds(2));
    assertThat(store.holds(NAME, "ghost")).as("gone from the L2").isFalse();
    assertThat(writer.getIfPresent("ghost", ABSENT)).isNull();
    // The reader's L1 counts the negative TTL from its own read: up to twice the negative TTL after the load.
    assertThat(reader.getIfPresent("ghost", ABSENT)).isEqualTo(ABSENT);
    advance(NEGATIVE_TTL.minusSeconds(2).plusNanos(1));
    assertThat(reader.getIfPresent("ghost", ABSENT)).isNull();
  }

  @Test
  void anAbsenceCachedByAnInstanceWithANegativeTtlIsAMissOnOneWithout() {
    TieredCache<String, String> caching = node(true, true);
    TieredCache<String, String> notCaching = node(true, false);
    caching.get("ghost", new NothingLoader());
    assertThat(store.holds(NAME, "ghost")).isTrue();

    assertThat(notCaching.getIfPresent("ghost", ABSENT)).as("no absence served, so none kept in its L1").isNull();
    AtomicInteger loads = new AtomicInteger();
    assertThat(notCaching.get("ghost", key -> {
      loads.incrementAndGet();
      return "found";
    })).isEqualTo("found");
    assertThat(loads).hasValue(1);
    advance(Duration.ofDays(1));
    assertThat(notCaching.getIfPresent("ghost", ABSENT)).isEqualTo("found");
  }
}
