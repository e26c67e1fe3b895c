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
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Review 14, against fix7's clock restart: a clock at 2^53 - 1 re-seeded ("restarted") at max(server time, seen + 1)
 * with both floors lowered to that version. The versions from there up had been handed out before, and what was
 * written, read or covered with them was not told apart from what came after: an entry or a read version at or just
 * above the re-seeded clock was no longer covered by the floor an invalidate-all raised before the re-seed. One tier
 * throughout: the invalidation returned on the very node that then read the covered value, or let its load write over
 * it. Ported to the exhausted bucket, which never restarts its clock: the invalidated value is never served (a miss is
 * right), and no load that read before the invalidation writes. Each test's comment tells what fix7 did there.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RedisClockRestartReuseTest {

  @RegisterExtension static final RedisExtension REDIS = RedisExtension.standalone();

  private static final Duration TTL = Duration.ofMinutes(5);
  private static final long LARGEST = SeenVersions.MAX_VERSION;
  /** Where fix7 capped the versions a tier records (7 * 2^50); here only a clock far ahead of the server's time. */
  private static final long SEEN_CAP = 7L << 50;

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
    cache = uniqueName("restart");
  }

  private String meta(String name) {
    return StoreKit.meta(cache, name);
  }

  private static String text(L2Read read) {
    return read.entry() == null ? null : new String(read.entry().value(), StandardCharsets.UTF_8);
  }

  /**
   * The tier sees the bucket up to 7 * 2^50 (hostile state put the clock there), stores "old" at the next version
   * and invalidates everything (floor above "old"). Then the clock is at 2^53 - 1 (hostile), and the tier's next read
   * re-seeds it at seen + 1, which is the version of "old", and lowers the floor to it: "old" is served by the node
   * whose invalidate-all returned before the read started.
   */
  @Test
  void anEntryCoveredByInvalidateAllIsServedAgainAfterTheReseed() {
    RedisTier tier = session.tier();
    redis.set(meta("clock"), Long.toString(SEEN_CAP - 1));
    join(tier.get(cache, "z"));
    join(tier.invalidateKey(cache, "z")); // the clock at SEEN_CAP
    join(tier.put(cache, "k", entry("old"), TTL)); // SEEN_CAP + 1
    join(tier.invalidateAll(cache)); // SEEN_CAP + 2, the floor with it
    assertThat(text(join(tier.get(cache, "k")))).as("right after invalidateAll").isNull();

    redis.set(meta("clock"), Long.toString(LARGEST));

    L2Read read = join(tier.get(cache, "k"));
    assertThat(text(read))
        .as("a read after the re-seed (clock %s, floor %s) of an entry invalidateAll covered",
            redis.get(meta("clock")), redis.get(meta("floor")))
        .isNull();
  }

  /**
   * The same with a read-through load: the tier reads "k" (a miss) at a version past 7 * 2^50, which it does not
   * record; the row changes and invalidateAll returns; the clock is then at 2^53 - 1 (hostile). The load's write-back
   * re-seeds the clock at seen + 1, its own read version, with the floors lowered to it: the load that read before the
   * invalidation writes its old value, and the next read serves it.
   */
  @Test
  void aLoadThatReadBeforeInvalidateAllWritesAfterTheReseed() {
    RedisTier tier = session.tier();
    redis.set(meta("clock"), Long.toString(SEEN_CAP - 1));
    join(tier.get(cache, "z"));
    join(tier.invalidateKey(cache, "z")); // SEEN_CAP
    join(tier.invalidateKey(cache, "z")); // SEEN_CAP + 1
    long loadRead = join(tier.get(cache, "k")).version();
    join(tier.invalidateAll(cache)); // SEEN_CAP + 2, the floor with it

    redis.set(meta("clock"), Long.toString(LARGEST));

    assertThat(join(tier.putIfCurrent(cache, Map.of("k", entry("stale")), TTL, loadRead)))
        .as("a write-back of a load that read at %d, before invalidateAll (clock now %s, floor %s)",
            loadRead, redis.get(meta("clock")), redis.get(meta("floor")))
        .isEmpty();
    assertThat(text(join(tier.get(cache, "k")))).as("the next read").isNull();
  }

  /**
   * Below the seen cap, with the clock ahead of the server's time (which the scripts allow: a failover, a re-seed at
   * seen + 1): entries stored above the re-seeded clock are misses only until the clock catches up with them; then the
   * floor an invalidate-all raised before the re-seed no longer covers them. Here the re-seeding tier is another one
   * that read the bucket just before "old" was written (its bus, if any, not yet delivering the invalidation), and the
   * clock catches up with "old" by one tick of its own put.
   */
  @Test
  void anEntryStoredJustAboveTheReseedIsServedOnceTheClockPassesIt() {
    RedisTier writer = session.tier();
    RedisTier other = session.tier();
    java.util.List<String> time = redis.time();
    long now = Long.parseLong(time.get(0)) * 1_000_000 + Long.parseLong(time.get(1));
    long ahead = now + 600_000_000L;
    redis.set(meta("clock"), Long.toString(ahead));
    join(other.get(cache, "z")); // other has seen `ahead`
    join(writer.put(cache, "first", entry("first"), TTL)); // ahead + 1
    join(writer.put(cache, "k", entry("old"), TTL)); // ahead + 2
    join(writer.invalidateAll(cache)); // ahead + 3, the floor with it
    assertThat(text(join(writer.get(cache, "k")))).as("right after invalidateAll").isNull();

    redis.set(meta("clock"), Long.toString(LARGEST));
    join(other.get(cache, "z")); // re-seeds at ahead + 1
    assertThat(text(join(other.get(cache, "k")))).as("above the re-seeded clock").isNull();
    join(other.put(cache, "y", entry("y"), TTL)); // ticks to ahead + 2, the version of "old"

    assertThat(text(join(other.get(cache, "k"))))
        .as("once the clock passed it (clock %s, floor %s)", redis.get(meta("clock")), redis.get(meta("floor")))
        .isNull();
  }
  /**
   * No floor involved: after the re-seed, invalidations take versions that entries stored before it already carry. One
   * tier that saw 7 * 2^50 stores "old" with tag t at 7 * 2^50 + 2 (unrecorded: above the cap); the clock is then at
   * 2^53 - 1 (hostile). The tier's invalidateTag(t) re-seeds the clock at seen + 1 and takes the next version, which is
   * the version of "old", so the tag's epoch does not cover it (an epoch covers what is older): the same tier's next
   * read serves "old" although its tag invalidation returned before the read started.
   */
  @Test
  void aTagInvalidatedAfterTheReseedDoesNotCoverAnEntryStoredBeforeIt() {
    RedisTier tier = session.tier();
    redis.set(meta("clock"), Long.toString(SEEN_CAP - 1));
    join(tier.get(cache, "z"));
    join(tier.invalidateKey(cache, "z")); // the clock at SEEN_CAP
    join(tier.put(cache, "x", entry("x"), TTL)); // SEEN_CAP + 1
    join(tier.put(cache, "k", entry("old", "t"), TTL)); // SEEN_CAP + 2

    redis.set(meta("clock"), Long.toString(LARGEST));
    join(tier.invalidateTag(cache, "t"));

    assertThat(text(join(tier.get(cache, "k"))))
        .as("after invalidateTag(t) (clock %s, floor %s, epoch %s)",
            redis.get(meta("clock")), redis.get(meta("floor")), redis.hget(meta("g"), "t:t"))
        .isNull();
    assertThat(text(join(tier.getByScript(cache, "k")))).as("the script path").isNull();
  }
}
