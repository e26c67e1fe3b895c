package dev.tiercache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Random;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Tests for {@link Glob}. The expected values of the table were checked against a real Redis (embedded-redis 6.2.11
 * binary on x86-64: KEYS for the ASCII rows, SCAN MATCH for the non-ASCII ones), so that the table documents Redis's
 * behaviour, quirks included, and not our reading of it. GlobRedisDifferentialTest in cache-redis compares many more
 * patterns with a live Redis.
 */
class GlobTest {

  /** Characters for random strings: all metacharacters, the class-only specials, and a few plain letters. */
  private static final String ALPHABET = "*?[]\\^-ab:z";

  private static Arguments row(String pattern, String text, boolean matches) {
    return Arguments.of(pattern, text, matches);
  }

  // In the comments, patterns and texts are written raw, without Java's string escaping.
  static Stream<Arguments> table() {
    return Stream.of(
        // literals, case-sensitive
        row("abc", "abc", true),
        row("abc", "abd", false),
        row("abc", "ab", false),
        row("abc", "abcd", false),
        row("ABC", "abc", false),
        row("user:42", "user:42", true),
        // empty pattern and empty text
        row("", "", true),
        row("", "a", false),
        row("a", "", false),
        row("?", "", false),
        row("[a]", "", false),
        row("*a", "", false),
        row("*?*", "", false),
        // * at the start, in the middle, at the end, several
        row("*", "anything", true),
        row("*", "*", true),
        row("a*", "a", true),
        row("a*", "abc", true),
        row("a*", "ba", false),
        row("*c", "abc", true),
        row("*c", "c", true),
        row("*c", "cb", false),
        row("a*c", "ac", true),
        row("a*c", "abbbc", true),
        row("a*c", "abcd", false),
        row("a*b*c", "aXbYc", true),
        row("a*b*c", "abc", true),
        row("a*b*c", "acb", false),
        row("*a*", "xax", true),
        row("*a*", "a", true),
        row("*a*", "xyz", false),
        row("a**b", "ab", true),
        row("a***", "a", true),
        row("*ab", "aab", true), // the star must give back what it first tried
        row("*aab", "aaab", true),
        row("a*b*a", "abba", true),
        row("a*b*a", "abab", false),
        row("user:*:profile", "user:42:profile", true),
        row("user:*:profile", "user::profile", true),
        row("user:*:profile", "user:42:settings", false),
        row("user:*:profile", "user:1:profile:x", false),
        // ? is exactly one character, never none
        row("?", "a", true),
        row("?", "ab", false),
        row("a?c", "abc", true),
        row("a?c", "ac", false),
        row("??", "ab", true),
        row("?*", "a", true),
        row("*?", "a", true),
        row("*?*", "x", true),
        row("?", "*", true),
        // classes and ranges
        row("[abc]", "b", true),
        row("[abc]", "d", false),
        row("[abc]", "ab", false),
        row("x[abc]y", "xcy", true),
        row("x[abc]y", "xy", false),
        row("[a-c]", "a", true),
        row("[a-c]", "b", true),
        row("[a-c]", "c", true),
        row("[a-c]", "d", false),
        row("[a-c]", "-", false),
        row("[0-9a-f]", "e", true),
        row("[0-9a-f]", "7", true),
        row("[0-9a-f]", "g", false),
        row("[z-a]", "m", true), // Redis swaps a reversed range
        row("[c-a]", "a", true),
        row("[c-a]", "d", false),
        row("[-a]", "-", true), // a leading '-' is a plain member
        row("[-a]", "b", false),
        row("[a-c-e]", "-", true), // after a range, '-' starts over as a plain member
        row("[a-c-e]", "d", false),
        row("[a-c-e]", "e", true),
        row("[a-]", "_", true), // "a-]" is the range ]..a (swapped), and the class is then unterminated
        row("[a-]", "a", true),
        row("[a-]", "-", false),
        row("[]", "]", false), // an empty class matches nothing
        row("[]", "a", false),
        row("[!a]", "!", true), // only '^' negates
        row("[!a]", "b", false),
        row("^a", "^a", true),
        row("[a^]", "^", true),
        row("[*?]", "*", true), // metacharacters are members inside a class
        row("[*?]", "?", true),
        row("[*?]", "ab", false),
        // negated classes
        row("[^abc]", "d", true),
        row("[^abc]", "a", false),
        row("[^abc]", "", false),
        row("[^a-c]", "b", false),
        row("[^a-c]", "z", true),
        row("[^]", "a", true), // negated empty class: any one character
        row("[^]", "", false),
        row("x[^0-9]", "xa", true),
        row("x[^0-9]", "x5", false),
        // escapes outside brackets; raw patterns: \*  \?  \[a]  a\\b  \a  a\  \  \]
        row("\\*", "*", true),
        row("\\*", "a", false),
        row("\\*", "", false),
        row("\\?", "?", true),
        row("\\?", "a", false),
        row("\\[a]", "[a]", true),
        row("\\[a]", "a", false),
        row("a\\\\b", "a\\b", true),
        row("a\\\\b", "ab", false),
        row("\\a", "a", true),
        row("a\\", "a\\", true), // a trailing backslash matches a backslash
        row("a\\", "a", false),
        row("\\", "\\", true),
        row("\\]", "]", true),
        row("a\\*", "a*", true),
        row("a\\*", "ab", false),
        // escapes inside brackets; raw patterns: [\]]  [\^a]  [\\]  [\*]  [^\]]  [a\-z]  [\
        row("[\\]]", "]", true),
        row("[\\]]", "\\", false),
        row("[\\^a]", "^", true), // an escaped '^' does not negate
        row("[\\^a]", "b", false),
        row("[\\\\]", "\\", true),
        row("[\\*]", "*", true),
        row("[\\*]", "a", false),
        row("[^\\]]", "]", false),
        row("[^\\]]", "a", true),
        row("[a\\-z]", "-", true), // an escaped '-' is not a range
        row("[a\\-z]", "m", false),
        row("[a\\-z]", "z", true),
        row("[\\", "\\", true), // a backslash ending an unterminated class is a member
        // unterminated brackets: the class runs to the end of the pattern
        row("[abc", "b", true),
        row("[abc", "d", false),
        row("x[ab", "xa", true),
        row("x[ab", "xab", false),
        row("[a-c", "b", true),
        row("[^ab", "c", true),
        row("[^ab", "a", false),
        row("[a*", "*", true), // the star is a class member here
        row("[a*", "ab", false),
        row("[", "[", false), // a bare '[' at the end has an empty class
        row("[", "", false),
        row("a[", "a", false),
        row("a[", "a[", false),
        row("*[", "x[", false),
        row("[^", "x", true), // ...and '[^' a negated empty one
        row("[^", "", false),
        // non-ASCII: Redis matches the UTF-8 bytes; these verdicts come from SCAN MATCH on a real Redis (6.2.11,
        // x86-64, where C's char is signed: see the class comment of Glob on mixed ranges)
        row("caf?", "café", false), // issue 10 #6: ? is one byte, and é is two (C3 A9)
        row("caf?", "cafe", true),
        row("caf??", "café", true),
        row("caf???", "café", false),
        row("caf*", "café", true),
        row("*é", "café", true),
        row("caf\\é", "café", true), // \é escapes C3, then A9 is a literal
        row("na[ï]ve", "naïve", false), // issue 10 #6: [ï] is a class of two bytes that matches one
        row("na[ï][ï]ve", "naïve", true),
        row("na??ve", "naïve", true),
        row("na?ve", "naïve", false),
        row("na[^ï]ve", "naïve", false),
        row("na[^i][^i]ve", "naïve", true),
        row("[é]", "é", false),
        row("[é]", "\u00C3", false),
        row("[é][é]", "é", true),
        row("[é]?", "é", true),
        row("?[é]", "é", true),
        row("[é]?", "è", true),
        row("?[é]", "è", false),
        row("[^é]", "é", false),
        row("[^é]?", "é", false),
        row("[^a]?", "é", true),
        row("[\\é]?", "é", true),
        row("[é-z]?", "é", true),
        row("[é-z]", "z", true),
        row("[é-z]", "m", true), // [é-z] is the member C3, then the range A9-z; signed, A9 is below z
        row("[é-z]", "a", true),
        row("[a-é]", "z", false), // [a-é] is the range a-C3 (signed: C3..FF and 00..a), then A9
        row("[a-é]", "a", true),
        row("[a-é]", "-", true),
        row("[a-é]?", "é", true),
        row("?[a-é]", "é", true),
        row("?[a-é]", "è", false),
        row("[é-ÿ]", "é", false),
        row("?[é-ÿ]", "é", true),
        row("?[é-ÿ]", "ÿ", true),
        row("?[é-ÿ]", "\u0080", false),
        row("[\u0080-\u07FF]?", "é", true),
        row("[^a-z]?", "é", true),
        row("?", "é", false),
        row("??", "é", true),
        row("??", "日", false),
        row("???", "日", true),
        row("????", "😀", true), // four bytes, two UTF-16 chars
        row("???", "😀", false),
        row("?😀?", "a😀b", true),
        row("a?😀b", "a😀b", false),
        row("a????b", "a😀b", true),
        row("a*😀*b", "a😀b", true),
        row("[😀]???", "😀", true),
        row("日??", "日本", false),
        row("日???", "日本", true),
        row("user:?:1", "user:é:1", false),
        row("user:??:1", "user:é:1", true),
        row("user:[^:]:1", "user:é:1", false),
        row("user:[^:][^:]:1", "user:é:1", true),
        row("[é", "\u00C3", false),
        row("[é", "é", false),
        row("é\\", "é\\", true),
        row("*\\😀*", "x😀y", true));
  }

