package dev.tiercache.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tiercache.Glob;
import dev.tiercache.redis.testing.RedisExtension;
import io.lettuce.core.KeyScanCursor;
import io.lettuce.core.RedisClient;
import io.lettuce.core.ScanArgs;
import io.lettuce.core.ScanCursor;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.codec.ByteArrayCodec;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@link Glob} against a real Redis: many hand-written and random patterns, ASCII and multi-byte, are matched by
 * {@code SCAN ... MATCH} against the UTF-8 bytes of many keys, and Glob must give the same verdict for every
 * (pattern, key) pair. The keys live under a private namespace and are matched the way the L2 matches them,
 * {@code escape(ns) + pattern} against {@code ns + key} (see Glob's class comment), so the empty key is covered too.
 * Never KEYS (DESIGN.md invariant 6), not even in a test.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class GlobRedisDifferentialTest {

  @RegisterExtension static final RedisExtension REDIS = RedisExtension.standalone();

  /**
   * Pieces of random keys and patterns: glob metacharacters, class specials, ASCII letters, and characters of every
   * UTF-8 length, including the extreme bytes C2 80, DF BF, EF BF BF and F0 9F 98 80.
   */
  private static final String[] PIECES = {
    "*", "?", "[", "]", "\\", "^", "-", "a", "b", "z", "~", "é", "ï", "ÿ", "\u0080", "\u07FF", "日", "\uFFFD",
    "\uFFFF", "😀", "\u0001"
  };

  /** Hand-written keys: the words of issue 10 and their neighbours, and characters that share a lead byte. */
  private static final List<String> KEYS =
      List.of(
          "", "cafe", "café", "caf", "cafée", "caf\u00C3", "naive", "naïve", "na\u00EFve", "nave", "é", "è", "ï", "ê",
          "ÿ", "a", "z", "ab", "日", "日本", "本", "😀", "😁", "a😀b", "a😀", "?", "*", "[", "]", "\\", "-", "^",
          "\u0080", "\u07FF", "\u0800", "\uFFFF", "\uFFFD", "\u0001", "\u007F", "user:é:1", "user:e:1", "user:日:1");

  /** Hand-written patterns: each asks one question about bytes versus characters. */
  private static final List<String> PATTERNS =
      List.of(
          "caf?", "caf??", "caf???", "caf*", "caf?*", "*é", "*é*", "?é", "cafe?", "caf\\é", "caf\\é*", "na[ï]ve",
          "na[ï][ï]ve", "na[^ï]ve", "na[^ï][^ï]ve", "na??ve", "na?ve", "na*ve", "[é]", "[é][é]", "[é]?", "?[é]",
          "[^é]", "[^é]?", "[^é][^é]", "[\\é]?", "[é-z]", "[é-z]?", "?[é-z]", "[a-é]", "[a-é]?", "?[a-é]", "[a-z]",
          "[a-ÿ]", "[a-ÿ]?", "[é-ÿ]", "?[é-ÿ]", "[\u0080-\u07FF]?", "[\u0001-\u007F]", "[^a-z]", "[^a-z]?", "?",
          "??", "???", "????", "*?", "?*", "*", "**", "[", "[^", "[é", "[^é", "[é-", "\\", "é\\", "日?", "日??",
          "日???", "[日]??", "?😀", "😀", "😀?", "?😀?", "a????b", "a?😀b", "a*😀*b", "*\\😀*", "[😀]???",
          "user:?:1", "user:??:1", "user:???:1", "user:[^:]:1", "user:[^:][^:]:1", "user:*:1");

  private static RedisClient client;
  private static StatefulRedisConnection<byte[], byte[]> connection;
  private static RedisCommands<byte[], byte[]> redis;

  @BeforeAll
  static void connect() {
    client = RedisClient.create(REDIS.uri());
    connection = client.connect(ByteArrayCodec.INSTANCE);
    redis = connection.sync();
  }

  @AfterAll
  static void disconnect() {
    connection.close();
    client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
  }

  @Test
  void handWrittenNonAsciiPatternsMatchLikeRedis() {
    assertAgreement(new LinkedHashSet<>(KEYS), PATTERNS);
  }

  @Test
  void randomPatternsMatchLikeRedis() {
    Random random = new Random(20261130L);
    Set<String> keys = new LinkedHashSet<>(KEYS);
    while (keys.size() < KEYS.size() + 300) {
      keys.add(randomString(random, 6));
    }
    List<String> patterns = new ArrayList<>();
    for (int i = 0; i < 400; i++) {
      patterns.add(randomString(random, 7));
    }
    // Random patterns built around random keys: mostly near misses, which wholly random pairs rarely are.
    List<String> keyList = new ArrayList<>(keys);
    for (int i = 0; i < 200; i++) {
      String key = keyList.get(random.nextInt(keyList.size()));
      patterns.add(mutate(random, key));
    }
    assertAgreement(keys, patterns);
  }

  @Test
  void theIssueExamplesAreNoLongerMatchedByTheL1Alone() {
    // Issue 10 #6: these matched café in the L1 (UTF-16) but not in Redis (bytes). Now neither matches.
    assertThat(redisMatches(List.of("café"), "caf?")).isEmpty();
    assertThat(Glob.compile("caf?").matches("café")).isFalse();
    assertThat(redisMatches(List.of("naïve"), "na[ï]ve")).isEmpty();
    assertThat(Glob.compile("na[ï]ve").matches("naïve")).isFalse();
    // ...and the byte-counting forms match in both.
    assertThat(redisMatches(List.of("café"), "caf??")).containsExactly("café");
    assertThat(Glob.compile("caf??").matches("café")).isTrue();
  }

  /** Stores the keys under a fresh namespace, then compares SCAN MATCH with Glob for every pattern. */
  private static void assertAgreement(Set<String> keys, List<String> patterns) {
    String ns = namespace();
    store(ns, keys);
    try {
      List<String> disagreements = new ArrayList<>();
      for (String pattern : patterns) {
        Set<String> byRedis = scan(ns, pattern);
        Glob glob = Glob.compile(pattern);
        Set<String> byGlob = new TreeSet<>();
        for (String key : keys) {
          if (glob.matches(key)) {
            byGlob.add(key);
          }
        }
        if (!byRedis.equals(byGlob)) {
          disagreements.add(
              "pattern " + visible(pattern) + ": Redis " + visible(byRedis) + ", Glob " + visible(byGlob));
        }
      }
      assertThat(disagreements).as("patterns on which Glob and Redis disagree").isEmpty();
    } finally {
      delete(ns, keys);
    }
  }

  private static Set<String> redisMatches(List<String> keys, String pattern) {
    String ns = namespace();
    store(ns, keys);
    try {
      return scan(ns, pattern);
    } finally {
      delete(ns, keys);
    }
  }

  /** A namespace with metacharacters and a multi-byte character, so that escape() is exercised too. */
  private static String namespace() {
    return "glob-diff[" + Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 1) + "]é*?\\:";
  }

  private static void store(String ns, Iterable<String> keys) {
    for (String key : keys) {
      redis.set(utf8(ns + key), new byte[] {1});
    }
  }

  private static void delete(String ns, Iterable<String> keys) {
    for (String key : keys) {
      redis.del(utf8(ns + key));
    }
  }

  /** The keys of the namespace that Redis's SCAN MATCH selects for {@code escape(ns) + pattern}, namespace removed. */
  private static Set<String> scan(String ns, String pattern) {
    ScanArgs args = ScanArgs.Builder.matches(utf8(Glob.escape(ns) + pattern)).limit(1_000);
    Set<String> found = new TreeSet<>();
    ScanCursor cursor = ScanCursor.INITIAL;
    for (int round = 0; round < 10_000; round++) {
      KeyScanCursor<byte[]> page = redis.scan(cursor, args);
      for (byte[] key : page.getKeys()) {
        String text = new String(key, StandardCharsets.UTF_8);
        assertThat(text).as("a key outside the namespace matched").startsWith(ns);
        found.add(text.substring(ns.length()));
      }
      if (page.isFinished()) {
        return found;
      }
      cursor = page;
    }
    throw new AssertionError("SCAN did not finish in 10,000 rounds");
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static String randomString(Random random, int maxPieces) {
    int n = random.nextInt(maxPieces + 1);
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < n; i++) {
      sb.append(PIECES[random.nextInt(PIECES.length)]);
    }
    return sb.toString();
  }

  /** A pattern derived from a key: some characters replaced by ?, ??, *, a class, or escaped. */
  private static String mutate(Random random, String key) {
    StringBuilder sb = new StringBuilder();
    int i = 0;
    while (i < key.length()) {
      int cp = key.codePointAt(i);
      String ch = new String(Character.toChars(cp));
      i += Character.charCount(cp);
      switch (random.nextInt(8)) {
        case 0:
          sb.append('?');
          break;
        case 1:
          sb.append("??");
          break;
        case 2:
          sb.append('*');
          break;
        case 3:
          sb.append('[').append(ch).append(']');
          break;
        case 4:
          sb.append("[^").append(PIECES[random.nextInt(PIECES.length)]).append(']');
          break;
        case 5:
          sb.append('\\').append(ch);
          break;
        default:
          sb.append(ch);
          break;
      }
    }
    return sb.toString();
  }

  /** Test data made readable in a failure message: non-ASCII and control characters as \\uXXXX. */
  private static String visible(Object o) {
    String s = String.valueOf(o);
    StringBuilder sb = new StringBuilder("'");
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c < 0x20 || c > 0x7E) {
        sb.append(String.format("\\u%04X", (int) c));
      } else {
        sb.append(c);
      }
    }
    return sb.append('\'').toString();
  }
}
