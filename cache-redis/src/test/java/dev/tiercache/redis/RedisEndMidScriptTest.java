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
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Review s8-review2 (holds): the end reached in the middle of one script. One INVALIDATE of a key, a tag and another
 * key, and one conditional write of three keys, started two versions short of the end: every change after the last
 * version is recorded at the end, what was written before the end stays covered even with the clock set back by
 * hand, and the write lands only the keys that got a version.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RedisEndMidScriptTest {

  @RegisterExtension static final RedisExtension REDIS = RedisExtension.standalone();

  private static final Duration TTL = Duration.ofMinutes(5);
  private static final long LARGEST = SeenVersions.MAX_VERSION;

  private static TierSession session;
  private static RedisCommands<String, String> redis;

  @BeforeAll
  static void connect() {
    session = new TierSession(REDIS.uri());
    redis = session.redis;
  }

  @AfterAll
  static void disconnect() {
    session.close();
  }

  @Test
  void anInvalidationThatReachesTheEndRecordsTheRestAtTheEnd() {
    String cache = uniqueName("mid");
    RedisTier tier = session.tier();
    String m = "tiercache:{" + cache + "}:m:";
    String e = "tiercache:{" + cache + "}:k:";
    redis.set(m + "clock", Long.toString(LARGEST - 5));
    join(tier.put(cache, "a", entry("a"), TTL));
    join(tier.put(cache, "b", entry("b"), TTL));
    join(tier.put(cache, "c", entry("c", "x"), TTL)); // at 2^53 - 3: one version left
    long v = redis.eval(Scripts.INVALIDATE.body, ScriptOutputType.INTEGER, new String[] {m + "clock", e + "a", e + "b"},
        m, new String(TierWrites.horizonMicros(RedisTierOptions.create()), StandardCharsets.UTF_8), "20000", "10000",
        "64", "64", "", "", Long.toString(TTL.toMillis()), "k", "2", "t", "x", "k", "3", "0");
    assertThat(v).isEqualTo(LARGEST);
    assertThat(redis.get(m + "clock")).isEqualTo(Long.toString(LARGEST));
    assertThat(redis.exists(e + "a", e + "b")).isZero();
    assertThat(redis.zscore(m + "ts", "a")).isEqualTo((double) (LARGEST - 1));
    assertThat(redis.zscore(m + "ts", "b")).isEqualTo((double) LARGEST);
    assertThat(redis.hget(m + "g", "t:x")).isEqualTo(Long.toString(LARGEST));
    assertThat(redis.get(m + "gmax")).isEqualTo(Long.toString(LARGEST));

    // Set back by hand: what the end recorded still covers what came before it.
    // Tiers that saw nothing of the bucket, so that no rollback is caught and the floor stays where it is.
    redis.set(m + "clock", Long.toString(LARGEST - 100));
    assertThat(join(session.tier().alwaysMgetFirst().get(cache, "c")).isHit()).as("c, MGET").isFalse();
    assertThat(join(session.tier().getByScript(cache, "c")).isHit()).as("c by the script").isFalse();
    assertThat(redis.get(m + "clock")).isEqualTo(Long.toString(LARGEST - 100));
  }

  @Test
  void aWriteThatReachesTheEndLandsOnlyTheKeysThatGotAVersion() {
    String cache = uniqueName("mid-w");
    RedisTier tier = session.tier();
    String m = "tiercache:{" + cache + "}:m:";
    long read = join(tier.get(cache, "p")).version();
    redis.set(m + "clock", Long.toString(LARGEST - 3));
    long late = LARGEST - 3;
    List<String> written = List.copyOf(join(tier.putIfCurrent(
        cache, Map.of("p", entry("p"), "q", entry("q"), "r", entry("r")), TTL, late)));
    assertThat(written).as("2^53 - 3 and 2^53 - 2 given, then the end").hasSize(2);
    assertThat(redis.get(m + "clock")).isEqualTo(Long.toString(LARGEST));
    for (String k : List.of("p", "q", "r")) {
      assertThat(join(tier.get(cache, k)).isHit()).as(k).isFalse();
    }
    assertThat(read).isLessThan(LARGEST);
  }
}
