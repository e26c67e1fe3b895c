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
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Reads of a bucket whose entries are older than its newest tag invalidation go straight to the script after the
 * first MGET that left one open ({@link ReadRoutes}), instead of paying an MGET that settles nothing before each
 * script; once entries are rewritten, an MGET settles them again and reads go back to it. Both ways answer the same.
 * This class has a server of its own, so that its command statistics count only what it does.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RedisReadRoutesTest {

  @RegisterExtension static final RedisExtension REDIS = RedisExtension.standalone();

  private static final Duration TTL = Duration.ofMinutes(5);
  private static final int READS = 100;

  private static TierSession session;
  private static RedisTier tier;
  private static RedisCommands<String, String> redis;

  private final String cache = uniqueName("routes");

  @BeforeAll
  static void connect() {
    session = new TierSession(REDIS.uri());
    tier = session.tier();
    redis = session.redis;
  }

  @AfterAll
  static void disconnect() {
    session.close();
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

  private static String value(L2Read read) {
    return new String(read.entry().value(), StandardCharsets.UTF_8);
  }

  @Test
  void entriesOlderThanATagInvalidationAreReadByTheScriptWithoutAnMgetEachAndNewerOnesByMgetAgain() {
    join(tier.put(cache, "old", entry("v1", "kept"), TTL));
    join(tier.put(cache, "covered", entry("v1", "gone"), TTL));
    join(tier.invalidateTag(cache, "gone"));

    redis.configResetstat();
    for (int i = 0; i < READS; i++) {
      assertThat(value(join(tier.get(cache, "old")))).isEqualTo("v1");
      assertThat(join(tier.get(cache, "covered")).isHit()).as("covered by the tag").isFalse();
    }
    // 2 reads each time: the MGET probes at doubling intervals (8, 16, 32, 64 reads) instead of 200 times.
    assertThat(calls("mget") - calls("evalsha") - calls("eval"))
        .as("MGETs sent outside scripts (each script sends one too)")
        .isLessThanOrEqualTo(6);

    // Rewritten after the invalidation: the next probe settles it, and reads take the MGET alone again.
    join(tier.put(cache, "old", entry("v2", "kept"), TTL));
    for (int i = 0; i < 2 * ReadRoutes.LONGEST_DETOUR && calls("evalsha") + calls("eval") > 0; i++) {
      redis.configResetstat();
      assertThat(value(join(tier.get(cache, "old")))).isEqualTo("v2");
    }
    redis.configResetstat();
    for (int i = 0; i < READS; i++) {
      assertThat(value(join(tier.get(cache, "old")))).isEqualTo("v2");
    }
    assertThat(calls("evalsha") + calls("eval")).as("scripts").isZero();
    assertThat(calls("mget")).isEqualTo(READS);
  }

  @Test
  void getAllRoutesEachBucketTheSameWayAndAnswersAsSingleReads() {
    List<String> keys = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      String key = "k" + i;
      keys.add(key);
      join(tier.put(cache, key, entry("v" + i, i % 2 == 0 ? "even" : "odd"), TTL));
    }
    join(tier.invalidateTag(cache, "odd"));
    join(tier.put(cache, "k0", entry("fresh", "even"), TTL));

    redis.configResetstat();
    for (int round = 0; round < 40; round++) {
      Map<String, L2Read> reads = join(tier.getAll(cache, keys));
      assertThat(reads.keySet()).containsExactlyElementsOf(keys);
      for (int i = 0; i < 20; i++) {
        L2Read read = reads.get("k" + i);
        if (i % 2 == 1) {
          assertThat(read.isHit()).as("k%d is covered", i).isFalse();
        } else {
          assertThat(value(read)).as("k%d", i).isEqualTo(i == 0 ? "fresh" : "v" + i);
          assertThat(value(join(tier.get(cache, "k" + i)))).isEqualTo(value(read));
        }
      }
    }
    assertThat(calls("mget") - calls("evalsha") - calls("eval"))
        .as("MGETs sent outside scripts, for 40 getAlls and 400 gets")
        .isLessThan(40);
  }
}