  @ParameterizedTest(name = "[{index}] \"{0}\" vs \"{1}\" -> {2}")
  @MethodSource("table")
  void matchesLikeRedis(String pattern, String text, boolean expected) {
    assertThat(Glob.compile(pattern).matches(text))
        .as("pattern '%s' against '%s'", pattern, text)
        .isEqualTo(expected);
  }

  @Test
  void starsMatchTheEmptyTextUnlikeRawStringmatchlen() {
    // Deliberate: raw stringmatchlen says no here, but Redis matches escape(ns) + "*" against the namespaced key
    // ns + "" and says yes, and that is the comparison the L1 must agree with (see the class comment).
    assertThat(Glob.compile("*").matches("")).isTrue();
    assertThat(Glob.compile("**").matches("")).isTrue();
    assertThat(Glob.compile(Glob.escape("ns:") + "*").matches("ns:")).isTrue();
  }

  /**
   * Redis's own algorithm, ported straight from its recursive shape, on the UTF-8 bytes of pattern and text, as an
   * oracle for random patterns. Bytes are Java's signed bytes, as C's {@code char} is on x86-64, so range ends
   * compare as they do there. It omits Redis's pruning (skipLongerMatches), which changes speed but not answers, and
   * it is only asked about non-empty texts, where {@link Glob} promises to agree with Redis.
   */
  private static boolean redisReference(String pattern, String text) {
    return redisReference(
        pattern.getBytes(StandardCharsets.UTF_8), 0, text.getBytes(StandardCharsets.UTF_8), 0);
  }

