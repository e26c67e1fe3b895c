package dev.tiercache.redis;

import static dev.tiercache.redis.StoreKit.debug;
import static dev.tiercache.redis.StoreKit.entry;
import static dev.tiercache.redis.StoreKit.join;
import static dev.tiercache.redis.StoreKit.uniqueName;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.tiercache.redis.testing.RedisExtension;
import dev.tiercache.spi.L2Read;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.sync.RedisCommands;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Issue 9, defects 2, 3 and 4: versions never go backwards. A load slower than the tombstone TTL, a put whose entry
 * expired, a restore of an older snapshot, a corrupt or lost clock: none lets a load that began before an
 * invalidation write its old value afterwards; and the state safety depends on carries no TTL that
 * {@code volatile-*} eviction would pick.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RedisVersionSafetyTest {

  @RegisterExtension static final RedisExtension REDIS = RedisExtension.standalone();

  private static final Duration HORIZON = Duration.ofMillis(300);
  private static final Duration LONG_TTL = Duration.ofMinutes(5);

  private static RedisClient client;
  /** Loads may be in flight for {@link #HORIZON}: tombstones are kept that long, older reads refused. */
  private static RedisTier tier;
  private static TierSession session;
  private static RedisCommands<String, String> redis;

  private String cache;

  @BeforeAll
  static void connect() {
    session = new TierSession(REDIS.uri());
    client = session.client;
    tier = session.tier(c -> RedisTier.create(c, RedisTierOptions.builder().tombstoneTtl(HORIZON).build()));
    redis = session.redis;
  }

  @AfterAll
  static void disconnect() {
    session.close();
  }

  @BeforeEach
  void name() {
    cache = uniqueName("versions");
  }

  private Collection<String> lateWrite(String key, String text, long readVersion) {
    return join(tier.putIfCurrent(cache, Map.of(key, entry(text)), LONG_TTL, readVersion));
  }

  private String meta(String name) {
    return StoreKit.meta(cache, name);
  }

  /** Waits, boundedly, until the server's time is past a version plus the horizon. */
  private static void awaitHorizonPassed(long version) {
    await()
        .atMost(Duration.ofSeconds(5))
        .pollInterval(Duration.ofMillis(50))
        .until(() -> {
          List<String> time = redis.time();
          long now = Long.parseLong(time.get(0)) * 1_000_000 + Long.parseLong(time.get(1));
          return now > version + HORIZON.toNanos() / 1_000;
        });
  }

  @Test
  void aLoadSlowerThanTheTombstoneTtlCannotWriteItsOldValueBack() {
    long read = join(tier.get(cache, "k")).version();
    join(tier.invalidateKey(cache, "k"));

    awaitHorizonPassed(read);

    assertThat(lateWrite("k", "old", read)).isEmpty();
    assertThat(join(tier.get(cache, "k")).isHit()).isFalse();
  }

  @Test
  void aPutStillRefusesOlderLoadsAfterItsEntryExpired() {
    long read = join(tier.get(cache, "k")).version();
    join(tier.put(cache, "k", entry("new"), Duration.ofMillis(50)));
    await().atMost(Duration.ofSeconds(5)).until(() -> !join(tier.get(cache, "k")).isHit());

    assertThat(lateWrite("k", "old", read)).isEmpty();
  }

  @Test
  void aRestoreOfAnOlderSnapshotIsDetectedAndItsEntriesAreNoLongerServed() {
    join(tier.put(cache, "k", entry("v1"), LONG_TTL));
    redis.save();
    // After the snapshot: a change, then a load reads, then the key is invalidated; all lost by the restore.
    join(tier.invalidateKey(cache, "unrelated"));
    long read = join(tier.get(cache, "k")).version();
    join(tier.invalidateKey(cache, "k"));

    // DEBUG RELOAD NOSAVE loads the snapshot taken above: a real restore of an older state.
    debug(redis, "RELOAD", "NOSAVE");
    assertThat(redis.exists("tiercache:{" + cache + "}:k:k")).as("the restore brought the entry back").isEqualTo(1L);

    assertThat(lateWrite("k", "stale", read)).isEmpty();
    assertThat(join(tier.get(cache, "k")).isHit()).as("an entry restored from before the rollback").isFalse();
    L2Read fresh = join(tier.get(cache, "k"));
    assertThat(lateWrite("k", "fresh", fresh.version())).containsExactly("k");
  }

  @Test
  void aCorruptClockRepairsItselfAndRefusesWhatWasReadBeforeIt() {
    join(tier.put(cache, "k", entry("v1"), LONG_TTL));
    long before = join(tier.get(cache, "k")).version();
    redis.set(meta("clock"), "not a number");

    join(tier.put(cache, "other", entry("o"), LONG_TTL));
    long after = join(tier.get(cache, "k2")).version();
    assertThat(lateWrite("k2", "fresh", after)).containsExactly("k2");
    assertThat(lateWrite("k", "late", before)).as("read before the clock was lost").isEmpty();
    assertThat(join(tier.get(cache, "k")).isHit()).as("written before the clock was lost").isFalse();
    assertThat(redis.get(meta("clock"))).matches("[0-9]{16}");
  }

  @Test
  void aCorruptFloorIsRepairedAndLaterWritesGoOn() {
    join(tier.put(cache, "k", entry("v1"), LONG_TTL));
    long before = join(tier.get(cache, "k2")).version();
    redis.set(meta("floor"), "-1");

    L2Read read = join(tier.get(cache, "k2"));
    assertThat(join(tier.get(cache, "k")).isHit()).as("written before the floor was lost").isFalse();
    assertThat(lateWrite("k2", "late", before)).isEmpty();
    // The clock follows the repaired floor, so a fresh read's write goes through without any other write first.
    assertThat(lateWrite("k2", "fresh", read.version())).containsExactly("k2");
  }

  /** A server that forgot the scripts (a restart, a failover, SCRIPT FLUSH) is sent them again by reads too. */
  @Test
  void readsGoOnAfterTheServerForgetsTheScripts() {
    join(tier.put(cache, "k", entry("v1"), LONG_TTL));
    redis.scriptFlush();
    assertThat(join(tier.get(cache, "k")).isHit()).isTrue();
    redis.scriptFlush();
    assertThat(join(tier.getAll(cache, List.of("k", "absent"))))
        .hasEntrySatisfying("k", read -> assertThat(read.isHit()).isTrue())
        .hasEntrySatisfying("absent", read -> assertThat(read.isHit()).isFalse());
  }

  /** The read takes the clock and the floor with one MGET, which answers nil for a key of another type. */
  @Test
  void aFloorOfAnotherTypeIsNotTakenForNoFloor() {
    join(tier.put(cache, "k", entry("v1"), LONG_TTL));
    assertThat(join(tier.get(cache, "k")).isHit()).isTrue();
    redis.del(meta("floor"));
    redis.hset(meta("floor"), "f", "1");

    assertThat(join(tier.get(cache, "k")).isHit()).as("written before the floor was lost").isFalse();
    assertThat(redis.get(meta("floor"))).matches("[0-9]{16}");
  }

  @Test
  void stateOverwrittenByAnotherProgramIsReplacedAndNothingOlderIsTrusted() {
    join(tier.put(cache, "k", entry("v", "t"), LONG_TTL));
    long before = join(tier.get(cache, "k2")).version();
    for (String name : List.of("g", "gx", "plens", "pat", "ts")) {
      redis.set(meta(name), "garbage");
    }

    assertThat(join(tier.get(cache, "k")).isHit()).as("epochs that cannot be read cover everything").isFalse();
    join(tier.invalidateTag(cache, "t"));
    join(tier.invalidatePrefix(cache, "p"));
    join(tier.invalidatePattern(cache, "x*"));
    join(tier.invalidateKey(cache, "gone"));

    assertThat(lateWrite("k2", "late", before)).as("read before the state was lost").isEmpty();
    long fresh = join(tier.get(cache, "k2")).version();
    assertThat(lateWrite("k2", "fresh", fresh)).containsExactly("k2");
    assertThat(join(tier.get(cache, "k2")).isHit()).isTrue();
    assertThat(redis.type(meta("g"))).isEqualTo("hash");
  }

  @Test
  void aRestartThatLostEveryTombstoneStillRefusesLoadsThatReadBeforeIt() {
    long read = join(tier.get(cache, "k")).version();
    join(tier.invalidateKey(cache, "k"));
    redis.flushall();

    assertThat(lateWrite("k", "old", read)).isEmpty();
  }

  @Test
  void theStateSafetyDependsOnCarriesNoTtlForEvictionToPick() {
    join(tier.put(cache, "k", entry("v", "t"), LONG_TTL));
    join(tier.invalidateKey(cache, "k"));
    join(tier.invalidateTag(cache, "t"));
    join(tier.invalidatePrefix(cache, "p"));
    join(tier.invalidatePattern(cache, "x*"));
    join(tier.invalidateAll(cache));

    List<String> state = redis.keys("tiercache:\\{" + cache + "\\}:m:*");
    assertThat(state).contains(meta("clock"), meta("floor"), meta("ts"), meta("g"), meta("plens"), meta("pat"));
    for (String key : state) {
      assertThat(redis.pttl(key)).as(key).isEqualTo(-1L);
    }
  }

  @Test
  void aReadNewerThanTheClockRaisesTheFloor() {
    join(tier.put(cache, "k", entry("v1"), LONG_TTL));
    long read = join(tier.get(cache, "k")).version();
    // The clock went back, as after a failover to a replica that had not seen the latest changes.
    redis.set(meta("clock"), Long.toString(read - 1_000_000));

    assertThat(lateWrite("k", "late", read)).isEmpty();
    assertThat(join(tier.get(cache, "k")).isHit()).as("an entry from before the rollback").isFalse();
    L2Read fresh = join(tier.get(cache, "k"));
    assertThat(fresh.version()).isGreaterThanOrEqualTo(read);
    assertThat(lateWrite("k", "fresh", fresh.version())).containsExactly("k");
  }
}
