package dev.tiercache.redis;

import static dev.tiercache.redis.StoreKit.debug;
import static dev.tiercache.redis.StoreKit.entry;
import static dev.tiercache.redis.StoreKit.join;
import static dev.tiercache.redis.StoreKit.uniqueName;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.tiercache.redis.testing.RedisExtension;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.sync.RedisCommands;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Issue 9 #5 and #20, issue 10 #13: invalidation state is bounded, a read costs the same whatever the history, and
 * a pattern invalidation returns at once and sweeps in the background, one scan at a time. This class has a server
 * of its own, so that its command statistics count only what it does.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class RedisBoundedStateTest {

  @RegisterExtension static final RedisExtension REDIS = RedisExtension.standalone();

  private static final Duration TTL = Duration.ofMinutes(5);
  private static final Limits SMALL = new Limits(100, 100, 8, 8);

  private static RedisClient client;
  private static RedisTier tier;
  private static RedisTier small;
  private static TierSession session;
  private static RedisCommands<String, String> redis;

  private String cache;

  @BeforeAll
  static void connect() {
    session = new TierSession(REDIS.uri());
    client = session.client;
    tier = session.tier();
    small = session.tier(
        c -> RedisTier.create(c, RedisTierOptions.builder().tombstoneTtl(Duration.ofMillis(200)).build(), SMALL));
    redis = session.redis;
  }

  @AfterAll
  static void disconnect() {
    session.close();
  }

  @BeforeEach
  void name() {
    cache = uniqueName("bounded");
  }

  private String meta(String name) {
    return StoreKit.meta(cache, name);
  }

  /** How often Redis ran a command since the last reset, scripts' inner calls included. */
  private static long calls(String command) {
    String stats = redis.info("commandstats");
    for (String line : stats.split("\r?\n")) {
      if (line.startsWith("cmdstat_" + command + ":")) {
        String calls = line.substring(line.indexOf("calls=") + 6);
        return Long.parseLong(calls.substring(0, calls.indexOf(',')));
      }
    }
    return 0;
  }

  @Test
  void aReadCostsTheSameAfterThousandsOfDistinctPrefixLengths() {
    String longKey = "z".repeat(2_100);
    for (int length = 1; length <= 2_000; length++) {
      join(tier.invalidatePrefix(cache, "z".repeat(length - 1) + "y"));
    }
    join(tier.put(cache, longKey, entry("v"), TTL));
    // A later tag invalidation: the MGET cannot settle the entry, so the read script checks its prefixes.
    join(tier.invalidateTag(cache, "unrelated"));

    redis.configResetstat();
    assertThat(join(tier.get(cache, longKey)).isHit()).isTrue();

    // The MGET, then the script: its MGET of clock and floor, its GETs of gmax and the entry, one HMGET of at most 64
    // epochs; the old read made one GET per prefix length.
    assertThat(calls("hmget")).as("the script checked the epochs").isEqualTo(1);
    assertThat(calls("mget") + calls("get") + calls("hmget")).isLessThanOrEqualTo(6);
    assertThat(redis.zcard(meta("plens"))).isLessThanOrEqualTo(Limits.DEFAULT.prefixLengths());
  }

  @Test
  void tagAndKeyInvalidationsLeaveBoundedStateAndStaySafe() {
    join(small.put(cache, "before", entry("old", "t-0"), TTL));
    long readBefore = join(small.get(cache, "k-0")).version();
    for (int i = 0; i < 1_000; i++) {
      join(small.invalidateTag(cache, "t-" + i));
      join(small.invalidateKey(cache, "k-" + i));
    }
    join(small.put(cache, "after", entry("new", "t-5"), TTL));

    assertThat(redis.hlen(meta("g"))).isLessThanOrEqualTo(SMALL.epochs());
    assertThat(redis.zcard(meta("gx"))).isLessThanOrEqualTo(SMALL.epochs());
    assertThat(redis.zcard(meta("ts"))).isLessThanOrEqualTo(SMALL.tombstones());
    assertThat(StoreKit.scanKeys(redis, "tiercache:\\{" + cache + "\\}:*")).hasSizeLessThanOrEqualTo(12);
    // Dropped state raised a floor: what it covered is still refused or a miss.
    assertThat(join(small.get(cache, "before")).isHit()).isFalse();
    assertThat(join(small.putIfCurrent(cache, Map.of("k-0", entry("late")), TTL, readBefore))).isEmpty();
    assertThat(join(small.get(cache, "after")).isHit()).isTrue();
  }

  @Test
  void epochsAndTombstonesGoOnceNoEntryTheyCoverAndNoLoadTheyRefuseCanBeLeft() {
    join(small.put(cache, "k", entry("v", "a"), Duration.ofMillis(300)));
    join(small.invalidateTag(cache, "a"));
    join(small.invalidateKey(cache, "k"));
    join(small.invalidatePattern(cache, "k*"));

    // Kept for max(horizon, longest TTL) + 1 s; trimmed by later invalidations of the bucket (tombstones by the next
    // key that gets its first one).
    AtomicInteger round = new AtomicInteger();
    await()
        .atMost(Duration.ofSeconds(10))
        .pollInterval(Duration.ofMillis(200))
        .until(() -> {
          join(small.invalidateTag(cache, "probe"));
          join(small.invalidateKey(cache, "probe-" + round.incrementAndGet()));
          join(small.invalidatePattern(cache, "probe"));
          return redis.hlen(meta("g")) == 1 && redis.zscore(meta("ts"), "k") == null
              && redis.zcard(meta("pat")) == 1;
        });
    assertThat(redis.hkeys(meta("g"))).containsExactly("t:probe");
  }

  @Test
  void aTombstoneThatOnlyMovesTrimsNothingAndTheNextNewOneTrimsTheExpired() {
    join(small.invalidateKey(cache, "old"));
    join(small.invalidateKey(cache, "hot"));
    String oldVersion = Long.toString(redis.zscore(meta("ts"), "old").longValue());
    // Past the 200 ms tombstone TTL by the server's clock, which versions follow.
    await()
        .atMost(Duration.ofSeconds(5))
        .pollInterval(Duration.ofMillis(50))
        .until(() -> serverMicros() > Long.parseLong(oldVersion) + 250_000);

    redis.configResetstat();
    join(small.invalidateKey(cache, "hot"));
    join(small.put(cache, "hot", entry("v"), TTL));
    assertThat(redis.zscore(meta("ts"), "old")).as("expired, left in place by moves").isNotNull();
    assertThat(calls("zremrangebyscore") + calls("zcard")).as("no trim for a tombstone that moved").isZero();

    long readBefore = Long.parseLong(oldVersion) - 1;
    assertThat(join(small.putIfCurrent(cache, Map.of("old", entry("late")), TTL, readBefore)))
        .as("read before the expired tombstone, and older than the horizon")
        .isEmpty();
    join(small.invalidateKey(cache, "new"));
    assertThat(redis.zrange(meta("ts"), 0, -1)).as("the first tombstone of a key trims").containsExactly("hot", "new");
  }

  /**
   * Two instances whose tombstone TTLs differ share a bucket (a rolling change of {@code tombstoneTtl}, or two
   * services with different settings on one cache): {@code tier} keeps tombstones 5 minutes, {@code small} 200 ms.
   * A load on {@code tier} reads k, k is invalidated, and 300 ms later (well within tier's horizon) {@code small} gives
   * another key its first tombstone, which trims every tombstone older than small's 200 ms: k's goes, nothing rises,
   * and tier's late conditional write of what it read before the invalidation lands (DESIGN.md invariant 1,
   * load-then-put across nodes). Not introduced by f75f5e2 (before it, a tombstone that only moved trimmed as well);
   * its argument "an expired tombstone refuses only loads older than the horizon, refused anyway" holds only for one
   * horizon per bucket.
   */
  @Test
  void aShorterTombstoneTtlOfAnotherInstanceDoesNotLetALoadThatReadBeforeAnInvalidationWrite() {
    join(tier.put(cache, "k", entry("old"), TTL));
    long read = join(tier.get(cache, "k")).version();
    join(tier.invalidateKey(cache, "k"));
    long invalidatedAt = redis.zscore(meta("ts"), "k").longValue();
    // Past small's 200 ms horizon by the server's clock, far within tier's 5 minutes.
    await()
        .atMost(Duration.ofSeconds(5))
        .pollInterval(Duration.ofMillis(50))
        .until(() -> serverMicros() > invalidatedAt + 300_000);
    join(small.invalidateKey(cache, "other"));

    assertThat(join(tier.putIfCurrent(cache, Map.of("k", entry("stale")), TTL, read)))
        .as("a load that read k before its invalidation, 0.3 s old, within its tier's 5 min horizon")
        .isEmpty();
    assertThat(join(tier.get(cache, "k")).isHit()).as("the value read before the invalidation").isFalse();
  }

  /**
   * As {@link #aShorterTombstoneTtlOfAnotherInstanceDoesNotLetALoadThatReadBeforeAnInvalidationWrite}, for a tag: a
   * tag epoch is kept {@code max(horizon, longest TTL) + 1 s} by the horizon of the instance that trims, so with short
   * TTLs the 200 ms instance drops it 1.2 s after the invalidation, and the 5 min instance's conditional write of a
   * tagged value it read before the tag's invalidation lands. Pre-existing as well.
   */
  @Test
  void aShorterTombstoneTtlOfAnotherInstanceDoesNotLetALoadThatReadBeforeATagInvalidationWrite() {
    join(tier.put(cache, "k", entry("old", "t"), Duration.ofMillis(100)));
    long read = join(tier.get(cache, "k")).version();
    join(small.invalidateTag(cache, "t"));
    long invalidatedAt = Long.parseLong(redis.hget(meta("g"), "t:t"));
    await()
        .atMost(Duration.ofSeconds(10))
        .pollInterval(Duration.ofMillis(50))
        .until(() -> serverMicros() > invalidatedAt + 1_400_000);
    join(small.invalidateTag(cache, "other"));

    assertThat(join(tier.putIfCurrent(cache, Map.of("k", entry("stale", "t")), TTL, read)))
        .as("a load that read k before its tag's invalidation, 1.4 s old, within its tier's 5 min horizon")
        .isEmpty();
  }

  private static long serverMicros() {
    List<String> time = redis.time();
    return Long.parseLong(time.get(0)) * 1_000_000 + Long.parseLong(time.get(1));
  }

  @Test
  void aReaderThatWouldGetMorePatternsThanItsCapTakesTheEntryForCovered() {
    join(tier.put(cache, "k", entry("v"), TTL));
    for (int i = 0; i < 2 * SMALL.patterns(); i++) {
      join(tier.invalidatePattern(cache, "other-" + i + "*"));
    }

    assertThat(join(tier.get(cache, "k")).isHit()).as("within the default cap: matched, not covered").isTrue();
    assertThat(join(small.get(cache, "k")).isHit()).as("past its cap: never a possibly stale hit").isFalse();
  }

  @Test
  void aPatternInvalidationReturnsAtOnceAndSweepsInTheBackgroundOneScanAtATime() {
    debug(redis, "POPULATE", 200_000, "unrelated:" + cache);
    for (int i = 0; i < 50; i++) {
      join(tier.put(cache, "user:" + i, entry("u"), TTL));
      join(tier.put(cache, "order:" + i, entry("o"), TTL));
    }

    redis.configResetstat();
    long start = System.nanoTime();
    for (int i = 0; i < 20; i++) {
      join(tier.invalidatePattern(cache, "user:*"));
    }
    long elapsedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);

    assertThat(elapsedMs).as("20 pattern invalidations over 200,000 keys, ms").isLessThan(2_000);
    assertThat(join(tier.get(cache, "user:1")).isHit()).as("a miss at once, before any sweep").isFalse();
    join(tier.put(cache, "user:late", entry("written after the pattern"), TTL));
    await().atMost(Duration.ofSeconds(60)).until(() -> !tier.isSweeping(cache, "user:*"));

    long steps = 200_000 / RedisTierOptions.DEFAULT_SCAN_BATCH + 100;
    assertThat(calls("scan")).as("at most two passes, not one per call").isLessThanOrEqualTo(2 * steps);
    assertThat(redis.exists("tiercache:{" + cache + "}:k:user:1")).isZero();
    assertThat(redis.exists("tiercache:{" + cache + "}:k:order:1")).isOne();
    assertThat(join(tier.get(cache, "user:late")).isHit()).as("written after the pattern, kept").isTrue();
    assertThat(calls("keys")).isZero();
  }
}
