package dev.tiercache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.assertj.core.api.Assertions.assertThatIllegalStateException;
import static org.assertj.core.api.Assertions.assertThatNullPointerException;

import dev.tiercache.codec.KeyCodec;
import dev.tiercache.codec.ValueCodecs;
import dev.tiercache.spi.L2Store;
import dev.tiercache.testkit.InMemoryL2Store;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Every bad input is rejected, in the caller's hands, with the right exception and a message naming the input. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class BuilderValidationTest {

  private static final Duration ZERO = Duration.ZERO;
  private static final Duration NEGATIVE = Duration.ofMillis(-1);

  private static TieredCacheBuilder<String, String> builder() {
    return TieredCache.<String, String>builder("validation");
  }

  // ---- the name ----

  @Test
  void nullNameIsRejectedNamingIt() {
    assertThatNullPointerException().isThrownBy(() -> TieredCache.builder(null)).withMessageContaining("name");
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "a b", "x:y", "a*", "tab\there", "slash/y", "ünicode"})
  void malformedNameIsRejectedNamingIt(String name) {
    assertThatIllegalArgumentException()
        .isThrownBy(() -> TieredCache.builder(name))
        .withMessageContaining("name");
  }

  @ParameterizedTest
  @ValueSource(strings = {"users", "a", "A.b_c-9"})
  void wellFormedNameIsAccepted(String name) {
    try (TieredCache<String, String> cache = TieredCache.<String, String>builder(name).build()) {
      assertThat(cache.name()).isEqualTo(name);
    }
  }

  // ---- null collaborators ----

  @Test
  void nullCollaboratorsAreRejectedNamingThem() {
    assertThatNullPointerException().isThrownBy(() -> builder().keyCodec(null)).withMessageContaining("codec");
    assertThatNullPointerException().isThrownBy(() -> builder().valueCodec(null)).withMessageContaining("codec");
    assertThatNullPointerException().isThrownBy(() -> builder().l2(null)).withMessageContaining("store");
    assertThatNullPointerException().isThrownBy(() -> builder().bus(null)).withMessageContaining("bus");
    assertThatNullPointerException()
        .isThrownBy(() -> builder().meterRegistry(null))
        .withMessageContaining("registry");
    assertThatNullPointerException().isThrownBy(() -> builder().executor(null)).withMessageContaining("executor");
    assertThatNullPointerException().isThrownBy(() -> builder().ticker(null)).withMessageContaining("ticker");
    assertThatNullPointerException().isThrownBy(() -> builder().l1(null)).withMessageContaining("settings");
    assertThatNullPointerException()
        .isThrownBy(() -> builder().invalidationStrategy(null))
        .withMessageContaining("strategy");
  }

  // ---- durations ----

  @Test
  void l2TtlMustBePositive() {
    assertThatNullPointerException().isThrownBy(() -> builder().l2Ttl(null)).withMessageContaining("l2Ttl");
    assertThatIllegalArgumentException().isThrownBy(() -> builder().l2Ttl(ZERO)).withMessageContaining("l2Ttl");
    assertThatIllegalArgumentException().isThrownBy(() -> builder().l2Ttl(NEGATIVE)).withMessageContaining("l2Ttl");
  }

  @Test
  void negativeTtlMustBePositive() {
    assertThatNullPointerException()
        .isThrownBy(() -> builder().negativeTtl(null))
        .withMessageContaining("negativeTtl");
    assertThatIllegalArgumentException()
        .isThrownBy(() -> builder().negativeTtl(ZERO))
        .withMessageContaining("negativeTtl");
    assertThatIllegalArgumentException()
        .isThrownBy(() -> builder().negativeTtl(NEGATIVE))
        .withMessageContaining("negativeTtl");
  }

  @Test
  void l2TimeoutMustBePositive() {
    assertThatNullPointerException()
        .isThrownBy(() -> builder().l2Timeout(null))
        .withMessageContaining("l2Timeout");
    assertThatIllegalArgumentException()
        .isThrownBy(() -> builder().l2Timeout(ZERO))
        .withMessageContaining("l2Timeout");
    assertThatIllegalArgumentException()
        .isThrownBy(() -> builder().l2Timeout(NEGATIVE))
        .withMessageContaining("l2Timeout");
  }

  @Test
  void expireAfterWriteMustBePositive() {
    assertThatNullPointerException()
        .isThrownBy(() -> builder().l1(l1 -> l1.expireAfterWrite(null)))
        .withMessageContaining("expireAfterWrite");
    assertThatIllegalArgumentException()
        .isThrownBy(() -> builder().l1(l1 -> l1.expireAfterWrite(ZERO)))
        .withMessageContaining("expireAfterWrite");
    assertThatIllegalArgumentException()
        .isThrownBy(() -> builder().l1(l1 -> l1.expireAfterWrite(NEGATIVE)))
        .withMessageContaining("expireAfterWrite");
  }

  @Test
  void expireAfterAccessMustBePositive() {
    assertThatNullPointerException()
        .isThrownBy(() -> builder().l1(l1 -> l1.expireAfterAccess(null)))
        .withMessageContaining("expireAfterAccess");
    assertThatIllegalArgumentException()
        .isThrownBy(() -> builder().l1(l1 -> l1.expireAfterAccess(ZERO)))
        .withMessageContaining("expireAfterAccess");
    assertThatIllegalArgumentException()
        .isThrownBy(() -> builder().l1(l1 -> l1.expireAfterAccess(NEGATIVE)))
        .withMessageContaining("expireAfterAccess");
  }

  // ---- jitter ----

  @ParameterizedTest
  @ValueSource(doubles = {-0.1, 1.0, 1.5, Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY})
  void ttlJitterOutsideZeroToOneIsRejected(double jitter) {
    assertThatIllegalArgumentException()
        .isThrownBy(() -> builder().ttlJitter(jitter))
        .withMessageContaining("ttlJitter");
  }

  @ParameterizedTest
  @ValueSource(doubles = {0.0, 0.1, 0.999})
  void ttlJitterInsideZeroToOneIsAccepted(double jitter) {
    try (TieredCache<String, String> cache =
        builder().l2(new InMemoryL2Store()).valueCodec(ValueCodecs.string()).ttlJitter(jitter).build()) {
      assertThat(cache.get("k", k -> "v")).isEqualTo("v");
    }
  }

  // ---- L1 bounds ----

  @Test
  void maximumSizeThenMaximumWeightIsRejected() {
    assertThatIllegalStateException()
        .isThrownBy(() -> builder().l1(l1 -> l1.maximumSize(10).maximumWeight(10, (k, v) -> 1)))
        .withMessageContaining("maximumSize")
        .withMessageContaining("maximumWeight");
  }

  @Test
  void maximumWeightThenMaximumSizeIsRejected() {
    assertThatIllegalStateException()
        .isThrownBy(() -> builder().l1(l1 -> l1.maximumWeight(10, (k, v) -> 1).maximumSize(10)))
        .withMessageContaining("maximumSize")
        .withMessageContaining("maximumWeight");
  }

  @Test
  void negativeBoundsAndNullWeigherAreRejected() {
    assertThatIllegalArgumentException()
        .isThrownBy(() -> builder().l1(l1 -> l1.maximumSize(-1)))
        .withMessageContaining("maximumSize");
    assertThatIllegalArgumentException()
        .isThrownBy(() -> builder().l1(l1 -> l1.maximumWeight(-1, (k, v) -> 1)))
        .withMessageContaining("maximumWeight");
    assertThatNullPointerException()
        .isThrownBy(() -> builder().l1(l1 -> l1.maximumWeight(10, null)))
        .withMessageContaining("weigher");
  }

  // ---- contradictions found at build() ----

  @Test
  void l2TtlWithoutL2FailsAtBuildNamingIt() {
    TieredCacheBuilder<String, String> builder = builder().l2Ttl(Duration.ofMinutes(1));
    assertThatIllegalStateException().isThrownBy(builder::build).withMessageContaining("l2Ttl");
  }

  @Test
  void ttlJitterWithoutL2FailsAtBuildNamingIt() {
    TieredCacheBuilder<String, String> builder = builder().ttlJitter(0.2);
    assertThatIllegalStateException().isThrownBy(builder::build).withMessageContaining("ttlJitter");
  }

  @Test
  void l2WithoutValueCodecFailsAtBuildNamingIt() {
    TieredCacheBuilder<String, String> builder = builder().l2(new InMemoryL2Store());
    assertThatIllegalStateException().isThrownBy(builder::build).withMessageContaining("valueCodec");
  }

  @Test
  void l2WithValueCodecAndL2SettingsBuilds() {
    try (TieredCache<String, String> cache =
        builder()
            .l2(new InMemoryL2Store())
            .valueCodec(ValueCodecs.string())
            .l2Ttl(Duration.ofMinutes(1))
            .ttlJitter(0.2)
            .l2Timeout(Duration.ofSeconds(1))
            .negativeTtl(Duration.ofSeconds(1))
            .build()) {
      assertThat(cache.get("k", k -> "v")).isEqualTo("v");
    }
  }

  // ---- custom strategies ----

  @Test
  void customStrategyWithATakenNameIsRejected() {
    assertThatIllegalArgumentException()
        .isThrownBy(() -> builder().invalidationStrategy(strategy("key")))
        .withMessageContaining("'key'");
    for (String builtIn : List.of("prefix", "tag", "pattern")) {
      assertThatIllegalArgumentException()
          .isThrownBy(() -> builder().invalidationStrategy(strategy(builtIn)))
          .withMessageContaining("'" + builtIn + "'");
    }
    TieredCacheBuilder<String, String> builder = builder().invalidationStrategy(strategy("by-owner"));
    assertThatIllegalArgumentException()
        .isThrownBy(() -> builder.invalidationStrategy(strategy("by-owner")))
        .withMessageContaining("'by-owner'");
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "Key", "by owner", "by_owner", "by:owner", "by.owner", "ключ"})
  void customStrategyWithAMalformedNameIsRejected(String name) {
    assertThatIllegalArgumentException()
        .isThrownBy(() -> builder().invalidationStrategy(strategy(name)))
        .withMessageContaining("strategy name");
  }

  @Test
  void customStrategyWithANullNameIsRejected() {
    assertThatNullPointerException()
        .isThrownBy(() -> builder().invalidationStrategy(strategy(null)))
        .withMessageContaining("name");
  }

  @Test
  void wellFormedCustomStrategyIsAccepted() {
    try (TieredCache<String, String> cache = builder().invalidationStrategy(strategy("by-owner-2")).build()) {
      cache.put("k", "v");
      cache.invalidate(Invalidation.of(strategy("by-owner-2"), "k"));
      assertThat(cache.getIfPresent("k")).isNull();
    }
  }

  // ---- Tags and Invalidation ----

  @Test
  void tagsRejectNullAndEmptyTags() {
    assertThatNullPointerException().isThrownBy(() -> Tags.of((String[]) null)).withMessageContaining("tags");
    assertThatNullPointerException()
        .isThrownBy(() -> Tags.of((java.util.Collection<String>) null))
        .withMessageContaining("tags");
    assertThatNullPointerException().isThrownBy(() -> Tags.of("a", null)).withMessageContaining("tag");
    assertThatNullPointerException()
        .isThrownBy(() -> Tags.of(Arrays.asList("a", null)))
        .withMessageContaining("tag");
    assertThatIllegalArgumentException().isThrownBy(() -> Tags.of("a", "")).withMessageContaining("tag");
    assertThatIllegalArgumentException().isThrownBy(() -> Tags.of(List.of(""))).withMessageContaining("tag");
  }

  @Test
  void invalidationFactoriesRejectNullWithNpeAndEmptyWithIae() {
    Map<String, Function<String, Invalidation>> factories =
        Map.of(
            "key", Invalidation::key,
            "prefix", Invalidation::prefix,
            "tag", Invalidation::tag,
            "pattern", Invalidation::pattern);
    factories.forEach(
        (name, factory) -> {
          assertThatNullPointerException().isThrownBy(() -> factory.apply(null)).withMessageContaining(name);
          assertThatIllegalArgumentException().isThrownBy(() -> factory.apply("")).withMessageContaining(name);
          assertThat(factory.apply("x").strategy().name()).isEqualTo(name);
        });
    assertThatNullPointerException()
        .isThrownBy(() -> Invalidation.of(null, "x"))
        .withMessageContaining("strategy");
  }

  // ---- TieredCache methods ----

  @Nested
  @Timeout(value = 30, unit = TimeUnit.SECONDS)
  class CacheMethods {

    private final InMemoryL2Store store = new InMemoryL2Store();
    private final TieredCache<String, String> cache =
        TieredCache.<String, String>builder("methods")
            .l2(store)
            .valueCodec(ValueCodecs.string())
            .executor(Runnable::run)
            .build();

    @AfterEach
    void close() {
      cache.close();
    }

    @Test
    void nullKeyIsRejectedNamingIt() {
      expectNpe("key", () -> cache.get(null, k -> "v"));
      expectNpe("key", () -> cache.get(null, Tags.empty(), k -> "v"));
      expectNpe("key", () -> cache.getAsync(null, Tags.empty(), k -> "v"));
      expectNpe("key", () -> cache.getIfPresent(null));
      expectNpe("key", () -> cache.put(null, "v"));
      expectNpe("key", () -> cache.put(null, "v", Tags.empty()));
      expectNpe("key", () -> cache.putAsync(null, "v", Tags.empty()));
      expectNpe("key", () -> cache.invalidateKey(null));
      expectNpe("key", () -> cache.getAll(Arrays.asList("a", null), keys -> Map.of()));
    }

    @Test
    void nullLoaderIsRejectedNamingIt() {
      expectNpe("loader", () -> cache.get("k", null));
      expectNpe("loader", () -> cache.get("k", Tags.empty(), null));
      expectNpe("loader", () -> cache.getAsync("k", Tags.empty(), null));
      expectNpe("bulkLoader", () -> cache.getAll(List.of("k"), null));
      expectNpe("bulkLoader", () -> cache.getAllAsync(List.of("k"), null));
      expectNpe("keys", () -> cache.getAll(null, keys -> Map.of()));
      expectNpe("keys", () -> cache.getAllAsync(null, keys -> Map.of()));
    }

    @Test
    void nullLoaderIsRejectedEvenOnAnL1Hit() {
      cache.put("k", "v");
      expectNpe("loader", () -> cache.get("k", null));
      expectNpe("loader", () -> cache.getAsync("k", Tags.empty(), null));
    }

    @Test
    void nullTagsAreRejectedNamingThem() {
      expectNpe("tags", () -> cache.get("k", null, k -> "v"));
      expectNpe("tags", () -> cache.getAsync("k", null, k -> "v"));
      expectNpe("tags", () -> cache.put("k", "v", null));
      expectNpe("tags", () -> cache.putAsync("k", "v", null));
    }

    @Test
    void nullValueIsRejectedNamingItAndNothingIsStored() {
      expectNpe("value", () -> cache.put("k", null));
      expectNpe("value", () -> cache.put("k", null, Tags.empty()));
      expectNpe("value", () -> cache.putAsync("k", null, Tags.empty()));
      assertThat(store.writes).hasValue(0);
      assertThat(cache.getIfPresent("k")).isNull();
    }

    @Test
    void nullInvalidationIsRejectedNamingIt() {
      expectNpe("invalidation", () -> cache.invalidate(null));
      expectNpe("invalidation", () -> cache.invalidateAsync(null));
    }

    private void expectNpe(String named, Runnable call) {
      assertThatNullPointerException().isThrownBy(call::run).withMessageContaining(named);
    }
  }

  @Test
  void keyCodecReturningNullIsRejected() {
    KeyCodec<String> broken = key -> key.equals("bad") ? null : key;
    try (TieredCache<String, String> cache =
        TieredCache.<String, String>builder("broken-codec").keyCodec(broken).build()) {
      assertThat(cache.get("good", k -> "v")).isEqualTo("v");
      List<Consumer<String>> calls =
          List.of(
              k -> cache.get(k, x -> "v"),
              k -> cache.getIfPresent(k),
              k -> cache.put(k, "v"),
              k -> cache.invalidateKey(k),
              k -> cache.getAll(List.of(k), keys -> Map.of()));
      for (Consumer<String> call : calls) {
        assertThatNullPointerException().isThrownBy(() -> call.accept("bad")).withMessageContaining("keyCodec");
      }
      assertThat(cache.estimatedL1Size()).isEqualTo(1);
    }
  }

  private static InvalidationStrategy strategy(String name) {
    return new InvalidationStrategy() {
      @Override
      public String name() {
        return name;
      }

      @Override
      public EntryMatcher matcher(String argument) {
        if (argument == null || argument.isEmpty()) {
          throw new IllegalArgumentException("argument");
        }
        return (key, tags) -> key.equals(argument);
      }

      @Override
      public CompletableFuture<Void> applyTo(L2Store store, String cache, String argument) {
        return store.invalidateKey(cache, argument);
      }
    };
  }
}
