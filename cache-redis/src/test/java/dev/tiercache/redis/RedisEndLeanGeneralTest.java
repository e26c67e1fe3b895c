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
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Review s8-review2: the lean and the general scripts one version short of the end. A lean path may tick the clock
 * and then hand over to general(), which ticks again (LuaLib.lean: "both only ever refuse more"). Where the lean tick
 * took the clock from 2^53 - 3 to 2^53 - 2, the last version a change can take, general() finds none left and ends
 * the bucket: a key invalidation or a put of a key's first tombstone past a (smaller) tombstone cap exhausts a bucket
 * that the general script alone leaves healthy, with the change at 2^53 - 2. Not a stale read, but lean and general
 * disagree, and a healthy bucket is ended one change early, until an operator deletes its keys.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RedisEndLeanGeneralTest {

  @RegisterExtension static final RedisExtension REDIS = RedisExtension.standalone();

  private static final Duration TTL = Duration.ofMinutes(5);
  private static final String FAST_START = "local M, HORIZON = ARGV[1], tonumber(ARGV[2])";
  private static final long LARGEST = SeenVersions.MAX_VERSION;

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
    generalWrite = lean.substring(0, lean.indexOf(FAST_START)) + "return general()\n";
    String leanInvalidate = Scripts.INVALIDATE.body;
    generalInvalidate = leanInvalidate.substring(0, leanInvalidate.indexOf(FAST_START)) + "return general()\n";
  }

  @AfterAll
  static void disconnect() {
    session.close();
  }

  @BeforeEach
  void name() {
    cache = uniqueName("end-lg");
  }

  private void copy(String into) {
    StoreKit.restore(redis, StoreKit.snapshot(redis, cache), cache, into);
  }

  private String horizon() {
    return new String(TierWrites.horizonMicros(RedisTierOptions.create()), StandardCharsets.UTF_8);
  }

  /** Five tombstones; then the clock two versions short of the last one a change can take. */
  private void nearTheEndWithFiveTombstones() {
    for (String k : new String[] {"a", "b", "c", "d", "e"}) {
      join(tier.invalidateKey(cache, k));
    }
    redis.set(StoreKit.meta(cache, "clock"), Long.toString(LARGEST - 2));
  }

  /** The version a key invalidation of a new key by a tier whose tombstone cap is 3 took, and the clock after. */
  private String invalidate(String script, String on) {
    copy(on);
    String m = "tiercache:{" + on + "}:m:";
    String e = "tiercache:{" + on + "}:k:";
    long v = redis.eval(script, ScriptOutputType.INTEGER, new String[] {m + "clock", e + "f"},
        m, horizon(), "3", "10000", "64", "64", "", "", Long.toString(TTL.toMillis()), "k", "2", "0");
    return "version " + v + ", clock " + redis.get(m + "clock");
  }

  /** What a put of a new key by a tier whose tombstone cap is 3 did, and the clock after. */
  private String put(String script, String on) {
    copy(on);
    String m = "tiercache:{" + on + "}:m:";
    String e = "tiercache:{" + on + "}:k:";
    byte[] body = EntryFormat.body(entry("x"));
    List<Object> reply = redis.eval(script, ScriptOutputType.MULTI, new String[] {m + "clock", e + "g"},
        m, horizon(), "3", e, Long.toString(TTL.toMillis()), "1", "", "", "0",
        new String(body, StandardCharsets.ISO_8859_1), "0", "0");
    return "written " + (reply.size() > 2) + ", entry " + (redis.exists(e + "g") == 1)
        + ", clock " + redis.get(m + "clock");
  }

  @Test
  void aKeyInvalidationTwoVersionsShortOfTheEndPastASmallerCapIsJudgedAlike() {
    nearTheEndWithFiveTombstones();
    String general = invalidate(generalInvalidate, cache + "-general");
    String lean = invalidate(Scripts.INVALIDATE.body, cache + "-lean");
    assertThat(general).isEqualTo("version " + (LARGEST - 1) + ", clock " + (LARGEST - 1));
    assertThat(lean).as("lean").isEqualTo(general);
  }

  @Test
  void aPutTwoVersionsShortOfTheEndPastASmallerCapIsJudgedAlike() {
    nearTheEndWithFiveTombstones();
    String general = put(generalWrite, cache + "-general");
    String lean = put(Scripts.WRITE.body, cache + "-lean");
    assertThat(general).isEqualTo("written true, entry true, clock " + (LARGEST - 1));
    assertThat(lean).as("lean").isEqualTo(general);
  }
}
