package dev.tiercache.redis;

import static dev.tiercache.redis.StoreKit.entry;
import static dev.tiercache.redis.StoreKit.join;
import static dev.tiercache.redis.StoreKit.uniqueName;
import static org.assertj.core.api.Assertions.assertThat;

import dev.tiercache.redis.testing.RedisExtension;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.api.sync.RedisCommands;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
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
 * The lean WRITE against the general WRITE (the same script with its fast path replaced by {@code return general()})
 * on the same state, restored from a DUMP before each: a conditional write must be accepted or refused alike, and
 * leave the same repairs behind.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class RedisLeanGeneralDifferentialTest {

  @RegisterExtension static final RedisExtension REDIS = RedisExtension.standalone();

  private static final Duration TTL = Duration.ofMinutes(5);
  private static final String FAST_START = "local M, HORIZON = ARGV[1], tonumber(ARGV[2])";

  private static TierSession session;
  private static RedisTier tier;
  private static RedisCommands<String, String> redis;
  private static String generalWrite;
  private static String generalInvalidate;

  private String cache;

  @BeforeAll
  static void connect() {
    session = new TierSession(REDIS.uri());
    tier = session.tier();
    redis = session.redis;
    String lean = Scripts.WRITE.body;
    int at = lean.indexOf(FAST_START);
    assertThat(at).isPositive();
    assertThat(lean.indexOf(FAST_START, at + 1)).isNegative();
    generalWrite = lean.substring(0, at) + "return general()\n";
    String leanInvalidate = Scripts.INVALIDATE.body;
    generalInvalidate = leanInvalidate.substring(0, leanInvalidate.indexOf(FAST_START)) + "return general()\n";
  }

  @AfterAll
  static void disconnect() {
    session.close();
  }

  @BeforeEach
  void name() {
    cache = uniqueName("lgd");
  }

  private String meta(String name) {
    return StoreKit.meta(cache, name);
  }

  private long read(String key) {
    return join(tier.get(cache, key)).version();
  }

  private Map<String, byte[]> snapshot() {
    return StoreKit.snapshot(redis, cache);
  }

  /** The snapshot copied into another cache's keys (no value holds a cache's name). */
  private void restore(Map<String, byte[]> snap, String into) {
    StoreKit.restore(redis, snap, cache, into);
  }

  /** What a conditional write did: written or not, and the floors, types and entry it left. */
  private record Outcome(boolean written, String entryBody, String floorType, String patType, boolean floorRaised) {}

  private Outcome conditional(
      String script, String on, String key, String text, long readVersion, long floorBefore) {
    String m = "tiercache:{" + on + "}:m:";
    String e = "tiercache:{" + on + "}:k:";
    byte[] body = EntryFormat.body(entry(text));
    List<Object> reply =
        redis.eval(
            script,
            ScriptOutputType.MULTI,
            new String[] {m + "clock", e + key},
            m,
            new String(TierWrites.horizonMicros(RedisTierOptions.create()), StandardCharsets.UTF_8),
            Integer.toString(Limits.DEFAULT.tombstones()),
            e,
            Long.toString(TTL.toMillis()),
            "0",
            "",
            "",
            Long.toString(readVersion),
            new String(body, StandardCharsets.ISO_8859_1),
            "0",
            "0");
    String stored = "string".equals(redis.type(e + key)) ? redis.get(e + key) : redis.type(e + key);
    String floor = "string".equals(redis.type(m + "floor")) ? redis.get(m + "floor") : null;
    long f = floor != null && floor.matches("[0-9]{1,16}") ? Long.parseLong(floor) : 0;
    return new Outcome(
        reply.size() > 2,
        stored == null || stored.length() < 17 ? stored : stored.substring(17),
        redis.type(m + "floor"),
        redis.type(m + "pat"),
        f > floorBefore);
  }

  /** What a key invalidation did. */
  private record Invalidated(
      boolean entryGone, boolean tombstoned, String tsType, int tombstones, String wfloorType, boolean published) {}

  private Invalidated invalidate(String script, String on, String key, int cap) {
    String m = "tiercache:{" + on + "}:m:";
    String e = "tiercache:{" + on + "}:k:";
    long v =
        redis.eval(
            script,
            ScriptOutputType.INTEGER,
            new String[] {m + "clock", e + key},
            m,
            new String(TierWrites.horizonMicros(RedisTierOptions.create()), StandardCharsets.UTF_8),
            Integer.toString(cap),
            "10000",
            "64",
            "64",
            "",
            "",
            Long.toString(TTL.toMillis()),
            "k",
            "2",
            "0");
    boolean zset = "zset".equals(redis.type(m + "ts"));
    Double score = zset ? redis.zscore(m + "ts", key) : null;
    return new Invalidated(
        redis.exists(e + key) == 0,
        score != null && score.longValue() == v,
        redis.type(m + "ts"),
        zset ? redis.zcard(m + "ts").intValue() : -1,
        redis.type(m + "wfloor"),
        v > 0);
  }

  private void assertSameInvalidation(String key, int cap) {
    Map<String, byte[]> snap = snapshot();
    restore(snap, cache + "-lean");
    Invalidated lean = invalidate(Scripts.INVALIDATE.body, cache + "-lean", key, cap);
    restore(snap, cache + "-general");
    Invalidated general = invalidate(generalInvalidate, cache + "-general", key, cap);
    assertThat(lean).as("lean vs general invalidation of %s, cap %d", key, cap).isEqualTo(general);
  }

  @Test
  void aKeyInvalidationByATierWithASmallerTombstoneCapIsJudgedAlike() {
    for (String k : new String[] {"a", "b", "c", "d", "e"}) {
      join(tier.invalidateKey(cache, k));
    }
    // A tier whose cap is 3 (another instance's settings, or a rolling change of them) invalidates a key that
    // already has a tombstone.
    assertSameInvalidation("a", 3);
    assertThat(redis.zcard("tiercache:{" + cache + "-lean}:m:ts")).as("a tombstone that moved trims nothing").isEqualTo(5);
  }

  @Test
  void aNewTombstonePastASmallerCapIsJudgedAlike() {
    for (String k : new String[] {"a", "b", "c", "d", "e"}) {
      join(tier.invalidateKey(cache, k));
    }
    // The lean path adds the key's first tombstone, finds the set past the cap, takes it back and hands over.
    assertSameInvalidation("f", 3);
    String lean = "tiercache:{" + cache + "-lean}:m:";
    assertThat(redis.zrange(lean + "ts", 0, -1)).containsExactly("d", "e", "f");
    assertThat(redis.get(lean + "wfloor")).as("raised to the newest tombstone dropped").matches("[0-9]{16}");
  }

  @Test
  void aNewTombstoneThatTrimsExpiredOnesRaisesTheWriteFloorAlike() {
    join(tier.invalidateKey(cache, "live"));
    // Two tombstones past the 5 min horizon: another tier, whose horizon is longer, may still need them.
    long old = serverMicros() - Duration.ofMinutes(10).toNanos() / 1_000;
    redis.zadd(meta("ts"), old, "x");
    redis.zadd(meta("ts"), old + 5, "y");
    Map<String, byte[]> snap = snapshot();
    for (String on : new String[] {cache + "-lean", cache + "-general"}) {
      restore(snap, on);
      invalidate(on.endsWith("-lean") ? Scripts.INVALIDATE.body : generalInvalidate, on, "new", 20_000);
      String m = "tiercache:{" + on + "}:m:";
      assertThat(redis.zrange(m + "ts", 0, -1)).as(on).containsExactly("live", "new");
      assertThat(redis.get(m + "wfloor")).as("%s: raised to the newest tombstone trimmed by age", on)
          .isEqualTo(Long.toString(old + 5));
    }
    // A write floor of another kind: the lean path hands over, and general() repairs it as it would alone.
    redis.set(meta("wfloor"), "not a version");
    assertSameInvalidation("newer", 20_000);
  }

  /** An unconditional write of one key with a tombstone cap, on {@code on}'s keys. */
  private void forceWrite(String script, String on, String key, int cap) {
    String m = "tiercache:{" + on + "}:m:";
    String e = "tiercache:{" + on + "}:k:";
    redis.eval(
        script,
        ScriptOutputType.MULTI,
        new String[] {m + "clock", e + key},
        m,
        new String(TierWrites.horizonMicros(RedisTierOptions.create()), StandardCharsets.UTF_8),
        Integer.toString(cap),
        e,
        Long.toString(TTL.toMillis()),
        "1",
        "",
        "",
        "0",
        new String(EntryFormat.body(entry("f")), StandardCharsets.ISO_8859_1),
        "0",
        "0");
  }

  /** The tombstones and write floor a script left, a repaired write floor (at or after {@code since}) as "now". */
  private List<String> tombstoneState(String on, long since) {
    String m = "tiercache:{" + on + "}:m:";
    List<String> out = new ArrayList<>();
    out.add(redis.type(m + "ts"));
    if ("zset".equals(redis.type(m + "ts"))) {
      out.addAll(redis.zrange(m + "ts", 0, -1));
    }
    String wt = redis.type(m + "wfloor");
    String w = "string".equals(wt) ? redis.get(m + "wfloor") : wt;
    if (w != null && w.matches("[0-9]{1,16}") && Long.parseLong(w) >= since) {
      w = "now";
    }
    out.add("wfloor=" + w);
    return out;
  }

  /**
   * Review of f75f5e2: tombstone sets with expired and live tombstones, of any size against a small cap, write floors
   * missing, old, corrupt or of another type, a key that has a tombstone or not: the lean key invalidation and the
   * lean unconditional write leave the same tombstones and write floor as the general script.
   */
  @Test
  void randomTombstoneSetsAreTrimmedAlike() {
    Random random = new Random(7);
    for (int round = 0; round < 120; round++) {
      cache = uniqueName("lgd-ts");
      long now = serverMicros();
      int n = random.nextInt(9);
      for (int i = 0; i < n; i++) {
        long age = random.nextBoolean()
            ? Duration.ofMinutes(5).toNanos() / 1_000 + 1 + random.nextInt(60_000_000)
            : random.nextInt(60_000_000);
        redis.zadd(meta("ts"), now - age, "t" + i);
      }
      join(tier.invalidateKey(cache, "live"));
      switch (random.nextInt(5)) {
        case 0 -> redis.del(meta("wfloor"));
        case 1 -> redis.set(meta("wfloor"), Long.toString(now - Duration.ofMinutes(30).toNanos() / 1_000));
        case 2 -> redis.set(meta("wfloor"), "not a version");
        case 3 -> {
          redis.del(meta("wfloor"));
          redis.lpush(meta("wfloor"), "1");
        }
        default -> { }
      }
      String key = random.nextBoolean() && n > 0 ? "t" + random.nextInt(n) : "new";
      int cap = 1 + random.nextInt(6);
      boolean write = random.nextBoolean();
      Map<String, byte[]> snap = snapshot();
      long since = serverMicros();
      List<List<String>> states = new ArrayList<>();
      for (String on : new String[] {cache + "-lean", cache + "-general"}) {
        restore(snap, on);
        boolean lean = on.endsWith("-lean");
        if (write) {
          forceWrite(lean ? Scripts.WRITE.body : generalWrite, on, key, cap);
        } else {
          invalidate(lean ? Scripts.INVALIDATE.body : generalInvalidate, on, key, cap);
        }
        states.add(tombstoneState(on, since));
      }
      assertThat(states.get(0))
          .as("round %d: %s of %s, %d tombstones, cap %d", round, write ? "write" : "invalidation", key, n, cap)
          .isEqualTo(states.get(1));
      assertThat(states.get(0)).as("round %d: the key's tombstone", round).contains(key);
      assertThat(states.get(0).size() - 2).as("round %d: within the cap", round).isLessThanOrEqualTo(Math.max(cap, n + 2));
    }
  }

  private static long serverMicros() {
    List<String> time = redis.time();
    return Long.parseLong(time.get(0)) * 1_000_000 + Long.parseLong(time.get(1));
  }

  private long floorNow() {
    String f = "string".equals(redis.type(meta("floor"))) ? redis.get(meta("floor")) : null;
    return f != null && f.matches("[0-9]{1,16}") ? Long.parseLong(f) : 0;
  }

  private void assertSame(String key, long readVersion) {
    Map<String, byte[]> snap = snapshot();
    long floorBefore = floorNow();
    restore(snap, cache + "-lean");
    Outcome lean = conditional(Scripts.WRITE.body, cache + "-lean", key, "x", readVersion, floorBefore);
    restore(snap, cache + "-general");
    Outcome general = conditional(generalWrite, cache + "-general", key, "x", readVersion, floorBefore);
    assertThat(lean).as("lean vs general, read %d", readVersion).isEqualTo(general);
  }

  /** The lean and the general outcome of one conditional write on copies of the same state. */
  private Outcome[] both(String key, long readVersion) {
    Map<String, byte[]> snap = snapshot();
    long floorBefore = floorNow();
    restore(snap, cache + "-lean");
    Outcome lean = conditional(Scripts.WRITE.body, cache + "-lean", key, "x", readVersion, floorBefore);
    restore(snap, cache + "-general");
    Outcome general = conditional(generalWrite, cache + "-general", key, "x", readVersion, floorBefore);
    return new Outcome[] {lean, general};
  }

  /**
   * A structure of epochs or patterns of another type: a read before gmax is refused on both paths; a read at or
   * after gmax is accepted by the lean path, which reads none of them (gmax is at least every version they recorded,
   * so none covers the write), where the general script, which cannot read the structure, refuses (and, for the
   * patterns, raises the floor). The README says so; this pins both halves.
   */
  private void structureOfAnotherType(String name) {
    long before = read("k");
    join(tier.invalidatePrefix(cache, "k"));
    join(tier.invalidatePattern(cache, "k*"));
    long after = read("k");
    redis.del(meta(name));
    redis.set(meta(name), "garbage");

    assertSame("k", before);
    assertThat(both("k", before)[0].written()).as("read before the invalidations").isFalse();
    Outcome[] late = both("k", after);
    assertThat(late[0].written()).as("lean: read after gmax").isTrue();
    assertThat(late[1].written()).as("general: the structure cannot be read").isFalse();
  }

  @Test
  void aPatternSetOfAnotherType() {
    structureOfAnotherType("pat");
  }

  @Test
  void aPrefixLengthSetOfAnotherType() {
    structureOfAnotherType("plens");
  }

  @Test
  void anEpochHashOfAnotherType() {
    structureOfAnotherType("g");
  }

  @Test
  void aLoadThenPutFromAnotherInstanceIsRefusedAfterAPatternPrefixOrTagInvalidationOnTheLeanPath() {
    RedisTier other = session.tier();
    String[] kinds = {"pattern", "prefix", "tag"};
    for (String kind : kinds) {
      String key = kind + ":1";
      long readVersion = read(key);
      switch (kind) {
        case "pattern" -> join(other.invalidatePattern(cache, "pat*"));
        case "prefix" -> join(other.invalidatePrefix(cache, "pre"));
        default -> join(other.invalidateTag(cache, "nothing-tagged"));
      }
      var late = join(tier.putIfCurrent(cache, Map.of(key, entry("old row")), TTL, readVersion));
      if (kind.equals("tag")) {
        // An untagged entry: no tag covers it, the write goes (through the general script, the read is before gmax).
        assertThat(late).as(kind).containsExactly(key);
      } else {
        assertThat(late).as("read before the %s invalidation", kind).isEmpty();
      }
      assertThat(join(tier.putIfCurrent(cache, Map.of(key, entry("new row")), TTL, read(key))))
          .as("read after the %s invalidation", kind)
          .containsExactly(key);
    }
  }

  /**
   * Pre-existing (main's general clock_tick does the same): a clock at 2^53 - 1, the largest version ver() reads
   * (hostile state, or a re-seed from what a caller saw), ticks to 2^53, which the next script reads as corrupt and
   * re-seeds from the server's time: the versions handed out go back by years. The bucket is exhausted instead: its
   * clock stays at the end.
   */
  @Test
  void aClockAtTheLargestVersionDoesNotTickBackwards() {
    join(tier.invalidateKey(cache, "k"));
    redis.set(meta("clock"), "9007199254740991");
    join(tier.invalidateKey(cache, "k"));
    long first = Long.parseLong(redis.get(meta("clock")));
    join(tier.invalidateKey(cache, "k"));
    long second = Long.parseLong(redis.get(meta("clock")));
    assertThat(first).as("exhausted: the clock stays at the end").isEqualTo(LARGEST);
    assertThat(second).as("the version after %d", first).isEqualTo(LARGEST);
  }

  private static final long LARGEST = SeenVersions.MAX_VERSION;

  /**
   * A clock with one version left for a change, with none (the general script ends it) and at the end is judged alike
   * by the lean and the general scripts.
   */
  @Test
  void aClockAtTheEndIsJudgedAlike() {
    long early = read("k");
    join(tier.put(cache, "k", entry("v"), TTL));
    for (long clock : new long[] {LARGEST - 2, LARGEST - 1, LARGEST}) {
      redis.set(meta("clock"), Long.toString(clock));
      assertSameInvalidation("k", Limits.DEFAULT.tombstones());
      assertSame("k", early);
      assertSame("k", clock);
      assertSame("k", clock - 1);
    }
  }

  @Test
  void randomHistoriesAreJudgedAlike() {
    history(11, false);
  }

  @Test
  void randomHistoriesWithHostileStateAreJudgedAlike() {
    for (int seed = 1; seed <= 4; seed++) {
      cache = uniqueName("lgd");
      history(seed, true);
    }
  }

  private void corrupt(Random random, String key) {
    String e = "tiercache:{" + cache + "}:k:" + key;
    switch (random.nextInt(14)) {
      case 0 -> redis.del(meta("gmax"));
      case 1 -> redis.del(meta("floor"));
      case 2 -> redis.set(meta("floor"), "12x");
      case 3 -> redis.set(meta("wfloor"), "9007199254740993");
      case 4 -> redis.del(meta("clock"));
      case 5 -> redis.set(meta("clock"), "-1");
      case 6 -> redis.set(meta("gmax"), "banana");
      case 7 -> {
        redis.del(meta("ts"));
        redis.hset(meta("ts"), "f", "1");
      }
      case 8 -> redis.zadd(meta("ts"), Double.POSITIVE_INFINITY, key);
      case 9 -> redis.set(e, Scripts.FORMAT + "99999999999999999v001");
      case 10 -> {
        redis.del(e);
        redis.hset(e, "f", "1");
      }
      case 11 -> redis.set(meta("maxttl"), "x");
      case 12 -> {
        redis.del(meta("wfloor"));
        redis.lpush(meta("wfloor"), "1");
      }
      default -> redis.set(e, Scripts.FORMAT + "9000000000000000v0010000005c");
    }
  }

  private void history(int seed, boolean hostile) {
    Random random = new Random(seed);
    String[] keys = {"a", "ab", "b", "k:1", "k:2"};
    List<Long> reads = new ArrayList<>();
    for (int step = 0; step < 300; step++) {
      String key = keys[random.nextInt(keys.length)];
      switch (random.nextInt(8)) {
        case 0 -> join(tier.put(cache, key, random.nextBoolean() ? entry("p" + step) : entry("p", "t0"), TTL));
        case 1 -> join(tier.invalidateKey(cache, key));
        case 2 -> join(tier.invalidatePrefix(cache, key.substring(0, 1)));
        case 3 -> join(tier.invalidatePattern(cache, key.charAt(0) + "*"));
        case 4 -> join(tier.invalidateTag(cache, "t" + random.nextInt(2)));
        case 5 -> {
          if (!reads.isEmpty()) {
            long r = reads.get(random.nextInt(reads.size()));
            join(tier.putIfCurrent(cache, Map.of(key, entry("c" + step)), TTL, r));
          }
        }
        case 6 -> {
          if (hostile) {
            try {
              corrupt(random, key);
            } catch (io.lettuce.core.RedisCommandExecutionException wrongType) {
              // the structure had another type already
            }
          } else {
            reads.add(read(key));
          }
        }
        default -> reads.add(read(key));
      }
      if (step % 5 == 0) {
        assertSameInvalidation(key, Limits.DEFAULT.tombstones());
      }
      if (!reads.isEmpty() && step % 3 == 0) {
        assertSame(key, reads.get(random.nextInt(reads.size())));
        assertSame(key, reads.get(reads.size() - 1));
      }
    }
  }
}
