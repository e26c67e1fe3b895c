package dev.tiercache.redis;

import static dev.tiercache.redis.StoreKit.entry;
import static dev.tiercache.redis.StoreKit.join;
import static dev.tiercache.redis.StoreKit.uniqueName;
import static org.assertj.core.api.Assertions.assertThat;

import dev.tiercache.redis.testing.RedisExtension;
import dev.tiercache.spi.L2Read;
import io.lettuce.core.api.sync.RedisCommands;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
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
 * Review s8-review2: the README's way out of an exhausted bucket while the caches keep working, as they do (README:
 * "The caches keep working on their L1 and loaders"). An invalidation that runs between its steps records its state
 * at 2^53 - 1 (a tombstone, an epoch, gmax). Were those keys deleted
 * before the clock (as the README first said: every key but the clock, then the clock), they would come back, and
 * once the clock is gone the bucket would start afresh at the server's time, far below that state, which no script
 * ever trims by age: the key's write-backs refused and the tag's entries read as misses for good (until the caps push
 * them out), with no warning. Deleted in one UNLINK with the clock, nothing of it is left.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RedisExhaustedDeletionRaceTest {

  @RegisterExtension static final RedisExtension REDIS = RedisExtension.standalone();

  private static final Duration TTL = Duration.ofMinutes(5);

  private static TierSession session;
  private static RedisCommands<String, String> redis;
  private String cache;

  @BeforeAll
  static void connect() {
    session = new TierSession(REDIS.uri());
    redis = session.redis;
  }

  @AfterAll
  static void disconnect() {
    session.close();
  }

  @BeforeEach
  void name() {
    cache = uniqueName("end-race");
  }

  private String meta(String name) {
    return StoreKit.meta(cache, name);
  }

  private static String text(L2Read read) {
    return read.entry() == null ? null : new String(read.entry().value(), StandardCharsets.UTF_8);
  }

  /**
   * The README's two commands, with what the caches did meanwhile between them: the entries, then the bucket's state
   * and its clock in one UNLINK.
   */
  private void operatorDeletesTheBucketWhile(Runnable meanwhile) {
    List<String> entries = StoreKit.scanKeys(redis, "tiercache:{" + cache + "}:k:*");
    if (!entries.isEmpty()) {
      redis.unlink(entries.toArray(String[]::new));
    }
    meanwhile.run();
    String[] state = {"ts", "g", "gx", "plens", "pat", "gmax", "floor", "wfloor", "maxttl", "clock"};
    redis.unlink(java.util.Arrays.stream(state).map(this::meta).toArray(String[]::new));
  }

  private RedisTier exhaustedWithEntries() {
    RedisTier tier = session.tier();
    join(tier.put(cache, "k", entry("old"), TTL));
    join(tier.put(cache, "tagged", entry("old", "t"), TTL));
    redis.set(meta("clock"), Long.toString(SeenVersions.MAX_VERSION));
    return tier;
  }

  @Test
  void aKeyInvalidationDuringTheDeletionDoesNotRefuseTheKeysWriteBacksForGood() {
    RedisTier tier = exhaustedWithEntries();
    operatorDeletesTheBucketWhile(() -> join(tier.invalidateKey(cache, "k")));

    long read = join(tier.get(cache, "k")).version();
    assertThat(read).isLessThan(SeenVersions.MAX_VERSION - 1_000_000);
    assertThat(join(tier.putIfCurrent(cache, Map.of("k", entry("new")), TTL, read)))
        .as("a write-back of k after the deletion (tombstone left: %s)", redis.zscore(meta("ts"), "k"))
        .containsExactly("k");
  }

  @Test
  void aTagInvalidationDuringTheDeletionDoesNotHideTheTagsEntriesForGood() {
    RedisTier tier = exhaustedWithEntries();
    operatorDeletesTheBucketWhile(() -> join(tier.invalidateTag(cache, "t")));

    join(tier.put(cache, "tagged", entry("new", "t"), TTL));
    assertThat(text(join(tier.get(cache, "tagged"))))
        .as("a tagged entry put after the deletion (epoch left: %s)", redis.hget(meta("g"), "t:t"))
        .isEqualTo("new");
  }
}
