package dev.tiercache;

import java.util.Arrays;
import java.util.Objects;

/**
 * A compiled Redis-style glob pattern, with the semantics of Redis's {@code stringmatchlen} (the matcher behind
 * {@code KEYS}, {@code SCAN ... MATCH} and {@code PSUBSCRIBE}, Redis 6.2 and later), case-sensitive.
 *
 * <p>The L1 must decide which of its keys a pattern invalidation covers exactly as Redis decides it for the L2 and
 * the bus: a key that Redis deletes but the L1 keeps is served stale (invariant 1). So this class copies Redis's
 * behaviour, including its quirks, rather than a textbook glob:
 *
 * <ul>
 *   <li>{@code *} matches any sequence of characters, including none; consecutive stars act as one.
 *   <li>{@code ?} matches exactly one character.
 *   <li>{@code [abc]} matches one of the listed characters, {@code [^abc]} one character not listed. {@code [a-z]}
 *       is an inclusive range; a reversed range such as {@code [z-a]} is swapped, as Redis does. A range is
 *       recognised wherever a character is followed by {@code -} and at least one more pattern character, so in
 *       {@code [a-]} the {@code ]} is the end of the range {@code a-]}, not the end of the class. A {@code ^} is
 *       special only directly after the {@code [}.
 *   <li>{@code \x} matches {@code x} literally, outside and inside brackets. A {@code \} that is the last character
 *       of the pattern (or of an unterminated class) matches a backslash.
 *   <li>A {@code [} without its {@code ]} takes the rest of the pattern as its class (so {@code x[ab} acts like
 *       {@code x[ab]}); a {@code [} (or {@code [^}) that is the last character of the pattern has an empty class, so
 *       {@code [} matches nothing and {@code [^} matches any one character.
 * </ul>
 *
 * <p><b>One deliberate difference</b>: Redis's matcher never matches an empty string against a non-empty pattern,
 * not even {@code *} ({@code KEYS} and {@code SCAN} special-case a lone {@code *} before calling it). Here the empty
 * text is matched like any other, so {@code *} and {@code **} match {@code ""}. The reason is namespacing: the L2
 * stores the key {@code k} under {@code ns + k}, and Redis matches {@code escape(ns) + pattern} against that
 * non-empty key. For every non-empty {@code ns}, {@code compile(p).matches(k)} equals Redis's verdict on
 * {@code escape(ns) + p} against {@code ns + k}, including for {@code k = ""}; for a non-empty {@code k} it also
 * equals Redis's verdict on {@code p} against {@code k}.
 *
 * <p>Matching works on UTF-16 {@code char}s, Redis on the bytes of the key (UTF-8 for a string key). The two agree
 * for ASCII text, and for any well-formed text when the pattern has no {@code ?} and no class (literals, escapes and
 * {@code *} only) because UTF-8 is self-synchronising. {@link #escape(String)} and {@link #prefixPattern(String)} produce such
 * patterns.
 *
 * <p>Redis 6.2.16, 7.2.6 and 7.4.1 added a recursion limit (CVE-2024-31228): there, a pattern whose 1,001st group of
 * stars is not its last element matches nothing. Earlier versions, including the one that the embedded-redis test
 * fixture ships (it reports 6.2.11), match such a pattern normally, and so does this class. No answer agrees with
 * every Redis version for these patterns, so a caller that must agree with any Redis should refuse patterns with
 * more than 1,000 groups of stars.
 *
 * <p>Instances are immutable and thread-safe. {@link #matches(String)} allocates nothing and runs in
 * O(text length &times; pattern length) in the worst case: it never backtracks exponentially, whatever the pattern.
 */
public final class Glob {

  // Token kinds of the compiled program.
  private static final byte LITERAL = 0;
  private static final byte ANY = 1;
  private static final byte STAR = 2;
  private static final byte CLASS = 3;

  // Shapes that allow a shortcut in matches(); most invalidation patterns are EXACT or PREFIX.
  private static final int GENERAL = 0;
  private static final int EXACT = 1; // literals only
  private static final int PREFIX = 2; // literals, then one star group at the end

  private static final char[][] NO_CLASSES = new char[0][];

  private final String pattern;
  private final byte[] kinds;
  /** The character of a LITERAL token; unused for others. */
  private final char[] literals;
  /**
   * For a CLASS token: its members as inclusive ranges, {@code [lo0, hi0, lo1, hi1, ...]}, a single character being
   * the range {@code c-c}; null for other tokens.
   */
  private final char[][] classes;
  /** For a CLASS token: whether it was written {@code [^...]}. */
  private final boolean[] negated;
  private final int shape;
  /** For EXACT and PREFIX: the literal text (unescaped). */
  private final String literalText;