  private static boolean redisReference(byte[] p, int pi, byte[] s, int si) {
    int pn = p.length;
    int sn = s.length;
    while (pi < pn && si < sn) {
      byte c = p[pi];
      if (c == '*') {
        while (pi + 1 < pn && p[pi + 1] == '*') {
          pi++;
        }
        if (pi == pn - 1) {
          return true;
        }
        for (int from = si; from < sn; from++) {
          if (redisReference(p, pi + 1, s, from)) {
            return true;
          }
        }
        return false;
      } else if (c == '?') {
        si++;
      } else if (c == '[') {
        pi++;
        boolean not = pi < pn && p[pi] == '^';
        if (not) {
          pi++;
        }
        boolean match = false;
        byte sc = s[si];
        while (true) {
          if (pi < pn && p[pi] == '\\' && pn - pi >= 2) {
            pi++;
            match |= p[pi] == sc;
          } else if (pi < pn && p[pi] == ']') {
            break;
          } else if (pi >= pn) {
            pi--;
            break;
          } else if (pn - pi >= 3 && p[pi + 1] == '-') {
            int lo = Math.min(p[pi], p[pi + 2]);
            int hi = Math.max(p[pi], p[pi + 2]);
            match |= sc >= lo && sc <= hi;
            pi += 2;
          } else {
            match |= p[pi] == sc;
          }
          pi++;
        }
        if (match == not) {
          return false;
        }
        si++;
      } else {
        if (c == '\\' && pn - pi >= 2) {
          pi++;
        }
        if (p[pi] != s[si]) {
          return false;
        }
        si++;
      }
      pi++;
      if (si == sn) {
        while (pi < pn && p[pi] == '*') {
          pi++;
        }
        break;
      }
    }
    return pi == pn && si == sn;
  }

