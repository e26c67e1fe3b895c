package dev.tiercache.redis;

import static dev.tiercache.redis.StoreKit.entry;
import static dev.tiercache.redis.StoreKit.join;
import static dev.tiercache.redis.StoreKit.uniqueName;
import static org.assertj.core.api.Assertions.assertThat;

import dev.tiercache.redis.testing.RedisExtension;
import io.lettuce.core.api.sync.RedisCommands;
import java.time.Duration;
import java.util.Collection;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The fast paths of the write and invalidation scripts ({@link LuaLib#lean}) take only the usual state and leave
 * everything else to the general script: each case here is one the fast path must hand over, and the answer must be
 * the general script's (a refusal where it refuses, a repair where it repairs).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RedisLeanScriptPathsTest {

  @RegisterExtension static final RedisExtension REDIS = RedisExtension.standalone();

  private static final Duration TTL = Duration.ofMinutes(5);
  private static final Limits FEW_TOMBSTONES = new Limits(3, 100, 8, 8);

  private static TierSession session;
  private static RedisTier tier;
  private static RedisTier few;
  private static RedisCommands<String, String> redis;

  private String cache;

  @BeforeAll
  static void connect() {
    session = new TierSession(REDIS.uri());
    tier = session.tier();
    few = session.tier(c -> RedisTier.create(c, RedisTierOptions.create(), FEW_TOMBSTONES));
    redis = session.redis;
  }

  @AfterAll
  static void disconnect() {
    session.close();
  }

  @BeforeEach
  void name() {
    cache = uniqueName("lean");
  }

  private String meta(String name) {
    return StoreKit.meta(cache, name);
  }

  private String entryKey(String key) {
    return "tiercache:{" + cache + "}:k:" + key;
  }

  private Collection<String> write(RedisTier on, String key, String text, long readVersion) {
    return join(on.putIfCurrent(cache, Map.of(key, entry(text)), TTL, readVersion));
  }

  private long read(String key) {
    return join(tier.get(cache, key)).version();
  }

  @Test
  void aWriteFloorOfAnotherTypeIsNotTakenForNoWriteFloor() {
    long before = read("k");
    redis.hset(meta("wfloor"), "f", "1");

    assertThat(write(tier, "k", "late", before)).as("read before the write floor was lost").isEmpty();
    assertThat(redis.type(meta("wfloor"))).isEqualTo("string");
    assertThat(write(tier, "k", "fresh", read("k"))).containsExactly("k");
  }

  @Test
  void anEntryWhoseHeaderClaimsANewerVersionButIsTruncatedDoesNotBlockTheWriteThatReplacesIt() {
    long readVersion = read("k");
    // A well-formed header with the largest version, a body shorter than its lengths say.
    redis.set(entryKey("k"), Scripts.FORMAT + "9000000000000000v0010000005c");

    assertThat(write(tier, "k", "fresh", readVersion)).containsExactly("k");
    assertThat(join(tier.get(cache, "k")).isHit()).isTrue();
  }

  @Test
  void anEntryRewrittenAfterTheReadRefusesTheWrite() {
    long readVersion = read("k");
    assertThat(write(tier, "k", "first", readVersion)).containsExactly("k");

    assertThat(write(tier, "k", "second", readVersion)).as("the first write came after this read").isEmpty();
  }

  @Test
  void aPrefixOrTagInvalidatedAfterTheReadRefusesTheWriteAndOneBeforeItDoesNot() {
    long beforeEpochs = read("user:1");
    join(tier.invalidatePrefix(cache, "user:"));
    long afterPrefix = read("user:1");
    join(tier.invalidateTag(cache, "t"));

    assertThat(write(tier, "user:1", "late", beforeEpochs)).as("prefix invalidated after the read").isEmpty();
    // Read before the tag's epoch, which does not cover the entry written: the general script looks it up.
    assertThat(write(tier, "user:1", "fresh", afterPrefix)).containsExactly("user:1");
    assertThat(join(tier.putIfCurrent(cache, Map.of("user:2", entry("tagged", "t")), TTL, afterPrefix)))
        .as("tag invalidated after the read")
        .isEmpty();
  }

  @Test
  void aKeyInvalidationAndAPutRepairATombstoneSetOfAnotherType() {
    long before = read("k");
    redis.set(meta("ts"), "garbage");
    join(tier.invalidateKey(cache, "k"));
    assertThat(redis.type(meta("ts"))).isEqualTo("zset");
    assertThat(write(tier, "k", "late", before)).as("read before the invalidation").isEmpty();

    long beforePut = read("p");
    redis.del(meta("ts"));
    redis.set(meta("ts"), "garbage");
    join(tier.put(cache, "p", entry("put"), TTL));
    assertThat(redis.type(meta("ts"))).isEqualTo("zset");
    assertThat(write(tier, "p", "late", beforePut)).as("read before the put").isEmpty();
    assertThat(join(tier.get(cache, "p")).isHit()).isTrue();
  }

  @Test
  void tombstonesPastTheirCapRaiseTheWriteFloorOnEitherPath() {
    long before = join(few.get(cache, "a")).version();
    for (int i = 0; i < 5; i++) {
      join(few.invalidateKey(cache, "k-" + i));
      join(few.put(cache, "p-" + i, entry("v"), TTL));
    }

    assertThat(redis.zcard(meta("ts"))).isLessThanOrEqualTo(FEW_TOMBSTONES.tombstones());
    assertThat(redis.get(meta("wfloor"))).matches("[0-9]{16}");
    assertThat(write(few, "k-0", "late", before)).as("its tombstone was dropped").isEmpty();
    assertThat(write(few, "a", "fresh", join(few.get(cache, "a")).version())).containsExactly("a");
  }

  @Test
  void aClockBehindWhatTheCallerSawTakesTheGeneralPathOnInvalidationsAndWrites() {
    join(tier.put(cache, "k", entry("v"), TTL));
    String old = redis.get(meta("clock"));
    join(tier.invalidateKey(cache, "other"));
    join(tier.put(cache, "k", entry("v2"), TTL));
    redis.set(meta("clock"), old);

    join(tier.invalidateKey(cache, "x"));
    assertThat(join(tier.get(cache, "k")).isHit()).as("written before the rollback was seen").isFalse();
    assertThat(Long.parseLong(redis.get(meta("floor")))).isGreaterThan(Long.parseLong(old));
  }
}
