package dev.tiercache.redis;

import static dev.tiercache.redis.StoreKit.debug;
import static dev.tiercache.redis.StoreKit.entry;
import static dev.tiercache.redis.StoreKit.join;
import static dev.tiercache.redis.StoreKit.uniqueName;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.tiercache.redis.testing.RedisExtension;
import dev.tiercache.spi.L2Read;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.sync.RedisCommands;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
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
    tier = newTier();
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
  void theFirstReadAfterARestoreOfAnOlderSnapshotIsAMissAlthoughNothingWasWrittenSince() {
    join(tier.put(cache, "k", entry("v1"), LONG_TTL));
    redis.save();
    join(tier.invalidateKey(cache, "k"));
    debug(redis, "RELOAD", "NOSAVE");
    assertThat(redis.exists("tiercache:{" + cache + "}:k:k")).as("the restore brought the entry back").isEqualTo(1L);

    assertThat(join(tier.get(cache, "k")).isHit()).as("an entry this tier invalidated after the snapshot").isFalse();
    assertThat(join(tier.getAll(cache, List.of("k"))).get("k").isHit()).isFalse();
  }

  @Test
  void aWriteAfterARestoreOfAnOlderSnapshotStillLeavesOlderEntriesUnserved() {
    join(tier.put(cache, "k", entry("v1"), LONG_TTL));
    join(tier.put(cache, "other", entry("o1"), LONG_TTL));
    redis.save();
    join(tier.invalidateKey(cache, "k"));
    debug(redis, "RELOAD", "NOSAVE");

    // The first script after the restore is an unconditional write of another key: it must not hide the rollback.
    join(tier.put(cache, "other", entry("o2"), LONG_TTL));

    assertThat(join(tier.get(cache, "k")).isHit()).as("an entry this tier invalidated after the snapshot").isFalse();
    assertThat(join(tier.get(cache, "other")).isHit()).as("written after the restore").isTrue();
  }

  @Test
  void aPutThatReachesRedisOnlyAfterItsCallerStoppedWaitingIsRefused() throws Exception {
    join(tier.put(cache, "k", entry("v1"), LONG_TTL));
    assertRefusedAsLate(tier);
    assertThat(valueOfK()).isEqualTo("v1");

    join(tier.put(cache, "k", entry("v2"), LONG_TTL, null, Duration.ofSeconds(5)));
    assertThat(valueOfK()).isEqualTo("v2");
  }

  /**
   * Review of issue 9: a read returns the bucket's clock, which is the time of the bucket's last change, not the
   * server's time. An instance that only read a bucket idle for a while must not take that clock for the server's
   * time, or it sets its puts' deadlines in the past and refuses them with no fault at all.
   */
  @Test
  void aPutAfterOnlyReadingABucketIdleForAWhileIsNotRefusedAsLate() throws Exception {
    join(tier.put(cache, "k", entry("v1"), LONG_TTL));
    long written = serverMicros();
    await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(50))
        .until(() -> serverMicros() > written + 1_500_000);
    RedisTier reader = newTier();
    assertThat(join(reader.get(cache, "k")).isHit()).isTrue();

    join(reader.put(cache, "k", entry("v2"), LONG_TTL, null, Duration.ofSeconds(1)));
    assertThat(valueOfK()).isEqualTo("v2");
  }

  /**
   * Review of issue 9: a clock runs ahead of the server's time when the bucket's node changed to one whose time is
   * behind (a failover to a replica on another host, a restore elsewhere, a step back of the system clock). A put's
   * deadline must still be in the server's time, or the put lands after its caller was told it failed.
   */
  @Test
  void aClockAheadOfTheServersTimeDoesNotLetAPutLandAfterItsDeadline() throws Exception {
    join(tier.put(cache, "k", entry("v1"), LONG_TTL));
    redis.set(meta("clock"), Long.toString(serverMicros() + 5_000_000));
    assertThat(join(tier.get(cache, "k")).isHit()).isTrue();

    assertRefusedAsLate(tier);
    assertThat(valueOfK()).isEqualTo("v1");
  }

  /**
   * Review of issue 9: a tier that has had no reply from a bucket yet (just started, or a bucket it never used) does
   * not know where the server's time is; its first put there must not be unbounded for that.
   */
  @Test
  void theFirstPutOfAFreshTierInABucketCannotLandAfterItsDeadlineEither() throws Exception {
    join(tier.put(cache, "k", entry("v1"), LONG_TTL));
    RedisTier fresh = newTier();

    assertRefusedAsLate(fresh);
    assertThat(valueOfK()).isEqualTo("v1");
    // Once it knows, it writes as any other tier.
    join(fresh.put(cache, "k", entry("v2"), LONG_TTL, null, Duration.ofSeconds(5)));
    assertThat(valueOfK()).isEqualTo("v2");
  }

  /** Another tier on the same client, with the same load horizon. */
  private static RedisTier newTier() {
    return session.tier(c -> RedisTier.create(c, RedisTierOptions.builder().tombstoneTtl(HORIZON).build()));
  }

  /** Redis holds every command for 400 ms; a put of "late" that may take effect for 100 ms only must fail. */
  private void assertRefusedAsLate(RedisTier writer) {
    redis.clientPause(400);
    CompletableFuture<Void> late = writer.put(cache, "k", entry("late"), LONG_TTL, null, Duration.ofMillis(100));

    assertThatThrownBy(() -> late.get(10, TimeUnit.SECONDS))
        .isInstanceOf(ExecutionException.class)
        .hasRootCauseInstanceOf(TimeoutException.class);
  }

  /** The value the L2 holds for "k", as text. */
  private String valueOfK() {
    return new String(join(tier.get(cache, "k")).entry().value(), StandardCharsets.UTF_8);
  }

  private static long serverMicros() {
    List<String> time = redis.time();
    return Long.parseLong(time.get(0)) * 1_000_000 + Long.parseLong(time.get(1));
  }

  @Test
  void aRollbackIsCaughtWhenAnotherInstanceThatUsedTheBucketOnlyBeforeTheSnapshotWritesFirst() {
    RedisTier other = newTier();
    RecordingListener heard = new RecordingListener();
    other.bus().subscribe(cache, heard);
    join(tier.put(cache, "k", entry("v1"), LONG_TTL));
    join(other.put(cache, "other", entry("o1"), LONG_TTL));
    redis.save();
    // Announced with the version the script gave it: the other instance learns how far the bucket's clock went.
    join(tier.invalidate(cache, RecordingListener.message("a", 1, "k")));
    await().atMost(Duration.ofSeconds(5)).until(() -> !heard.messages.isEmpty());
    debug(redis, "RELOAD", "NOSAVE");

    join(other.put(cache, "other", entry("o2"), LONG_TTL));

    assertThat(join(tier.get(cache, "k")).isHit()).as("an entry this tier invalidated after the snapshot").isFalse();
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

    List<String> state = StoreKit.scanKeys(redis, "tiercache:\\{" + cache + "\\}:m:*");
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