  @Test
  void agreesWithRedisAlgorithmOnRandomPatterns() {
    String patternChars = "*?[]\\^-ab";
    String textChars = "ab-^]\\[*?";
    agreeWithReference(
        20240611L, random -> randomString(random, patternChars, 9), random -> randomString(random, textChars, 7));
  }

  @Test
  void agreesWithRedisAlgorithmOnRandomMultiBytePatterns() {
    // Characters of every UTF-8 length, including the extreme bytes (C2 80, DF BF, EF BF BF, F4 8F BF BF), and
    // characters that share lead bytes (é, è, ÿ are all C3 xx), among the metacharacters.
    String[] pieces = {
      "*", "?", "[", "]", "\\", "^", "-", "a", "z", "é", "è", "ÿ", "\u0080", "\u07FF", "日", "本", "\uFFFF", "😀",
      "\uDBFF\uDFFF"
    };
    agreeWithReference(
        20261130L, random -> randomPieces(random, pieces, 7), random -> randomPieces(random, pieces, 5));
  }

  /** 20,000 random (pattern, non-empty text) pairs: Glob and the reference port must agree on each. */
  private static void agreeWithReference(
      long seed, Function<Random, String> patterns, Function<Random, String> texts) {
    Random random = new Random(seed);
    for (int i = 0; i < 20_000; i++) {
      String pattern = patterns.apply(random);
      String text = texts.apply(random);
      if (text.isEmpty()) {
        continue;
      }
      assertThat(Glob.compile(pattern).matches(text))
          .as("pattern '%s' against '%s'", pattern, text)
          .isEqualTo(redisReference(pattern, text));
    }
  }

  @Test
  void literalAndStarPatternsMeanTheSameOnBytesAsOnCharacters() {
    // The EXACT and PREFIX shortcuts compare strings; the general matcher compares bytes. They must agree.
    assertThat(Glob.compile("café").matches("café")).isTrue();
    assertThat(Glob.compile("café").matches("cafè")).isFalse();
    assertThat(Glob.compile("caf\\é").matches("café")).isTrue(); // EXACT after unescaping a lead byte
    assertThat(Glob.compile("caf\\é*").matches("cafés")).isTrue(); // PREFIX likewise
    assertThat(Glob.compile("日*").matches("日本")).isTrue();
    assertThat(Glob.compile("日*").matches("本日")).isFalse();
    assertThat(Glob.compile("*本").matches("日本")).isTrue(); // general: a star cannot end inside a character
    assertThat(Glob.compile("*\\u00A9").matches("\u00E9")).isFalse(); // © (C2 A9) vs é (C3 A9): same last byte
    assertThat(Glob.compile("*😀*").matches("a😀b")).isTrue();
    Random random = new Random(3L);
    String[] pieces = {"a", "é", "日", "😀", "*", "?", "\\", "["};
    for (int i = 0; i < 2_000; i++) {
      String literal = randomPieces(random, pieces, 6);
      String other = randomPieces(random, pieces, 6);
      assertThat(Glob.compile(Glob.escape(literal)).matches(other)).isEqualTo(literal.equals(other));
      assertThat(Glob.compile(Glob.prefixPattern(literal)).matches(other)).isEqualTo(other.startsWith(literal));
      assertThat(Glob.compile("*" + Glob.escape(literal)).matches(other)).isEqualTo(other.endsWith(literal));
      assertThat(Glob.compile("*" + Glob.escape(literal) + "*").matches(other)).isEqualTo(other.contains(literal));
    }
  }

  @Test
  void compileRefusesALoneSurrogateWithoutQuotingThePattern() {
    for (String pattern : List.of("secret\uD800", "\uDC00secret*", "[secret\uD83D]", "secret\uDE00\uD83D")) {
      assertThatThrownBy(() -> Glob.compile(pattern))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageStartingWith("pattern is not well-formed UTF-16")
          .hasMessageNotContaining("secret");
    }
  }

