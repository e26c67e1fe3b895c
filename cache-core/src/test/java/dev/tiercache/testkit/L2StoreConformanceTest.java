package dev.tiercache.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.tiercache.Tags;
import dev.tiercache.spi.L2Entry;
import dev.tiercache.spi.L2Read;
import dev.tiercache.spi.L2Store;
import dev.tiercache.spi.L2Write;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The contract of {@link L2Store}, as a test kit that every implementation extends: the in-memory reference here,
 * the Redis store (standalone and Cluster) in cache-redis.
 *
 * <p>The kit uses only the SPI. It runs in real time (TTLs are short and expiry is awaited with Awaitility), gives
 * every test its own cache name (see {@link #cacheName(String)}) so that tests sharing one server do not interfere,
 * and assumes nothing about version values beyond their contract: a version is only ever handed back to
 * {@link L2Store#putIfCurrent}.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
public abstract class L2StoreConformanceTest {

  /** Long enough that nothing expires during a test. */
  protected static final Duration LONG_TTL = Duration.ofMinutes(5);

  /** Short enough to be awaited. */
  protected static final Duration SHORT_TTL = Duration.ofMillis(300);

  /** How long one store call may take before the kit gives up on it. */
  protected static final Duration CALL_TIMEOUT = Duration.ofSeconds(10);

  private static final String CODEC = "conformance-codec";

  /** The cache name of the running test. */
  protected String cache;

  /**
   * Returns the store under test. May return the same instance for every test: each test uses its own cache names.
   *
   * @return the store
   */
  protected abstract L2Store store();

  /**
   * Returns a cache name for a test, unique across tests and runs, so that tests sharing one server do not see each
   * other's keys. Only letters, digits, {@code . _ -}. The kit derives further names from it by appending
   * {@code "-b"}.
   *
   * @param testName the test method's name
   * @return the cache name
   */
  protected String cacheName(String testName) {
    return "conformance." + testName + "." + Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 1);
  }

  @BeforeEach
  void nameTheCache(TestInfo info) {
    cache = cacheName(info.getTestMethod().map(m -> m.getName()).orElse("test"));
  }

  // ---- reads and writes ----

  @Test
  void aKeyNeverWrittenIsAMiss() {
    L2Read read = get(cache, "never-written");

    assertThat(read).isNotNull();
    assertThat(read.isHit()).isFalse();
    assertThat(read.entry()).isNull();
  }

  @Test
  void putThenGetRoundTripsBytesCodecIdAndTags() {
    // Bytes that are not UTF-8 and hold zeros: the store must keep bytes, not text.
    byte[] bytes = {0, 1, (byte) 0xFF, (byte) 0xC3, 0x28, 0, 127, (byte) 0x80};
    L2Entry written = new L2Entry("codec-a", bytes.clone(), Tags.of("tenant:7", "table:users"));

    join(store().put(cache, "k", written, LONG_TTL));
    L2Read read = get(cache, "k");

    assertThat(read.isHit()).isTrue();
    assertThat(read.entry().codecId()).isEqualTo("codec-a");
    assertThat(read.entry().value()).containsExactly(bytes);
    assertThat(read.entry().tags().asSet()).containsExactlyInAnyOrder("tenant:7", "table:users");
    assertThat(read.entry().isAbsent()).isFalse();
  }

  @Test
  void anEmptyValueIsAValueNotAnAbsence() {
    join(store().put(cache, "empty", new L2Entry(CODEC, new byte[0], Tags.empty()), LONG_TTL));

    L2Read read = get(cache, "empty");

    assertThat(read.isHit()).isTrue();
    assertThat(read.entry().isAbsent()).isFalse();
    assertThat(read.entry().value()).isEmpty();
    assertThat(read.entry().tags().isEmpty()).isTrue();
  }

  @Test
  void untaggedEntryRoundTripsWithNoTags() {
    join(store().put(cache, "k", entry("v"), LONG_TTL));

    L2Read read = get(cache, "k");

    assertThat(read.isHit()).isTrue();
    assertThat(text(read)).isEqualTo("v");
    assertThat(read.entry().tags().isEmpty()).isTrue();
  }

  @Test
  void anAbsentEntryRoundTrips() {
    join(store().put(cache, "gone", new L2Entry("codec-b", null, Tags.of("t1")), LONG_TTL));
    L2Read read = get(cache, "gone");

    assertThat(read.isHit()).isTrue();
    assertThat(read.entry().isAbsent()).isTrue();
    assertThat(read.entry().value()).isNull();
    assertThat(read.entry().codecId()).isEqualTo("codec-b");
    assertThat(read.entry().tags().asSet()).containsExactly("t1");
  }

  @Test
  void anAbsentEntryRoundTripsThroughAConditionalWrite() {
    L2Read miss = get(cache, "gone");
    Collection<String> written =
        join(store().putIfCurrent(cache, Map.of("gone", new L2Entry(CODEC, null, Tags.empty())), LONG_TTL,
            miss.version()));

    assertThat(written).containsExactly("gone");
    L2Read read = get(cache, "gone");
    assertThat(read.isHit()).isTrue();
    assertThat(read.entry().isAbsent()).isTrue();
  }

  @Test
  void getAllAnswersEveryKeyWithHitsAndMissesInOneCall() {
    join(store().put(cache, "a", entry("A", "t"), LONG_TTL));
    join(store().put(cache, "c", entry("C"), LONG_TTL));
    join(store().put(cache, "e", new L2Entry(CODEC, null, Tags.empty()), LONG_TTL));

    Map<String, L2Read> reads = join(store().getAll(cache, List.of("a", "b", "c", "d", "e")));

    assertThat(reads).containsOnlyKeys("a", "b", "c", "d", "e");
    assertThat(text(reads.get("a"))).isEqualTo("A");
    assertThat(reads.get("a").entry().tags().asSet()).containsExactly("t");
    assertThat(reads.get("b").isHit()).isFalse();
    assertThat(text(reads.get("c"))).isEqualTo("C");
    assertThat(reads.get("d").isHit()).isFalse();
    assertThat(reads.get("e").isHit()).isTrue();
    assertThat(reads.get("e").entry().isAbsent()).isTrue();
  }

  @Test
  void getAllOfOnlyMissesAnswersEveryKey() {
    Map<String, L2Read> reads = join(store().getAll(cache, List.of("x", "y")));

    assertThat(reads).containsOnlyKeys("x", "y");
    assertThat(reads.values()).noneMatch(L2Read::isHit);
  }

  @Test
  void anUnconditionalPutReplacesTheValueAndItsTags() {
    join(store().put(cache, "k", entry("old", "t-old"), LONG_TTL));
    join(store().put(cache, "k", entry("new", "t-new"), LONG_TTL));

    L2Read read = get(cache, "k");
    assertThat(text(read)).isEqualTo("new");
    assertThat(read.entry().tags().asSet()).containsExactly("t-new");

    // The replaced entry's tag no longer covers the key.
    join(store().invalidateTag(cache, "t-old"));
    assertThat(text(get(cache, "k"))).isEqualTo("new");
  }

  // ---- conditional writes ----

  @Test
  void putIfCurrentIsAcceptedWithTheVersionOfAPrecedingMiss() {
    L2Read read = get(cache, "k");

    Collection<String> written =
        join(store().putIfCurrent(cache, Map.of("k", entry("v", "t")), LONG_TTL, read.version()));

    assertThat(written).containsExactly("k");
    assertThat(text(get(cache, "k"))).isEqualTo("v");
    assertThat(get(cache, "k").entry().tags().asSet()).containsExactly("t");
  }

  @Test
  void putIfCurrentIsAcceptedWithTheVersionOfAPrecedingHit() {
    join(store().put(cache, "k", entry("old"), LONG_TTL));
    L2Read read = get(cache, "k");

    Collection<String> written = join(store().putIfCurrent(cache, Map.of("k", entry("new")), LONG_TTL, read.version()));

    assertThat(written).containsExactly("k");
    assertThat(text(get(cache, "k"))).isEqualTo("new");
  }

  @Test
  void putIfCurrentWritesEveryKeyOfAGetAllWhenNothingChanged() {
    join(store().put(cache, "b", entry("B0"), LONG_TTL));
    Map<String, L2Read> reads = join(store().getAll(cache, List.of("a", "b", "c")));
    Map<String, L2Entry> entries = new LinkedHashMap<>();
    entries.put("a", entry("A"));
    entries.put("c", entry("C", "t"));

    Collection<String> written = join(store().putIfCurrent(cache, writes(entries, reads), LONG_TTL));

    assertThat(written).containsExactlyInAnyOrder("a", "c");
    assertThat(text(get(cache, "a"))).isEqualTo("A");
    assertThat(text(get(cache, "b"))).isEqualTo("B0");
    assertThat(text(get(cache, "c"))).isEqualTo("C");
  }

  /** Something that happens to the key {@code "user:1"} (tags {@code t1, t2}) between a read and a late write. */
  protected enum Interference {
    INVALIDATE_KEY {
      @Override
      CompletableFuture<Void> apply(L2Store store, String cache) {
        return store.invalidateKey(cache, KEY);
      }
    },
    UNCONDITIONAL_PUT {
      @Override
      CompletableFuture<Void> apply(L2Store store, String cache) {
        return store.put(cache, KEY, entry("from-put", "t1", "t2"), LONG_TTL);
      }
    },
    /** Another load's write-back, after a read of its own: what a cross-instance putIfAbsent relies on. */
    CONDITIONAL_WRITE_OF_ANOTHER_LOAD {
      @Override
      CompletableFuture<Void> apply(L2Store store, String cache) {
        return store.get(cache, KEY)
            .thenCompose(read -> store.putIfCurrent(cache, Map.of(KEY, entry("from-load", "t1", "t2")), LONG_TTL,
                read.version()))
            .thenApply(written -> {
              assertThat(written).as("the other load's own write").containsExactly(KEY);
              return null;
            });
      }
    },
    INVALIDATE_TAG_OF_THE_ENTRY {
      @Override
      CompletableFuture<Void> apply(L2Store store, String cache) {
        return store.invalidateTag(cache, "t2");
      }
    },
    INVALIDATE_PREFIX_COVERING_THE_KEY {
      @Override
      CompletableFuture<Void> apply(L2Store store, String cache) {
        return store.invalidatePrefix(cache, "user:");
      }
    },
    INVALIDATE_PATTERN_COVERING_THE_KEY {
      @Override
      CompletableFuture<Void> apply(L2Store store, String cache) {
        return store.invalidatePattern(cache, "us?r:[0-9]*");
      }
    };

    static final String KEY = "user:1";

    abstract CompletableFuture<Void> apply(L2Store store, String cache);

    /** What the key holds after the interference, and must still hold after a refused write. */
    String expectedAfter() {
      return this == UNCONDITIONAL_PUT ? "from-put" : this == CONDITIONAL_WRITE_OF_ANOTHER_LOAD ? "from-load" : null;
    }
  }

  @ParameterizedTest
  @EnumSource(Interference.class)
  void putIfCurrentAfterAMissIsRefusedWhenTheKeyChangedSinceTheRead(Interference interference) {
    String key = Interference.KEY;
    L2Read read = get(cache, key);
    assertThat(read.isHit()).isFalse();

    // The key does not exist: the change must advance its version all the same (a Redis restart empties the L2,
    // and a load that began before the change must still not write back).
    join(interference.apply(store(), cache));
    Collection<String> written =
        join(store().putIfCurrent(cache, Map.of(key, entry("late", "t1", "t2")), LONG_TTL, read.version()));

    assertThat(written).doesNotContain(key);
    assertThat(textOrNull(get(cache, key))).isEqualTo(interference.expectedAfter());
  }

  @ParameterizedTest
  @EnumSource(Interference.class)
  void putIfCurrentAfterAHitIsRefusedWhenTheKeyChangedSinceTheRead(Interference interference) {
    String key = Interference.KEY;
    join(store().put(cache, key, entry("old", "t1", "t2"), LONG_TTL));
    L2Read read = get(cache, key);
    assertThat(text(read)).isEqualTo("old");

    join(interference.apply(store(), cache));
    Collection<String> written =
        join(store().putIfCurrent(cache, Map.of(key, entry("late", "t1", "t2")), LONG_TTL, read.version()));

    assertThat(written).doesNotContain(key);
    assertThat(textOrNull(get(cache, key))).isEqualTo(interference.expectedAfter());
  }

  @ParameterizedTest
  @EnumSource(Interference.class)
  void putIfCurrentIsAcceptedAgainWithTheVersionOfAFreshRead(Interference interference) {
    String key = Interference.KEY;
    join(store().put(cache, key, entry("old", "t1", "t2"), LONG_TTL));
    L2Read stale = get(cache, key);
    join(interference.apply(store(), cache));
    assertThat(join(store().putIfCurrent(cache, Map.of(key, entry("late", "t1", "t2")), LONG_TTL, stale.version())))
        .doesNotContain(key);

    L2Read fresh = get(cache, key);
    Collection<String> written =
        join(store().putIfCurrent(cache, Map.of(key, entry("fresh", "t1", "t2")), LONG_TTL, fresh.version()));

    assertThat(written).containsExactly(key);
    L2Read read = get(cache, key);
    assertThat(text(read)).isEqualTo("fresh");
    assertThat(read.entry().tags().asSet()).containsExactlyInAnyOrder("t1", "t2");
  }

  @ParameterizedTest
  @EnumSource(Interference.class)
  void anUnconditionalPutAfterAnInvalidationIsServed(Interference interference) {
    String key = Interference.KEY;
    join(store().put(cache, key, entry("old", "t1", "t2"), LONG_TTL));
    join(interference.apply(store(), cache));

    // Logical invalidation (epochs, timestamps) must not hide an entry written after it, even within one clock tick.
    join(store().put(cache, key, entry("after", "t1", "t2"), LONG_TTL));

    assertThat(text(get(cache, key))).isEqualTo("after");
    assertThat(text(join(store().getAll(cache, List.of(key))).get(key))).isEqualTo("after");
  }

  @Test
  void putIfCurrentRefusesOnlyTheKeysThatChanged() {
    Map<String, L2Read> reads = join(store().getAll(cache, List.of("a", "b", "c", "d")));

    join(store().invalidateKey(cache, "b"));
    join(store().invalidateTag(cache, "tag-of-c"));
    join(store().put(cache, "other", entry("x"), LONG_TTL));
    join(store().invalidateTag(cache, "unrelated-tag"));
    join(store().invalidateKey(cache, "unrelated-key"));

    Map<String, L2Entry> late = new LinkedHashMap<>();
    late.put("a", entry("A", "tag-of-a"));
    late.put("b", entry("B"));
    late.put("c", entry("C", "tag-of-c"));
    late.put("d", entry("D"));
    Collection<String> written = join(store().putIfCurrent(cache, writes(late, reads), LONG_TTL));

    assertThat(written).containsExactlyInAnyOrder("a", "d");
    assertThat(text(get(cache, "a"))).isEqualTo("A");
    assertThat(get(cache, "b").isHit()).isFalse();
    assertThat(get(cache, "c").isHit()).isFalse();
    assertThat(text(get(cache, "d"))).isEqualTo("D");
  }

  // ---- invalidation ----

  @Test
  void invalidateKeyRemovesThatKeyOnly() {
    join(store().put(cache, "k1", entry("1"), LONG_TTL));
    join(store().put(cache, "k10", entry("10"), LONG_TTL));
    join(store().put(cache, "k", entry("0"), LONG_TTL));

    join(store().invalidateKey(cache, "k1"));

    assertThat(get(cache, "k1").isHit()).isFalse();
    assertThat(text(get(cache, "k10"))).isEqualTo("10");
    assertThat(text(get(cache, "k"))).isEqualTo("0");
  }

  @Test
  void tagInvalidationMakesTaggedEntriesMissAndLeavesOthersAlone() {
    join(store().put(cache, "a", entry("A", "x"), LONG_TTL));
    join(store().put(cache, "b", entry("B", "y", "x"), LONG_TTL));
    join(store().put(cache, "c", entry("C"), LONG_TTL));
    join(store().put(cache, "d", entry("D", "y"), LONG_TTL));
    join(store().put(cache, "e", entry("E", "xx", "X"), LONG_TTL));
    L2Read beforeF = get(cache, "f");
    join(store().putIfCurrent(cache, Map.of("f", entry("F", "x")), LONG_TTL, beforeF.version()));
    assertThat(text(get(cache, "f"))).isEqualTo("F");

    join(store().invalidateTag(cache, "x"));

    assertThat(get(cache, "a").isHit()).isFalse();
    assertThat(get(cache, "b").isHit()).isFalse();
    assertThat(get(cache, "f").isHit()).isFalse();
    assertThat(text(get(cache, "c"))).isEqualTo("C");
    assertThat(text(get(cache, "d"))).isEqualTo("D");
    assertThat(text(get(cache, "e"))).isEqualTo("E");
    Map<String, L2Read> reads = join(store().getAll(cache, List.of("a", "b", "c", "d", "e", "f")));
    assertThat(reads.get("a").isHit()).isFalse();
    assertThat(reads.get("b").isHit()).isFalse();
    assertThat(reads.get("f").isHit()).isFalse();
    assertThat(text(reads.get("c"))).isEqualTo("C");
    assertThat(text(reads.get("d"))).isEqualTo("D");
    assertThat(text(reads.get("e"))).isEqualTo("E");
  }

  @Test
  void anEntryTaggedAfterATagInvalidationIsServed() {
    join(store().put(cache, "a", entry("A0", "x"), LONG_TTL));
    join(store().invalidateTag(cache, "x"));

    L2Read read = get(cache, "a");
    assertThat(read.isHit()).isFalse();
    Collection<String> written =
        join(store().putIfCurrent(cache, Map.of("a", entry("A1", "x")), LONG_TTL, read.version()));

    assertThat(written).containsExactly("a");
    assertThat(text(get(cache, "a"))).isEqualTo("A1");
  }

  @Test
  void prefixIsLiteral() {
    for (String key : List.of("a*b", "a*", "ab", "a", "b*a", "a\\*b")) {
      join(store().put(cache, key, entry(key), LONG_TTL));
    }

    join(store().invalidatePrefix(cache, "a*"));

    assertThat(get(cache, "a*b").isHit()).isFalse();
    assertThat(get(cache, "a*").isHit()).isFalse();
    assertThat(text(get(cache, "ab"))).isEqualTo("ab");
    assertThat(text(get(cache, "a"))).isEqualTo("a");
    assertThat(text(get(cache, "b*a"))).isEqualTo("b*a");
    assertThat(text(get(cache, "a\\*b"))).isEqualTo("a\\*b");
  }

  @Test
  void prefixWithEveryGlobMetacharacterIsLiteral() {
    // prefix -> {covered key, key a glob reading of the prefix would also cover}
    Map<String, List<String>> cases = new LinkedHashMap<>();
    cases.put("q?", List.of("q?1", "qa1"));
    cases.put("[x]", List.of("[x]1", "x1"));
    cases.put("[^y]", List.of("[^y]1", "z1"));
    cases.put("r]", List.of("r]1", "r1"));
    cases.put("s\\", List.of("s\\t", "st"));
    cases.put("u\\*", List.of("u\\*v", "u*v"));
    for (List<String> keys : cases.values()) {
      for (String key : keys) {
        join(store().put(cache, key, entry(key), LONG_TTL));
      }
    }

    cases.forEach(
        (prefix, keys) -> {
          join(store().invalidatePrefix(cache, prefix));

          assertThat(get(cache, keys.get(0)).isHit()).as("'%s' after prefix '%s'", keys.get(0), prefix).isFalse();
          assertThat(textOrNull(get(cache, keys.get(1))))
              .as("'%s' after prefix '%s'", keys.get(1), prefix)
              .isEqualTo(keys.get(1));
        });
  }

  @Test
  void prefixCoversExactlyTheKeysStartingWithIt() {
    for (String key : List.of("user:4", "user:42", "user:4:profile", "user:5", "user:", "order:4", "xuser:4")) {
      join(store().put(cache, key, entry(key), LONG_TTL));
    }

    join(store().invalidatePrefix(cache, "user:4"));

    assertThat(get(cache, "user:4").isHit()).isFalse();
    assertThat(get(cache, "user:42").isHit()).isFalse();
    assertThat(get(cache, "user:4:profile").isHit()).isFalse();
    for (String kept : List.of("user:5", "user:", "order:4", "xuser:4")) {
      assertThat(textOrNull(get(cache, kept))).as(kept).isEqualTo(kept);
    }
  }

  @Test
  void patternCoversMatchingKeysOnly() {
    for (String key :
        List.of("user:1:profile", "user:22:profile", "user::profile", "user:1:settings", "account:1:profile",
            "user:1:profile:old", "user:profile")) {
      join(store().put(cache, key, entry(key), LONG_TTL));
    }

    join(store().invalidatePattern(cache, "user:*:profile"));

    assertThat(get(cache, "user:1:profile").isHit()).isFalse();
    assertThat(get(cache, "user:22:profile").isHit()).isFalse();
    assertThat(get(cache, "user::profile").isHit()).isFalse();
    for (String kept : List.of("user:1:settings", "account:1:profile", "user:1:profile:old", "user:profile")) {
      assertThat(textOrNull(get(cache, kept))).as(kept).isEqualTo(kept);
    }
  }

  @Test
  void patternSupportsQuestionMarkClassesAndEscapes() {
    for (String key : List.of("k1", "k2", "k3", "kx", "k12", "k*", "k?")) {
      join(store().put(cache, key, entry(key), LONG_TTL));
    }

    join(store().invalidatePattern(cache, "k[12]"));
    assertThat(get(cache, "k1").isHit()).isFalse();
    assertThat(get(cache, "k2").isHit()).isFalse();
    assertThat(text(get(cache, "k3"))).isEqualTo("k3");
    assertThat(text(get(cache, "k12"))).isEqualTo("k12");

    join(store().invalidatePattern(cache, "k\\*"));
    assertThat(get(cache, "k*").isHit()).isFalse();
    assertThat(text(get(cache, "k?"))).isEqualTo("k?");
    assertThat(text(get(cache, "kx"))).isEqualTo("kx");

    join(store().invalidatePattern(cache, "k?"));
    assertThat(get(cache, "k3").isHit()).isFalse();
    assertThat(get(cache, "kx").isHit()).isFalse();
    assertThat(get(cache, "k?").isHit()).isFalse();
    assertThat(text(get(cache, "k12"))).isEqualTo("k12");
  }

  @Test
  void keysWithGlobMetacharactersAreInvalidatedExactlyByInvalidateKey() {
    List<String> keys =
        List.of("k*", "k?", "k[ab]", "k]", "k[", "k\\", "k\\*", "*", "?", "[a-z]", "ka", "kb", "k", "kab", "k\\x",
            "k[ab]c", "a");
    for (String key : keys) {
      join(store().put(cache, key, entry(key), LONG_TTL));
    }

    List<String> gone = new ArrayList<>();
    for (String target : List.of("k*", "k?", "k[ab]", "k]", "k[", "k\\", "k\\*", "*", "?", "[a-z]")) {
      join(store().invalidateKey(cache, target));
      gone.add(target);

      for (String key : keys) {
        L2Read read = get(cache, key);
        if (gone.contains(key)) {
          assertThat(read.isHit()).as("'%s' after invalidating '%s'", key, target).isFalse();
        } else {
          assertThat(textOrNull(read)).as("'%s' after invalidating '%s'", key, target).isEqualTo(key);
        }
      }
    }
  }

  @Test
  void invalidationsThatFindNothingCompleteNormally() {
    join(store().invalidateKey(cache, "does-not-exist"));
    join(store().invalidateKey(cache, "does-not-exist"));
    join(store().invalidatePrefix(cache, "nothing-starts-with-this:"));
    join(store().invalidateTag(cache, "tag-that-no-entry-has"));
    join(store().invalidatePattern(cache, "no-*-match"));

    assertThat(get(cache, "does-not-exist").isHit()).isFalse();
  }

  // ---- isolation and expiry ----

  @Test
  void twoCacheNamesAreIsolated() {
    String other = cache + "-b"; // a name that extends this one, to catch namespaces that are not delimited
    join(store().put(cache, "k", entry("mine", "t"), LONG_TTL));
    assertThat(get(other, "k").isHit()).isFalse();
    join(store().put(other, "k", entry("theirs", "t"), LONG_TTL));
    join(store().put(other, "k2", entry("theirs2"), LONG_TTL));
    join(store().put(other, "-b", entry("dash"), LONG_TTL));

    assertThat(text(get(cache, "k"))).isEqualTo("mine");
    assertThat(text(get(other, "k"))).isEqualTo("theirs");
    assertThat(join(store().getAll(cache, List.of("k2"))).get("k2").isHit()).isFalse();

    join(store().invalidateTag(cache, "t"));
    join(store().invalidatePrefix(cache, "k"));
    join(store().invalidatePattern(cache, "*"));
    join(store().invalidateKey(cache, "k"));

    assertThat(get(cache, "k").isHit()).isFalse();
    assertThat(text(get(other, "k"))).isEqualTo("theirs");
    assertThat(text(get(other, "k2"))).isEqualTo("theirs2");
    assertThat(text(get(other, "-b"))).isEqualTo("dash");

    // Versions are per cache as far as refusals go: the invalidations above do not refuse the other cache's writes.
    L2Read read = get(other, "fresh");
    join(store().invalidateKey(cache, "fresh"));
    join(store().invalidatePattern(cache, "*"));
    assertThat(join(store().putIfCurrent(other, Map.of("fresh", entry("F")), LONG_TTL, read.version())))
        .containsExactly("fresh");
  }

  @Test
  void entriesExpireAfterTheirTtl() {
    join(store().put(cache, "short", entry("s"), SHORT_TTL));
    L2Read miss = get(cache, "short-conditional");
    join(store().putIfCurrent(cache, Map.of("short-conditional", entry("sc")), SHORT_TTL, miss.version()));
    join(store().put(cache, "long", entry("l"), LONG_TTL));
    assertThat(text(get(cache, "short"))).isEqualTo("s");

    await()
        .atMost(Duration.ofSeconds(5))
        .pollInterval(Duration.ofMillis(25))
        .untilAsserted(
            () -> {
              assertThat(get(cache, "short").isHit()).isFalse();
              assertThat(get(cache, "short-conditional").isHit()).isFalse();
            });
    assertThat(text(get(cache, "long"))).isEqualTo("l");
  }

  // ---- helpers ----

  /** An entry whose value is {@code text} as UTF-8, under the kit's codec id. */
  protected static L2Entry entry(String text, String... tags) {
    return new L2Entry(CODEC, text.getBytes(StandardCharsets.UTF_8), Tags.of(tags));
  }

  protected L2Read get(String cacheName, String key) {
    return join(store().get(cacheName, key));
  }

  /** The text of a hit; fails on a miss or an absence. */
  protected static String text(L2Read read) {
    assertThat(read).isNotNull();
    assertThat(read.isHit()).as("expected a hit").isTrue();
    assertThat(read.entry().isAbsent()).as("expected a value, not an absence").isFalse();
    return new String(read.entry().value(), StandardCharsets.UTF_8);
  }

  /** The text of a hit, or null on a miss. */
  protected static String textOrNull(L2Read read) {
    return read.isHit() ? text(read) : null;
  }

  protected static <T> T join(CompletableFuture<T> future) {
    try {
      return future.get(CALL_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (Exception e) {
      throw new AssertionError("store call failed: " + e, e);
    }
  }

  // ---- load leases ----

  @Test
  void aLoadLeaseIsExclusiveUntilItsOwnerReleasesIt() {
    assertThat(join(store().tryLease(cache, "k", "node-a", LONG_TTL))).isTrue();
    assertThat(join(store().tryLease(cache, "k", "node-b", LONG_TTL))).isFalse();
    assertThat(join(store().tryLease(cache, "other", "node-b", LONG_TTL))).isTrue();
    join(store().releaseLease(cache, "k", "node-b"));
    assertThat(join(store().tryLease(cache, "k", "node-b", LONG_TTL))).as("only the owner releases").isFalse();
    join(store().releaseLease(cache, "k", "node-a"));
    assertThat(join(store().tryLease(cache, "k", "node-b", LONG_TTL))).isTrue();
  }

  @Test
  void aLoadLeaseThatIsNeverReleasedExpires() {
    assertThat(join(store().tryLease(cache, "k", "node-a", SHORT_TTL))).isTrue();
    await()
        .atMost(Duration.ofSeconds(5))
        .until(() -> join(store().tryLease(cache, "k", "node-b", LONG_TTL)));
  }

  /**
   * Pairs each entry with the version of its own key's read: a store may keep one clock per part of its key space,
   * so versions of different keys are not comparable.
   */
  private static Map<String, L2Write> writes(Map<String, L2Entry> entries, Map<String, L2Read> reads) {
    Map<String, L2Write> writes = new LinkedHashMap<>();
    entries.forEach((key, entry) -> writes.put(key, new L2Write(entry, reads.get(key).version())));
    return writes;
  }
}
