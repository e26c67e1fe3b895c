package dev.tiercache.redis;

import static dev.tiercache.redis.StoreKit.debug;
import static dev.tiercache.redis.StoreKit.entry;
import static dev.tiercache.redis.StoreKit.join;
import static dev.tiercache.redis.StoreKit.uniqueName;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.tiercache.redis.testing.RedisExtension;
import dev.tiercache.spi.L2Entry;
import dev.tiercache.spi.L2Read;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.codec.ByteArrayCodec;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Review of the MGET read path (format 2): a read settled by the plain {@code MGET} must answer exactly what the read
 * script answers for the same state (hit with the same value, miss, or unreadable; the same read version), whatever
 * happened to the bucket before.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class RedisMgetReadDifferentialTest {

  @RegisterExtension static final RedisExtension REDIS = RedisExtension.standalone();

  private static final Duration TTL = Duration.ofMinutes(5);

  private static TierSession session;
  private static RedisCommands<String, String> redis;
  private static StatefulRedisConnection<byte[], byte[]> raw;

  private String cache;

  @BeforeAll
  static void connect() {
    session = new TierSession(REDIS.uri());
    redis = session.redis;
    raw = session.client.connect(ByteArrayCodec.INSTANCE);
  }

  @AfterAll
  static void disconnect() {
    raw.close();
    session.close();
  }

  @BeforeEach
  void name() {
    cache = uniqueName("mget");
  }

  private String meta(String name) {
    return StoreKit.meta(cache, name);
  }

  private String entryKey(String key) {
    return "tiercache:{" + cache + "}:k:" + key;
  }

  private static long serverMicros() {
    List<String> time = redis.time();
    return Long.parseLong(time.get(0)) * 1_000_000 + Long.parseLong(time.get(1));
  }

  /**
   * A bucket whose clock ran ahead of the server's time (its node changed to one whose time is behind) and was then
   * lost: the clock re-seeds from the server's time, below the tag epoch still recorded. The next tag invalidation
   * must not set {@code gmax} below that epoch, or the MGET serves the entries it covers.
   */
  @Test
  void anInvalidationAfterTheClockWasLostDoesNotLowerGmaxBelowAnEpochStillRecorded() {
    RedisTier first = session.tier().alwaysMgetFirst();
    redis.set(meta("clock"), Long.toString(serverMicros() + 60_000_000));
    join(first.put(cache, "k", entry("old", "a"), TTL));
    join(first.invalidateTag(cache, "a"));
    assertThat(join(first.get(cache, "k")).isHit()).as("covered by the tag's epoch").isFalse();
    redis.set(meta("clock"), "lost");

    RedisTier second = session.tier().alwaysMgetFirst();
    join(second.invalidateTag(cache, "b"));

    assertThat(join(second.getByScript(cache, "k")).isHit()).as("the script: the tag's epoch covers it").isFalse();
    assertThat(join(second.get(cache, "k")).isHit()).as("the MGET path").isFalse();
    assertThat(join(second.getAll(cache, List.of("k"))).get("k").isHit()).as("getAll").isFalse();
  }

  /**
   * An entry whose codec id is not UTF-8 (which Lua does not check) but which is below the floor: the script answers
   * a miss, so must the MGET (not an undecodable entry, which the cache counts as a decode error).
   */
  @Test
  void anEntryBelowTheFloorWithANonUtf8CodecIdIsAMissOnBothPaths() {
    RedisTier tier = session.tier().alwaysMgetFirst();
    join(tier.put(cache, "seed", entry("x"), TTL));
    join(tier.invalidateTag(cache, "t"));
    raw.sync().set(bytes(entryKey("k")), planted(1, new byte[] {(byte) 0xff}, new byte[0], bytes("x")));

    L2Read byScript = join(tier.getByScript(cache, "k"));
    L2Read byMget = join(tier.get(cache, "k"));

    assertThat(byScript.entry()).as("the script: below the floor").isNull();
    assertThat(byMget.entry()).as("the MGET path").isNull();
  }

  /** The same with a tag that is not UTF-8 and whose epoch is newer than the entry. */
  @Test
  void anEntryCoveredByATagEpochWithANonUtf8TagIsAMissOnBothPaths() {
    RedisTier tier = session.tier().alwaysMgetFirst();
    join(tier.put(cache, "seed", entry("x"), TTL));
    byte[] tag = {(byte) 0xff};
    long version = join(tier.get(cache, "seed")).version();
    raw.sync()
        .set(bytes(entryKey("k")), planted(version + 1, bytes("c"), concat(bytes("1:"), tag), bytes("x")));
    // The tag's epoch, as an invalidation of it would record it (the API refuses such a tag).
    raw.sync().hset(bytes(meta("g")), concat(bytes("t:"), tag), bytes(Long.toString(version + 2)));
    raw.sync().zadd(bytes(meta("gx")), version + 2, concat(bytes("t:"), tag));
    join(tier.invalidateTag(cache, "other"));
    // An entry written after the tag invalidation, so the MGET path settles it.
    raw.sync()
        .set(bytes(entryKey("late")),
            planted(Long.parseLong(redis.get(meta("gmax"))) + 1, bytes("c"), concat(bytes("1:"), tag), bytes("x")));

    assertThat(join(tier.getByScript(cache, "k")).entry()).as("the script: covered").isNull();
    assertThat(join(tier.get(cache, "k")).entry()).as("the MGET path").isNull();
    assertThat(join(tier.get(cache, "late")).entry().codecId())
        .as("not covered: unreadable either way")
        .isEqualTo(join(tier.getByScript(cache, "late")).entry().codecId())
        .isEqualTo(EntryFormat.UNREADABLE);
  }

  /**
   * Reads write nothing a read needs: under {@code maxmemory} with {@code noeviction}, Redis refuses a script's first
   * write, and the read script seeds gmax (and a missing floor) as an optimisation only. An entry written before any
   * read of its bucket (no gmax yet) must still be served, as it was before the MGET path.
   */
  @Test
  void aBucketWithoutGmaxIsStillReadWhileRedisIsOutOfMemory() {
    RedisTier tier = session.tier().alwaysMgetFirst();
    join(tier.put(cache, "k", entry("v"), TTL));
    join(tier.put(cache, "j", entry("w"), TTL));
    assertThat(redis.exists(meta("gmax"))).as("no read yet").isZero();
    String policy = redis.configGet("maxmemory-policy").get("maxmemory-policy");
    redis.configSet("maxmemory-policy", "noeviction");
    redis.configSet("maxmemory", "1");
    try {
      assertThat(join(tier.get(cache, "k")).isHit()).isTrue();
      assertThat(join(tier.getAll(cache, List.of("k", "j"))).values()).allMatch(L2Read::isHit);
    } finally {
      redis.configSet("maxmemory", "0");
      redis.configSet("maxmemory-policy", policy);
    }
    // Seeded by the next read once Redis has room.
    assertThat(join(tier.get(cache, "k")).isHit()).isTrue();
    assertThat(redis.exists(meta("gmax"))).isOne();
  }

  /**
   * getAll over many buckets, some settled by their MGET, some by the script (entries older than gmax, a bucket
   * without gmax, one whose clock is corrupt, one whose floor is another type), with keys repeated: each key reads as
   * the script alone reads it, in the order asked.
   */
  @Test
  void getAllOverBucketsSettledBothWaysAnswersPerKeyWhatTheScriptAnswers() {
    int buckets = 8;
    KeySpace space = new KeySpace(RedisTierOptions.DEFAULT_NAMESPACE, buckets);
    RedisTier writer =
        session.tier(c -> RedisTier.create(c, RedisTierOptions.builder().buckets(buckets).build()).alwaysMgetFirst());
    List<String> keys = new ArrayList<>();
    for (int i = 0; i < 40; i++) {
      keys.add("k" + i);
      join(writer.put(cache, "k" + i, entry("v" + i, i % 2 == 0 ? "even" : "odd"), TTL));
    }
    join(writer.invalidateTag(cache, "even"));
    for (int i = 0; i < 40; i += 3) {
      join(writer.put(cache, "k" + i, entry("w" + i, "even"), TTL));
    }
    redis.del(space.metaPrefix(cache, 1) + "gmax");
    redis.set(space.clock(cache, 2), "corrupt");
    redis.del(space.metaPrefix(cache, 3) + "floor");
    redis.hset(space.metaPrefix(cache, 3) + "floor", "f", "1");
    List<String> asked = new ArrayList<>(keys);
    asked.addAll(List.of("k5", "k0", "missing", "k5"));
    java.util.Collections.reverse(asked);

    RedisTier reader =
        session.tier(c -> RedisTier.create(c, RedisTierOptions.builder().buckets(buckets).build()).alwaysMgetFirst());
    Map<String, L2Read> all = join(reader.getAll(cache, asked));

    assertThat(all.keySet()).containsExactlyElementsOf(new java.util.LinkedHashSet<>(asked));
    for (String key : all.keySet()) {
      assertThat(describe(all.get(key))).as(key).isEqualTo(describe(join(reader.getByScript(cache, key))));
      assertThat(describe(join(reader.get(cache, key)))).as(key).isEqualTo(describe(all.get(key)));
    }
    // Odd keys and rewritten even keys, but for buckets 2 and 3, whose repairs raised their floors to the server's
    // time.
    List<String> hits = new ArrayList<>();
    for (int i = 0; i < 40; i++) {
      int bucket = space.bucketOf("k" + i);
      if ((i % 2 == 1 || i % 3 == 0) && bucket != 2 && bucket != 3) {
        hits.add("k" + i);
      }
    }
    assertThat(all.entrySet().stream().filter(e -> e.getValue().isHit()).map(Map.Entry::getKey))
        .containsExactlyInAnyOrderElementsOf(hits);
  }

  /**
   * Load-then-put against a tag invalidation on another instance, many times over: a read settled by the MGET hands
   * back the clock it read with the entry, so a load whose read saw the entry before the invalidation either lands
   * before it (and the invalidation covers what it wrote) or is refused. The old value never survives.
   */
  @Test
  void aLoadWhoseMgetReadRacedATagInvalidationNeverLeavesItsValueBehind() throws Exception {
    RedisTier writer = session.tier().alwaysMgetFirst();
    RedisTier loader = session.tier().alwaysMgetFirst();
    RedisTier invalidator = session.tier().alwaysMgetFirst();
    java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(2);
    try {
      int racedBeforeTheInvalidation = 0;
      for (int n = 0; n < 150; n++) {
        join(writer.put(cache, "k", entry("v" + n, "t"), TTL));
        String value = "v" + n;
        java.util.concurrent.CountDownLatch go = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.Future<L2Read> load = pool.submit(() -> {
          go.await();
          L2Read read = join(loader.get(cache, "k"));
          join(loader.putIfCurrent(cache, Map.of("k", entry("stale" + value, "t")), TTL, read.version()));
          return read;
        });
        java.util.concurrent.Future<?> invalidation = pool.submit(() -> {
          go.await();
          return join(invalidator.invalidateTag(cache, "t"));
        });
        go.countDown();
        L2Read read = load.get(10, TimeUnit.SECONDS);
        invalidation.get(10, TimeUnit.SECONDS);

        L2Read after = join(loader.get(cache, "k"));
        boolean sawTheOldValue =
            read.isHit() && new String(read.entry().value(), StandardCharsets.UTF_8).equals(value);
        if (sawTheOldValue) {
          racedBeforeTheInvalidation++;
          assertThat(after.isHit()).as("iteration " + n + ": the load read the value the invalidation covers")
              .isFalse();
        }
      }
      assertThat(racedBeforeTheInvalidation).as("reads that saw the value before the invalidation").isPositive();
    } finally {
      pool.shutdownNow();
    }
  }

  /**
   * Upgrade: a Redis still holding entries of layout 1 (hashes, one with a version far ahead of every read, one a
   * tombstone of the layout before). They read as misses on both paths, a load's conditional write replaces them,
   * and a pattern's sweep removes them.
   */
  @Test
  void entriesOfTheFormerLayoutReadAsMissesAndAreReplacedAndSwept() {
    RedisTier tier = session.tier().alwaysMgetFirst();
    join(tier.put(cache, "seed", entry("x"), TTL));
    join(tier.invalidateTag(cache, "t"));
    redis.hset(entryKey("old1"), Map.of("fv", "1", "v", "9999999999999999", "c", "c", "f", "", "d", "x", "tg", ""));
    redis.hset(entryKey("old2"), Map.of("fv", "1", "v", "1", "c", "c", "f", "x", "d", "", "tg", ""));
    redis.hset(entryKey("swept"), Map.of("fv", "1", "v", "1", "c", "c", "f", "", "d", "x", "tg", ""));

    for (String key : List.of("old1", "old2")) {
      L2Read read = join(tier.get(cache, key));
      assertThat(read.isHit()).as(key).isFalse();
      assertThat(read.entry()).as(key + ": a miss, not a decode error").isNull();
      assertThat(describe(join(tier.getByScript(cache, key)))).as(key).isEqualTo(describe(read));
      assertThat(join(tier.putIfCurrent(cache, Map.of(key, entry("new")), TTL, read.version())))
          .as(key + ": the load's write-back").containsExactly(key);
      assertThat(new String(join(tier.get(cache, key)).entry().value(), StandardCharsets.UTF_8)).isEqualTo("new");
    }
    join(tier.invalidatePattern(cache, "swe*"));
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(50))
        .until(() -> redis.exists(entryKey("swept")) == 0);
  }

  /**
   * Random histories of writes, invalidations of every kind, clocks ahead of or behind the server's time, lost and
   * corrupt clocks, floors and gmax, planted entries, snapshots restored and fresh instances: after every step, each
   * key reads the same by the MGET path, by getAll and by the script alone.
   */
  @Test
  void theMgetPathAnswersWhatTheScriptAnswersAfterRandomHistories() {
    for (int seed = 1; seed <= 12; seed++) {
      cache = uniqueName("mget-diff");
      runHistory(new Random(seed), seed);
    }
  }

  /**
   * A bucket whose clock runs up to the last version after a random history: both paths answer alike on the way, and
   * once it is exhausted every key misses on both, at the last version, whatever the bucket held (a floor or gmax
   * broken on top included).
   */
  @Test
  void bothPathsAnswerAlikeAsTheClockRunsOutAndBothMissOnceItHas() {
    for (int seed = 1; seed <= 3; seed++) {
      cache = uniqueName("mget-end");
      Random random = new Random(seed);
      runHistory(random, seed);
      redis.set(meta("clock"), Long.toString(SeenVersions.MAX_VERSION - 3));
      RedisTier writer = session.tier().alwaysMgetFirst();
      RedisTier reader = session.tier().alwaysMgetFirst();
      List<String> steps = new ArrayList<>(List.of("clock at the end - 3"));
      for (int step = 0; step < 8; step++) {
        String key = KEYS.get(random.nextInt(KEYS.size()));
        switch (step % 4) {
          case 0 -> join(writer.put(cache, key, entry("e" + step, "t1"), TTL));
          case 1 -> join(writer.putIfCurrent(
              cache, Map.of(key, entry("c" + step)), TTL, join(writer.get(cache, key)).version()));
          case 2 -> join(writer.invalidateTag(cache, "t2"));
          default -> corrupt(random, random.nextBoolean() ? "floor" : "gmax");
        }
        steps.add(step + ":" + key);
        compare(reader, seed, steps);
      }
      assertThat(redis.get(meta("clock"))).isEqualTo(Long.toString(SeenVersions.MAX_VERSION));
      for (String key : KEYS) {
        assertThat(describe(join(reader.get(cache, key)))).isEqualTo("miss @" + SeenVersions.MAX_VERSION);
      }
    }
  }

  private static final List<String> KEYS = List.of("a1", "a2", "b1", "b22", "x1", "y");
  private static final List<String> TAGS = List.of("t1", "t2", "t3");

  private void runHistory(Random random, int seed) {
    RedisTier writer = session.tier().alwaysMgetFirst();
    RedisTier reader = session.tier().alwaysMgetFirst();
    List<Long> reads = new ArrayList<>(List.of(0L));
    List<String> steps = new ArrayList<>();
    boolean saved = false;
    for (int step = 0; step < 120; step++) {
      String key = KEYS.get(random.nextInt(KEYS.size()));
      String tag = TAGS.get(random.nextInt(TAGS.size()));
      int op = random.nextInt(22);
      steps.add(op + ":" + key + ":" + tag);
      switch (op) {
        case 0, 1, 2 -> join(writer.put(cache, key, entry("v" + step, tag), TTL));
        case 3, 4 -> join(writer.putIfCurrent(
            cache, Map.of(key, entry("c" + step, tag)), TTL, reads.get(random.nextInt(reads.size()))));
        case 5 -> join(writer.invalidateKey(cache, key));
        case 6, 7 -> join(writer.invalidateTag(cache, tag));
        case 8 -> join(writer.invalidatePrefix(cache, key.substring(0, 1)));
        case 9 -> {
          // The sweep that follows in the background unlinks what the pattern covers, unreadable entries too: let it
          // finish, or it changes the state between the two reads a comparison makes.
          RedisTier sweeping = writer;
          String glob = key.charAt(0) + "*";
          join(sweeping.invalidatePattern(cache, glob));
          await().atMost(Duration.ofSeconds(10)).until(() -> !sweeping.isSweeping(cache, glob));
        }
        case 10 -> join(writer.invalidateAll(cache));
        case 11 -> redis.set(meta("clock"), Long.toString(serverMicros() + random.nextInt(20_000_000)));
        case 12 -> redis.set(meta("clock"), Long.toString(serverMicros() - random.nextInt(20_000_000)));
        case 13 -> corrupt(random, "clock");
        case 14 -> corrupt(random, "floor");
        case 15 -> corrupt(random, "gmax");
        case 16 -> plant(random, key);
        case 17 -> writer = session.tier().alwaysMgetFirst();
        case 18 -> reader = session.tier().alwaysMgetFirst();
        case 19 -> {
          redis.save();
          saved = true;
        }
        case 20 -> {
          if (saved) {
            debug(redis, "RELOAD", "NOSAVE");
          }
        }
        default -> reads.add(join(writer.get(cache, key)).version());
      }
      compare(reader, seed, steps);
    }
  }

  /**
   * Deletes a meta key, or overwrites it with garbage, a hash, or (clock and floor only, which the script trusts as
   * much as the MGET) a well-formed "0". A well-formed but wrong gmax is not tried: the MGET trusts it, the script does
   * not read it, as the script trusts a wrong floor.
   */
  private void corrupt(Random random, String name) {
    switch (random.nextInt(name.equals("gmax") ? 3 : 4)) {
      case 0 -> redis.del(meta(name));
      case 1 -> redis.set(meta(name), "garbage");
      case 2 -> {
        redis.del(meta(name));
        redis.hset(meta(name), "f", "1");
      }
      default -> redis.set(meta(name), "0");
    }
  }

  private void plant(Random random, String key) {
    String current = redis.get(meta("clock"));
    long clock = current != null && current.matches("[0-9]{1,16}") ? Long.parseLong(current) : serverMicros();
    long version = clock + random.nextInt(2_000_000) - 1_000_000;
    byte[] codec = random.nextBoolean() ? bytes("c") : new byte[] {(byte) 0xc3};
    byte[] tags = random.nextBoolean() ? bytes("2:t1") : concat(bytes("1:"), new byte[] {(byte) 0xff});
    switch (random.nextInt(4)) {
      case 0 -> raw.sync().set(bytes(entryKey(key)), planted(version, codec, tags, bytes("p")));
      case 1 -> {
        redis.del(entryKey(key));
        redis.hset(entryKey(key), Map.of("fv", "1", "v", Long.toString(version), "c", "c", "f", "", "d", "x"));
      }
      case 2 -> redis.set(entryKey(key), "not an entry");
      default -> raw.sync().set(bytes(entryKey(key)), planted(version, bytes("c"), bytes("2:t2"), bytes("p")));
    }
  }

  /**
   * Per key, the MGET path then the script alone, then getAll against the script again. First one script read of the
   * bucket, which repairs what it finds broken: a script can answer with another clock than the one before it (a
   * clock it re-seeded below what this tier saw is a rollback to the next script). The MGET settles nothing in a
   * state a script would repair (it needs the clock, the floor and gmax well-formed and the clock not behind), so
   * this hides no difference.
   */
  private void compare(RedisTier reader, int seed, List<String> steps) {
    join(reader.getByScript(cache, "settle"));
    for (String key : KEYS) {
      L2Read byMget = join(reader.get(cache, key));
      L2Read byScript = join(reader.getByScript(cache, key));
      assertThat(describe(byMget)).as("get, " + context(seed, key, steps)).isEqualTo(describe(byScript));
    }
    Map<String, L2Read> all = join(reader.getAll(cache, KEYS));
    for (String key : KEYS) {
      assertThat(describe(all.get(key)))
          .as("getAll, " + context(seed, key, steps))
          .isEqualTo(describe(join(reader.getByScript(cache, key))));
    }
  }

  private static String context(int seed, String key, List<String> steps) {
    return "seed " + seed + ", key " + key + ", after " + steps;
  }

  private static String describe(L2Read read) {
    L2Entry entry = read.entry();
    String what =
        entry == null
            ? "miss"
            : entry.codecId().equals(EntryFormat.UNREADABLE)
                ? "unreadable"
                : "hit " + entry.codecId() + " " + entry.tags() + " "
                    + (entry.isAbsent() ? "absent" : Arrays.toString(entry.value()));
    return what + " @" + read.version();
  }

  private static byte[] planted(long version, byte[] codec, byte[] tags, byte[] value) {
    byte[] header =
        bytes(Scripts.FORMAT + String.format("%016d", version) + "v" + String.format("%03d", codec.length)
            + String.format("%07d", tags.length));
    return concat(concat(concat(header, codec), tags), value);
  }

  private static byte[] bytes(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] both = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, both, a.length, b.length);
    return both;
  }

  /**
   * The MGET path parses an entry up to {@link BucketReply#COPIED} bytes long from a copy on the heap that one reply
   * reuses, and a longer one where it is: entries just below, at and past the bound, in one reply and in an order
   * that grows the copy and then uses it for shorter ones, answer what they hold, as the script does.
   */
  @Test
  void entriesAroundTheCopyBoundInOneReplyReadWhatTheyHold() {
    RedisTier tier = session.tier().alwaysMgetFirst();
    // Stored length: the header, the codec id "c" and the tag field "2:t1", then the value.
    int overhead = EntryFormat.HEADER + 1 + 4;
    int[] storedLengths = {
      overhead + 5, BucketReply.COPIED - 1, overhead + 7, BucketReply.COPIED, BucketReply.COPIED + 1, 300,
      3 * BucketReply.COPIED, overhead + 1, 2_000
    };
    String[] keys = new String[storedLengths.length];
    Random random = new Random(7);
    for (int i = 0; i < keys.length; i++) {
      keys[i] = "size-" + i;
      char[] text = new char[storedLengths[i] - overhead];
      for (int c = 0; c < text.length; c++) {
        text[c] = (char) ('a' + random.nextInt(26));
      }
      join(tier.put(cache, keys[i], entry(new String(text), "t1"), TTL));
      byte[] stored = raw.sync().get(bytes(entryKey(keys[i])));
      assertThat(stored).as("the planted length").hasSize(storedLengths[i]);
    }
    L2Read[] reads = join(tier.getAll(cache, keys));
    for (int i = 0; i < keys.length; i++) {
      L2Read byScript = join(tier.getByScript(cache, keys[i]));
      assertThat(reads[i].entry()).as(keys[i]).isNotNull();
      assertThat(reads[i].entry().value()).as(keys[i]).isEqualTo(byScript.entry().value());
      assertThat(reads[i].entry().tags()).as(keys[i]).isEqualTo(byScript.entry().tags());
      assertThat(reads[i].entry().codecId()).isEqualTo("c");
    }
  }

  /**
   * Review 13 of 53a1643. {@link #entriesAroundTheCopyBoundInOneReplyReadWhatTheyHold} reads a bucket with no
   * {@code gmax} and no floor yet, so its MGET settles nothing and every entry is read by the script: the heap copy is
   * never parsed there. Here the bucket is seeded first, the reply must settle every entry itself (no script runs),
   * and one reply carries many entries of random sizes around {@link BucketReply#COPIED}, each with its own tag and
   * value, in an order that grows the copy and reuses it, plus malformed ones (empty, a truncated header, tags that are
   * not UTF-8 at and past the bound): each reads what it holds, and malformed ones as the script reads them.
   */
  @Test
  void manyEntriesAroundTheCopyBoundSettledByTheMgetItselfReadWhatTheyHold() {
    RedisTier tier = session.tier().alwaysMgetFirst();
    // A first read by the script seeds gmax and the floor (no invalidation: nothing runs scripts in the background).
    join(tier.getByScript(cache, "seed-read"));
    assertThat(redis.exists(meta("gmax"))).as("gmax seeded").isOne();
    assertThat(redis.exists(meta("floor"))).as("floor seeded").isOne();

    Random random = new Random(13);
    List<String> keys = new ArrayList<>();
    Map<String, String> values = new java.util.HashMap<>();
    Map<String, String> tagOf = new java.util.HashMap<>();
    int[] fixed = {
      BucketReply.COPIED, 40, BucketReply.COPIED - 1, BucketReply.COPIED + 1, 29 + 8, 2 * BucketReply.COPIED, 100,
      BucketReply.COPIED, 3_000, 64
    };
    for (int i = 0; i < 60; i++) {
      String key = "e" + i;
      String tag = "tag-" + i + "-" + "x".repeat(random.nextInt(40));
      int tagField = EntryFormat.encodeTags(dev.tiercache.Tags.of(tag)).length;
      int overhead = EntryFormat.HEADER + 1 + tagField;
      int stored = i < fixed.length ? fixed[i] : 28 + random.nextInt(BucketReply.COPIED + 300);
      int valueLength = Math.max(0, stored - overhead);
      char[] text = new char[valueLength];
      for (int c = 0; c < text.length; c++) {
        text[c] = (char) ('a' + random.nextInt(26));
      }
      String value = new String(text);
      join(tier.put(cache, key, entry(value, tag), TTL));
      if (i < fixed.length && stored >= overhead) {
        assertThat(raw.sync().get(bytes(entryKey(key)))).as("the planted length of " + key).hasSize(stored);
      }
      keys.add(key);
      values.put(key, value);
      tagOf.put(key, tag);
    }
    long above = Long.parseLong(redis.get(meta("gmax"))) + 1;
    byte[] notUtf8 = concat(bytes("1:"), new byte[] {(byte) 0xff});
    int plantedOverhead = EntryFormat.HEADER + 1 + notUtf8.length;
    raw.sync().set(bytes(entryKey("bad-4096")),
        planted(above, bytes("c"), notUtf8, bytes("y".repeat(BucketReply.COPIED - plantedOverhead))));
    raw.sync().set(bytes(entryKey("bad-4097")),
        planted(above, bytes("c"), notUtf8, bytes("y".repeat(BucketReply.COPIED + 1 - plantedOverhead))));
    raw.sync().set(bytes(entryKey("empty")), new byte[0]);
    raw.sync().set(bytes(entryKey("truncated")),
        Arrays.copyOf(planted(above, bytes("c"), new byte[0], bytes("z")), EntryFormat.HEADER - 1));
    List<String> weird = List.of("bad-4096", "bad-4097", "empty", "truncated");
    // Interleaved: weird ones between good ones, big ones before small ones.
    List<String> asked = new ArrayList<>();
    for (int i = 0; i < keys.size(); i++) {
      asked.add(keys.get(i));
      if (i % 15 == 7) {
        asked.add(weird.get((i / 15) % weird.size()));
      }
    }
    asked.addAll(weird);
    asked.add("missing");

    long scriptsBefore = calls("evalsha") + calls("eval");
    L2Read[] reads = join(tier.getAll(cache, asked.toArray(String[]::new)));
    assertThat(calls("evalsha") + calls("eval")).as("the MGET settled every entry itself").isEqualTo(scriptsBefore);

    for (int i = 0; i < asked.size(); i++) {
      String key = asked.get(i);
      if (values.containsKey(key)) {
        assertThat(reads[i].entry()).as(key).isNotNull();
        assertThat(reads[i].entry().codecId()).as(key).isEqualTo("c");
        assertThat(new String(reads[i].entry().value(), StandardCharsets.UTF_8)).as(key).isEqualTo(values.get(key));
        assertThat(reads[i].entry().tags()).as(key).isEqualTo(dev.tiercache.Tags.of(tagOf.get(key)));
      } else if (key.equals("missing")) {
        assertThat(reads[i].isHit()).as(key).isFalse();
      } else {
        L2Read byScript = join(tier.getByScript(cache, key));
        assertThat(reads[i].entry()).as(key).isNotNull();
        assertThat(reads[i].entry().codecId()).as(key).isEqualTo(byScript.entry().codecId())
            .isEqualTo(EntryFormat.UNREADABLE);
      }
    }
  }

  private static long calls(String command) {
    for (String line : redis.info("commandstats").split("\r?\n")) {
      if (line.startsWith("cmdstat_" + command + ":")) {
        String calls = line.substring(line.indexOf("calls=") + 6);
        return Long.parseLong(calls.substring(0, calls.indexOf(',')));
      }
    }
    return 0;
  }
}