  @Test
  void aTextWithALoneSurrogateMatchesOnlyThroughWildcards() {
    // The cache refuses such keys; should one reach matches(), each lone surrogate counts as three bytes (its
    // generalized UTF-8 form), which no well-formed literal spells, and never as the '?' that String.getBytes makes.
    String text = "user\uD800";
    assertThat(Glob.compile("user?").matches(text)).isFalse();
    assertThat(Glob.compile("user\\?").matches(text)).isFalse();
    assertThat(Glob.compile("user???").matches(text)).isTrue();
    assertThat(Glob.compile("user*").matches(text)).isTrue();
    assertThat(Glob.compile("user[^a]??").matches(text)).isTrue();
    assertThat(Glob.compile("*r").matches(text)).isFalse();
    assertThat(Glob.compile("user").matches(text)).isFalse();
    assertThat(Glob.compile("\uD83D\uDE00?").matches("\uD83D\uDE00\uDE00")).isFalse(); // a pair, then a lone low
    assertThat(Glob.compile("\uD83D\uDE00???").matches("\uD83D\uDE00\uDE00")).isTrue();
  }

  @Test
  void escapedLiteralMatchesExactlyItself() {
    Random random = new Random(42L);
    for (int i = 0; i < 2_000; i++) {
      String literal = randomString(random, ALPHABET, 12);
      Glob glob = Glob.compile(Glob.escape(literal));
      assertThat(glob.matches(literal)).as("escape('%s') against itself", literal).isTrue();

      // Random strings from the same small alphabet, plus near misses, which random strings rarely are.
      for (String other : candidatesAround(random, literal)) {
        assertThat(glob.matches(other))
            .as("escape('%s') against '%s'", literal, other)
            .isEqualTo(literal.equals(other));
      }
    }
  }

  @Test
  void prefixPatternMatchesExactlyTheStringsWithThatPrefix() {
    Random random = new Random(7L);
    for (int i = 0; i < 2_000; i++) {
      String prefix = randomString(random, ALPHABET, 8);
      Glob glob = Glob.compile(Glob.prefixPattern(prefix));
      assertThat(glob.matches(prefix)).isTrue();
      assertThat(glob.matches(prefix + randomString(random, ALPHABET, 5))).isTrue();
      for (String other : candidatesAround(random, prefix)) {
        assertThat(glob.matches(other))
            .as("prefixPattern('%s') against '%s'", prefix, other)
            .isEqualTo(other.startsWith(prefix));
      }
    }
  }

  @Test
  void prefixPatternTreatsMetacharactersAsData() {
    Glob glob = Glob.compile(Glob.prefixPattern("a*"));
    assertThat(glob.matches("a*")).isTrue();
    assertThat(glob.matches("a*b")).isTrue();
    assertThat(glob.matches("ab")).isFalse();
    assertThat(glob.matches("a")).isFalse();

    assertThat(Glob.prefixPattern("user:[1]?\\")).isEqualTo("user:\\[1\\]\\?\\\\*");
    assertThat(Glob.prefixPattern("")).isEqualTo("*");
  }

  @Test
  void escapeBackslashesEveryMetacharacterAndNothingElse() {
    assertThat(Glob.escape("")).isEqualTo("");
    assertThat(Glob.escape("user:42")).isEqualTo("user:42");
    assertThat(Glob.escape("*?[]\\")).isEqualTo("\\*\\?\\[\\]\\\\");
    assertThat(Glob.escape("a*b")).isEqualTo("a\\*b");
    // '^' and '-' are special only inside a class, and escape() never opens one.
    assertThat(Glob.escape("^-")).isEqualTo("^-");
  }

  @Test
  @Timeout(2)
  void pathologicalPatternsRunInPolynomialTime() {
    String as = "a".repeat(10_000);
    // Naive recursion explores on the order of n^7 ways to split the text here.
    assertThat(Glob.compile("a*a*a*a*a*a*a*b").matches(as)).isFalse();
    assertThat(Glob.compile("a*a*a*a*a*a*a*b").matches(as + "b")).isTrue();
    assertThat(Glob.compile("*a*a*a*a*a*a*a*a*a*a*a*a*c").matches(as)).isFalse();
    assertThat(Glob.compile("*?*?*?*?*?*?*?*[^a]").matches(as)).isFalse();
    assertThat(Glob.compile("*[a]*[a-b]*?*a").matches(as)).isTrue();
    String multiByte = "é日😀".repeat(1_000); // 9,000 bytes
    assertThat(Glob.compile("*é*é*é*é*é*é*é*x").matches(multiByte)).isFalse();
    assertThat(Glob.compile("*?*?*?*?*?*?*?*[^\u0080-\u00BF]").matches(multiByte)).isFalse();
    assertThat(Glob.compile("*😀*😀*😀*😀*😀*😀*😀").matches(multiByte)).isTrue();
  }