  private Glob(String pattern) {
    this.pattern = pattern;
    int n = pattern.length();
    // Every token consumes at least one pattern character, so n bounds the token count.
    byte[] k = new byte[n];
    char[] lit = new char[n];
    char[][] cls = null;
    boolean[] neg = null;
    char[] rangeBuf = null;
    int count = 0;
    int i = 0;
    while (i < n) {
      char c = pattern.charAt(i);
      switch (c) {
        case '*':
          // Consecutive stars are one star to Redis (it skips them before recursing).
          while (i + 1 < n && pattern.charAt(i + 1) == '*') {
            i++;
          }
          k[count++] = STAR;
          i++;
          break;
        case '?':
          k[count++] = ANY;
          i++;
          break;
        case '[': {
          // Mirrors the bracket loop of Redis's stringmatchlen_impl step by step, so its odd cases (unterminated
          // class, "a-]" being a range, a trailing backslash) come out the same.
          i++;
          boolean not = i < n && pattern.charAt(i) == '^';
          if (not) {
            i++;
          }
          if (rangeBuf == null) {
            rangeBuf = new char[2 * n];
          }
          int r = 0;
          while (true) {
            if (i < n && pattern.charAt(i) == '\\' && n - i >= 2) {
              i++;
              rangeBuf[r++] = pattern.charAt(i);
              rangeBuf[r++] = pattern.charAt(i);
            } else if (i < n && pattern.charAt(i) == ']') {
              break;
            } else if (i >= n) {
              // Unterminated: Redis steps back onto the last pattern character so that the common "advance one"
              // after the switch lands exactly on the end of the pattern.
              i = n - 1;
              break;
            } else if (n - i >= 3 && pattern.charAt(i + 1) == '-') {
              char lo = pattern.charAt(i);
              char hi = pattern.charAt(i + 2);
              if (lo > hi) { // Redis swaps a reversed range rather than making it empty
                char t = lo;
                lo = hi;
                hi = t;
              }
              rangeBuf[r++] = lo;
              rangeBuf[r++] = hi;
              i += 2;
            } else {
              rangeBuf[r++] = pattern.charAt(i);
              rangeBuf[r++] = pattern.charAt(i);
            }
            i++;
          }
          i++; // past the ']' (or onto the end of an unterminated pattern)
          if (cls == null) {
            cls = new char[n][];
            neg = new boolean[n];
          }
          cls[count] = Arrays.copyOf(rangeBuf, r);
          neg[count] = not;
          k[count++] = CLASS;
          break;
        }
        case '\\':
          // A backslash escapes the next character; a trailing backslash stands for itself (Redis falls through to
          // the literal comparison with the backslash).
          if (n - i >= 2) {
            i++;
          }
          lit[count] = pattern.charAt(i);
          k[count++] = LITERAL;
          i++;
          break;
        default:
          lit[count] = c;
          k[count++] = LITERAL;
          i++;
          break;
      }
    }
    this.kinds = Arrays.copyOf(k, count);
    this.literals = Arrays.copyOf(lit, count);
    this.classes = cls == null ? NO_CLASSES : Arrays.copyOf(cls, count);
    this.negated = neg == null ? new boolean[0] : Arrays.copyOf(neg, count);

    int stars = 0;
    boolean onlyLiterals = true;
    for (int t = 0; t < count; t++) {
      if (kinds[t] == STAR) {
        stars++;
      } else if (kinds[t] != LITERAL) {
        onlyLiterals = false;
      }
    }
    boolean endsWithStar = count > 0 && kinds[count - 1] == STAR;
    if (onlyLiterals && stars == 0) {
      this.shape = EXACT;
      this.literalText = new String(literals, 0, count);
    } else if (onlyLiterals && stars == 1 && endsWithStar) {
      this.shape = PREFIX;
      this.literalText = new String(literals, 0, count - 1);
    } else {
      this.shape = GENERAL;
      this.literalText = null;
    }
  }

  /**
   * Compiles a glob pattern. Every string is a valid pattern (as for Redis); the empty pattern matches only the
   * empty string.
   *
   * @param pattern the pattern, in Redis glob syntax
   * @return the compiled pattern
   * @throws NullPointerException if {@code pattern} is null
   */
  public static Glob compile(String pattern) {
    Objects.requireNonNull(pattern, "pattern");
    return new Glob(pattern);
  }

  /**
   * Tells whether the whole of {@code text} matches this pattern. Allocates nothing.
   *
   * @param text the text, such as a cache key
   * @return true if the pattern matches the entire text
   * @throws NullPointerException if {@code text} is null
   */
  public boolean matches(String text) {
    Objects.requireNonNull(text, "text");
    switch (shape) {
      case EXACT:
        return literalText.equals(text);
      case PREFIX:
        return text.startsWith(literalText);
      default:
        return matchGeneral(text);
    }
  }

