package dev.tiercache.redis;

import static dev.tiercache.redis.StoreKit.entry;
import static dev.tiercache.redis.StoreKit.join;
import static dev.tiercache.redis.StoreKit.uniqueName;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.tiercache.Invalidation;
import dev.tiercache.Tags;
import dev.tiercache.TieredCache;
import dev.tiercache.codec.ValueCodecs;
import dev.tiercache.redis.testing.RedisExtension;
import dev.tiercache.spi.InvalidationMessage;
import dev.tiercache.spi.L2Read;
import io.lettuce.core.RedisClient;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.api.sync.RedisCommands;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A bucket whose clock reached 2^53 - 1, the largest version the scripts count exactly, cannot tick any further: it
 * is exhausted until an operator deletes its keys. Every read of it misses (MGET path and read script alike), every
 * write is dropped (a forced put still removes the key it replaces and tells the other instances), invalidations
 * succeed and publish, the tier warns once, and after the keys are deleted the bucket starts afresh.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RedisClockExhaustionTest {

  @RegisterExtension static final RedisExtension REDIS = RedisExtension.standalone();

  private static final Duration TTL = Duration.ofMinutes(5);
  private static final long LARGEST = SeenVersions.MAX_VERSION;
  private static final String END = Long.toString(LARGEST);

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
    cache = uniqueName("exhausted");
  }

  private String meta(String name) {
    return StoreKit.meta(cache, name);
  }

  private String entryKey(String key) {
    return "tiercache:{" + cache + "}:k:" + key;
  }

  private static String text(L2Read read) {
    return read.entry() == null ? null : new String(read.entry().value(), StandardCharsets.UTF_8);
  }

  private void exhaust() {
    redis.set(meta("clock"), END);
  }

  /** What the README tells an operator to do: every key of the bucket but its clock, then the clock. */
  private void operatorDeletesTheBucket() {
    List<String> keys = StoreKit.scanKeys(redis, "tiercache:{" + cache + "}:*");
    keys.remove(meta("clock"));
    if (!keys.isEmpty()) {
      redis.unlink(keys.toArray(String[]::new));
    }
    redis.unlink(meta("clock"));
  }

  @Test
  void everyReadOfAnExhaustedBucketMissesOnBothPaths() {
    RedisTier tier = session.tier().alwaysMgetFirst();
    join(tier.put(cache, "k", entry("old"), TTL));
    join(tier.put(cache, "tagged", entry("old", "t"), TTL));
    join(tier.invalidateTag(cache, "other")); // "k" is then older than gmax: the MGET leaves it to the script
    join(tier.put(cache, "fresh", entry("old"), TTL)); // newer than gmax: the MGET alone would settle it
    exhaust();

    for (String key : List.of("k", "tagged", "fresh")) {
      L2Read byMget = join(tier.get(cache, key));
      assertThat(text(byMget)).as("MGET path, %s", key).isNull();
      assertThat(byMget.version()).as("read version, %s", key).isEqualTo(LARGEST);
      assertThat(text(join(tier.getByScript(cache, key)))).as("script, %s", key).isNull();
    }
    Map<String, L2Read> all = join(tier.getAll(cache, List.of("k", "tagged", "fresh", "none")));
    assertThat(all.values()).allSatisfy(read -> assertThat(read.isHit()).isFalse());
    assertThat(redis.get(meta("clock"))).as("the clock stays at the end").isEqualTo(END);
  }

  @Test
  void writesToAnExhaustedBucketAreDroppedAndTheClockNeverTicksPastTheEnd() {
    RedisTier tier = session.tier();
    join(tier.put(cache, "k", entry("old"), TTL));
    long loadRead = join(tier.get(cache, "loaded")).version();
    exhaust();

    assertThat(join(tier.putIfCurrent(cache, Map.of("loaded", entry("late")), TTL, loadRead)))
        .as("a write-back whose read was before")
        .isEmpty();
    long exhaustedRead = join(tier.get(cache, "loaded")).version();
    assertThat(join(tier.putIfCurrent(cache, Map.of("loaded", entry("late")), TTL, exhaustedRead)))
        .as("a write-back whose read was in the exhausted bucket")
        .isEmpty();
    join(tier.put(cache, "k", entry("new"), TTL)); // completes normally: not an error for the caller
    join(tier.put(cache, "k", entry("newer"), TTL, null, Duration.ofSeconds(5)));

    assertThat(redis.exists(entryKey("k"))).as("the forced put removed the entry it replaces").isZero();
    assertThat(redis.exists(entryKey("loaded"))).isZero();
    assertThat(text(join(tier.get(cache, "k")))).isNull();
    assertThat(text(join(tier.getByScript(cache, "k")))).isNull();
    for (int i = 0; i < 5; i++) {
      join(tier.invalidateKey(cache, "z"));
      join(tier.put(cache, "y", entry("y"), TTL));
      assertThat(redis.get(meta("clock"))).as("after %d rounds", i + 1).isEqualTo(END);
    }
  }

  /** One version left for a change (2^53 - 2): the next change takes it, the one after ends the clock. */
  @Test
  void theLastVersionIsHandedOutOnceThenTheBucketIsExhausted() {
    RedisTier tier = session.tier();
    redis.set(meta("clock"), Long.toString(LARGEST - 2));
    join(tier.put(cache, "a", entry("a"), TTL));
    assertThat(redis.get(meta("clock"))).isEqualTo(Long.toString(LARGEST - 1));
    assertThat(redis.get(entryKey("a"))).as("the last version").startsWith(Scripts.FORMAT + (LARGEST - 1));
    assertThat(text(join(tier.get(cache, "a")))).as("served while the bucket is not exhausted").isEqualTo("a");
    join(tier.put(cache, "b", entry("b"), TTL));
    assertThat(redis.exists(entryKey("b"))).isZero();
    assertThat(redis.get(meta("clock"))).isEqualTo(END);
    assertThat(text(join(tier.get(cache, "a")))).as("exhausted").isNull();
  }

  /**
   * Two changes in one script with one version left: the first takes it, the second ends the clock and is recorded
   * at the end, above every entry: what it covers stays covered even if the clock is then set back by hand (a bucket
   * brought back without deleting its keys), the entry that took the last version included.
   */
  @Test
  void whatAnExhaustedBucketInvalidatedStaysCoveredIfItsClockIsSetBackByHand() {
    RedisTier tier = session.tier().alwaysMgetFirst();
    redis.set(meta("clock"), Long.toString(LARGEST - 3));
    join(tier.put(cache, "k", entry("old", "t"), TTL));
    join(tier.put(cache, "k2", entry("old", "t"), TTL));
    assertThat(redis.get(entryKey("k2"))).startsWith(Scripts.FORMAT + (LARGEST - 1));
    join(tier.invalidate(cache, new InvalidationMessage("origin", 1, System.currentTimeMillis(),
        List.of(new InvalidationMessage.Item("key", "x"), new InvalidationMessage.Item("tag", "t")))));
    assertThat(redis.get(meta("clock"))).isEqualTo(END);
    assertThat(redis.hget(meta("g"), "t:t")).as("the tag's epoch").isEqualTo(END);
    for (String key : List.of("k", "k2")) {
      assertThat(text(join(tier.getByScript(cache, key)))).isNull();
      assertThat(text(join(tier.get(cache, key)))).isNull();
    }

    redis.set(meta("clock"), Long.toString(LARGEST - 1_000));
    join(session.tier().invalidateKey(cache, "y")); // a tier that knows nothing of the end
    for (String key : List.of("k", "k2")) {
      assertThat(text(join(session.tier().getByScript(cache, key)))).as("%s, script", key).isNull();
      assertThat(text(join(session.tier().alwaysMgetFirst().get(cache, key)))).as("%s, MGET path", key).isNull();
    }
  }

  /**
   * A script whose caller saw the last version (an older instance, or a forged argument) and finds the clock behind
   * it takes that for a rollback: it moves the clock up to the end, never past it.
   */
  @Test
  void aRollbackToBelowTheLastVersionSeenMovesTheClockToTheEndNotPastIt() {
    RedisTier tier = session.tier();
    join(tier.put(cache, "k", entry("v"), TTL));
    String m = "tiercache:{" + cache + "}:m:";
    redis.eval(Scripts.READ.body, ScriptOutputType.MULTI, new String[] {m + "clock"}, m, "", "0", END);
    assertThat(redis.get(meta("clock"))).isEqualTo(END);
    assertThat(text(join(tier.get(cache, "k")))).isNull();
  }

  /** One instance of the application: its own client, tier, L1 and bus. */
  private final class Node implements AutoCloseable {
    final RedisClient client = RedisClient.create(REDIS.uri());
    final RedisTier tier = RedisTier.create(client);
    final TieredCache<String, String> cache =
        TieredCache.<String, String>builder(RedisClockExhaustionTest.this.cache)
            .keyCodec(k -> k)
            .l2(tier)
            .valueCodec(ValueCodecs.string())
            .build();
    final AtomicInteger loads = new AtomicInteger();

    String read(String key, AtomicReference<String> database) {
      return cache.get(key, Tags.of("t"), k -> {
        loads.incrementAndGet();
        return database.get();
      });
    }

    @Override
    public void close() {
      cache.close();
      tier.close();
      client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
  }

  /** Another instance reads "k" into its L1, the bucket is exhausted, then {@code change} runs on the first one. */
  private void anotherInstanceDropsItsCopy(java.util.function.Consumer<Node> change, boolean entryGone) {
    try (Node a = new Node(); Node b = new Node()) {
      AtomicReference<String> database = new AtomicReference<>("v1");
      assertThat(a.read("k", database)).isEqualTo("v1");
      assertThat(b.read("k", database)).isEqualTo("v1");
      int loads = b.loads.get();
      assertThat(b.read("k", database)).as("from b's L1").isEqualTo("v1");
      assertThat(b.loads.get()).isEqualTo(loads);
      exhaust();
      database.set("v2");
      change.accept(a);
      if (entryGone) {
        assertThat(redis.exists(entryKey("k"))).as("the entry is unlinked").isZero();
      }
      await()
          .atMost(Duration.ofSeconds(10))
          .untilAsserted(() -> assertThat(b.read("k", database)).as("b after a's change").isEqualTo("v2"));
      assertThat(a.read("k", database)).isEqualTo("v2");
      assertThat(redis.get(meta("clock"))).isEqualTo(END);
    }
  }

  @Test
  void aKeyInvalidationInAnExhaustedBucketUnlinksTheEntryAndReachesTheOtherInstances() {
    anotherInstanceDropsItsCopy(a -> a.cache.invalidate(Invalidation.key("k")), true);
  }

  @Test
  void aTagInvalidationInAnExhaustedBucketReachesTheOtherInstances() {
    anotherInstanceDropsItsCopy(a -> a.cache.invalidate(Invalidation.tag("t")), false);
  }

  @Test
  void prefixPatternAndAllInvalidationsInAnExhaustedBucketReachTheOtherInstances() {
    anotherInstanceDropsItsCopy(a -> a.cache.invalidate(Invalidation.prefix("k")), false);
    cache = uniqueName("exhausted");
    anotherInstanceDropsItsCopy(a -> a.cache.invalidate(Invalidation.pattern("?")), false);
    cache = uniqueName("exhausted");
    anotherInstanceDropsItsCopy(a -> a.cache.invalidate(Invalidation.all()), false);
  }

  @Test
  void aPutInAnExhaustedBucketReturnsRemovesTheOldEntryAndReachesTheOtherInstances() {
    anotherInstanceDropsItsCopy(a -> a.cache.put("k", "v2"), true);
  }

  /** The bus carries the last version: an instance that heard it keeps working in the bucket once it is deleted. */
  @Test
  void anInstanceThatHeardTheLastVersionOnTheBusWorksInTheBucketAfterItIsDeleted() {
    try (Node a = new Node(); Node b = new Node()) {
      AtomicReference<String> database = new AtomicReference<>("v1");
      assertThat(b.read("k", database)).isEqualTo("v1");
      redis.set(meta("clock"), Long.toString(LARGEST - 2));
      a.cache.invalidate(Invalidation.key("x"));
      b.cache.invalidate(Invalidation.key("x")); // b saw the last but one version
      a.cache.invalidate(Invalidation.key("x")); // the last version: b hears it on the bus
      a.cache.invalidate(Invalidation.key("k")); // exhausted, announced with the last version
      // Not read: b must learn of the end from the bus alone.
      await().atMost(Duration.ofSeconds(10)).until(() -> b.cache.estimatedL1Size() == 0);
      operatorDeletesTheBucket();

      b.cache.put("k", "v3");
      b.cache.put("k2", "w");
      b.cache.invalidate(Invalidation.key("x"));
      long clock = Long.parseLong(redis.get(meta("clock")));
      assertThat(clock).as("b took the fresh clock for what it is").isLessThan(LARGEST - 2);
      assertThat(text(join(b.tier.get(cache, "k")))).isEqualTo("v3");
      assertThat(text(join(a.tier.get(cache, "k2")))).isEqualTo("w");
    }
  }

  @Test
  void afterTheOperatorDeletesTheBucketsKeysItWorksAgainAndServesNothingFromBefore() {
    RedisTier tier = session.tier();
    RedisTier reader = session.tier().alwaysMgetFirst();
    join(tier.put(cache, "k", entry("old", "t"), TTL));
    join(reader.get(cache, "k"));
    exhaust();
    join(tier.invalidateTag(cache, "t")); // records nothing: the bucket has no version left to give it
    long exhaustedRead = join(tier.get(cache, "late")).version();
    join(reader.get(cache, "k"));
    operatorDeletesTheBucket();

    assertThat(text(join(reader.get(cache, "k")))).isNull();
    assertThat(join(tier.putIfCurrent(cache, Map.of("late", entry("late")), TTL, exhaustedRead)))
        .as("a load that read in the exhausted bucket")
        .isEmpty();
    join(tier.put(cache, "k", entry("new"), TTL));
    long read = join(tier.get(cache, "c")).version();
    assertThat(join(tier.putIfCurrent(cache, Map.of("c", entry("c")), TTL, read))).containsExactly("c");
    for (RedisTier t : List.of(tier, reader)) {
      assertThat(text(join(t.get(cache, "k")))).isEqualTo("new");
      assertThat(text(join(t.getByScript(cache, "k")))).isEqualTo("new");
      assertThat(text(join(t.get(cache, "c")))).isEqualTo("c");
    }
    assertThat(Long.parseLong(redis.get(meta("clock")))).isLessThan(LARGEST - 1_000_000);
  }

  private static final Pattern WARNING = Pattern.compile("exhausted");

  private static String capturingStdErr(Runnable body) {
    PrintStream original = System.err;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
    try {
      body.run();
    } finally {
      System.err.flush();
      System.setErr(original);
    }
    return captured.toString(StandardCharsets.UTF_8);
  }

  private int warnings(String log) {
    int n = 0;
    for (String line : log.split("\n")) {
      Matcher m = WARNING.matcher(line);
      if (line.contains("WARN") && m.find() && line.contains("'" + cache + "'")) {
        n++;
      }
    }
    return n;
  }

  @Test
  void eachTierWarnsOnceNamingTheCacheAndTheBucketAndNoKeyOrValue() {
    RedisTier first = session.tier();
    RedisTier second = session.tier();
    join(first.put(cache, "secret-key", entry("secret-value"), TTL));
    exhaust();
    String log =
        capturingStdErr(
            () -> {
              for (int i = 0; i < 3; i++) {
                join(first.get(cache, "secret-key"));
                join(first.getByScript(cache, "secret-key"));
                join(first.put(cache, "secret-key", entry("secret-value"), TTL));
                join(first.invalidateKey(cache, "secret-key"));
              }
              join(second.get(cache, "secret-key"));
              join(second.invalidateTag(cache, "t"));
            });
    assertThat(warnings(log)).as("one per tier:%n%s", log).isEqualTo(2);
    assertThat(log)
        .contains("tiercache:{" + cache + "}:m:")
        .doesNotContain("secret-key")
        .doesNotContain("secret-value");
  }
}