  @Test
  void matchingAllocatesNothing() {
    java.lang.management.ThreadMXBean bean = ManagementFactory.getThreadMXBean();
    assumeTrue(bean instanceof com.sun.management.ThreadMXBean, "needs HotSpot's allocation counter");
    com.sun.management.ThreadMXBean hotspot = (com.sun.management.ThreadMXBean) bean;
    assumeTrue(hotspot.isThreadAllocatedMemorySupported() && hotspot.isThreadAllocatedMemoryEnabled());

    List<Glob> globs =
        List.of(
            Glob.compile("user:*:profile"),
            Glob.compile("user:4[0-9]?*"),
            Glob.compile(Glob.prefixPattern("user:4")),
            Glob.compile("user:42:profile"),
            Glob.compile("*é?[^日]*😀"));
    List<String> keys =
        List.of("user:42:profile", "user:43:settings", "order:1", "user:4", "user:é:日本", "aé日😀");
    int iterations = 100_000;
    int sink = run(globs, keys, iterations); // warm up, so that the measurement sees compiled code
    long thread = Thread.currentThread().getId();
    long before = hotspot.getThreadAllocatedBytes(thread);
    sink += run(globs, keys, iterations);
    long allocated = hotspot.getThreadAllocatedBytes(thread) - before;
    assertThat(sink).isPositive();
    // 3.6 million matches: any per-call allocation would show as megabytes; allow a little for the counter itself.
    assertThat(allocated).isLessThan(64 * 1024);
  }

  @Test
  void rejectsNullArgumentsNamingThem() {
    assertThatThrownBy(() -> Glob.compile(null))
        .isInstanceOf(NullPointerException.class)
        .hasMessageContaining("pattern");
    assertThatThrownBy(() -> Glob.compile("*").matches(null))
        .isInstanceOf(NullPointerException.class)
        .hasMessageContaining("text");
    assertThatThrownBy(() -> Glob.escape(null))
        .isInstanceOf(NullPointerException.class)
        .hasMessageContaining("literal");
    assertThatThrownBy(() -> Glob.prefixPattern(null))
        .isInstanceOf(NullPointerException.class)
        .hasMessageContaining("prefix");
  }

  @Test
  void valueSemanticsFollowThePattern() {
    Glob a = Glob.compile("user:*");
    assertThat(a.pattern()).isEqualTo("user:*");
    assertThat(a.toString()).isEqualTo("user:*");
    assertThat(a).isEqualTo(Glob.compile("user:*")).hasSameHashCodeAs(Glob.compile("user:*"));
    // Equality is on the text of the pattern, not on the set of strings it matches.
    assertThat(a).isNotEqualTo(Glob.compile("user:**"));
    assertThat(a).isNotEqualTo("user:*");
  }

  private static int run(List<Glob> globs, List<String> keys, int iterations) {
    int hits = 0;
    for (int i = 0; i < iterations; i++) {
      for (int g = 0; g < globs.size(); g++) {
        for (int k = 0; k < keys.size(); k++) {
          if (globs.get(g).matches(keys.get(k))) {
            hits++;
          }
        }
      }
    }
    return hits;
  }

  private static String randomPieces(Random random, String[] pieces, int maxPieces) {
    int n = random.nextInt(maxPieces + 1);
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < n; i++) {
      sb.append(pieces[random.nextInt(pieces.length)]);
    }
    return sb.toString();
  }

  private static String randomString(Random random, String chars, int maxLength) {
    int length = random.nextInt(maxLength + 1);
    StringBuilder sb = new StringBuilder(length);
    for (int i = 0; i < length; i++) {
      sb.append(chars.charAt(random.nextInt(chars.length())));
    }
    return sb.toString();
  }

  /** A random string, and strings one edit away from {@code s}: the inputs most likely to expose a loose match. */
  private static List<String> candidatesAround(Random random, String s) {
    String extra = String.valueOf(ALPHABET.charAt(random.nextInt(ALPHABET.length())));
    int at = s.isEmpty() ? 0 : random.nextInt(s.length());
    String replaced = s.isEmpty() ? extra : s.substring(0, at) + extra + s.substring(at + 1);
    String dropped = s.isEmpty() ? "" : s.substring(0, at) + s.substring(at + 1);
    return List.of(
        randomString(random, ALPHABET, 12),
        s + extra,
        extra + s,
        s.substring(0, at) + extra + s.substring(at),
        replaced,
        dropped,
        "");
  }
}