  /**
   * The classic two-pointer glob match: on a mismatch, only the most recent star is retried, one character
   * further. Retrying earlier stars is never needed, because every non-star token consumes exactly one character:
   * if the tokens after the last star cannot be placed at any later position, moving an earlier star cannot help
   * either (this is also the observation behind Redis's skipLongerMatches). That bounds the work by
   * text length times token count, where naive recursion is exponential in the number of stars.
   */
  private boolean matchGeneral(String text) {
    final byte[] kinds = this.kinds;
    final int tokens = kinds.length;
    final int len = text.length();
    int t = 0; // next token
    int s = 0; // next text character
    int starToken = -1; // token after the most recent star, -1 if none seen yet
    int starText = 0; // text position that the most recent star's next attempt starts from
    while (s < len) {
      if (t < tokens) {
        byte kind = kinds[t];
        if (kind == STAR) {
          // First try the star as empty; remember where to resume if the rest fails.
          t++;
          starToken = t;
          starText = s;
          continue;
        }
        if (tokenMatches(t, kind, text.charAt(s))) {
          t++;
          s++;
          continue;
        }
      }
      if (starToken < 0) {
        return false;
      }
      // Let the most recent star swallow one more character and retry the tokens after it.
      starText++;
      s = starText;
      t = starToken;
    }
    // Text used up: only stars (matching the empty sequence) may remain.
    while (t < tokens && kinds[t] == STAR) {
      t++;
    }
    return t == tokens;
  }

  private boolean tokenMatches(int token, byte kind, char c) {
    switch (kind) {
      case LITERAL:
        return literals[token] == c;
      case ANY:
        return true;
      default: { // CLASS
        char[] ranges = classes[token];
        boolean in = false;
        for (int i = 0; i < ranges.length; i += 2) {
          if (c >= ranges[i] && c <= ranges[i + 1]) {
            in = true;
            break;
          }
        }
        return in != negated[token];
      }
    }
  }

  /**
   * Returns the pattern as given to {@link #compile(String)}.
   *
   * @return the source pattern
   */
  public String pattern() {
    return pattern;
  }

  /**
   * Escapes a literal so that it can be embedded in a pattern as data: every glob metacharacter ({@code * ? [ ] \})
   * gets a backslash in front. The result, as a whole pattern, matches exactly {@code literal} and nothing else,
   * here and in Redis (invariant 6: a key or prefix that the user gives invalidates what it names, never more).
   *
   * @param literal any string
   * @return the escaped form; {@code literal} itself if it contains no metacharacter
   * @throws NullPointerException if {@code literal} is null
   */
  public static String escape(String literal) {
    Objects.requireNonNull(literal, "literal");
    int n = literal.length();
    int first = 0;
    while (first < n && !isMeta(literal.charAt(first))) {
      first++;
    }
    if (first == n) {
      return literal; // the common case: nothing to escape, nothing to allocate
    }
    StringBuilder sb = new StringBuilder(n + 8);
    sb.append(literal, 0, first);
    for (int i = first; i < n; i++) {
      char c = literal.charAt(i);
      if (isMeta(c)) {
        sb.append('\\');
      }
      sb.append(c);
    }
    return sb.toString();
  }

  /**
   * Returns a pattern that matches exactly the strings starting with {@code prefix}: {@code escape(prefix) + "*"}.
   * Metacharacters in the prefix are data, so {@code prefixPattern("a*")} matches {@code "a*b"} but not
   * {@code "ab"}.
   *
   * @param prefix any string
   * @return the pattern
   * @throws NullPointerException if {@code prefix} is null
   */
  public static String prefixPattern(String prefix) {
    Objects.requireNonNull(prefix, "prefix");
    return escape(prefix) + "*";
  }

  private static boolean isMeta(char c) {
    // ']' is literal outside a class, but escaping it costs nothing and keeps the result safe to splice anywhere.
    return c == '*' || c == '?' || c == '[' || c == ']' || c == '\\';
  }

  /**
   * Two globs are equal when their pattern strings are equal.
   *
   * @param o the other object
   * @return whether {@code o} is a glob with the same pattern
   */
  @Override
  public boolean equals(Object o) {
    return this == o || (o instanceof Glob && pattern.equals(((Glob) o).pattern));
  }

  /**
   * Returns the hash code of the pattern string.
   *
   * @return the hash code
   */
  @Override
  public int hashCode() {
    return pattern.hashCode();
  }

  /**
   * Returns the pattern string.
   *
   * @return the pattern
   */
  @Override
  public String toString() {
    return pattern;
  }
}
