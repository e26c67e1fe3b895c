package dev.tiercache;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Objects;

/**
 * A compiled Redis-style glob pattern, with the semantics of Redis's {@code stringmatchlen} (the matcher behind
 * {@code KEYS}, {@code SCAN ... MATCH} and {@code PSUBSCRIBE}, Redis 6.2 and later), case-sensitive, applied to the
 * UTF-8 bytes of the pattern and of the text.
 *
 * <p>The L1 must decide which of its keys a pattern invalidation covers exactly as Redis decides it for the L2 and
 * the bus: a key that Redis keeps but the L1 drops is read back, old, from the L2 (invariant 1), and a key that
 * Redis deletes but the L1 keeps is served stale. Redis knows nothing of characters: it compares the bytes of the
 * pattern with the bytes of the key, and the library stores every key as UTF-8 (invariant 6). So this class encodes
 * both sides as UTF-8 and copies Redis's behaviour on the bytes, including its quirks, rather than a textbook glob.
 * Below, "byte" means one byte of that UTF-8 encoding:
 *
 * <ul>
 *   <li>{@code *} matches any sequence of bytes, including none; consecutive stars act as one.
 *   <li>{@code ?} matches exactly one byte, not one character. {@code caf?} matches {@code cafe} but not
 *       {@code café}, whose {@code é} is the two bytes {@code C3 A9}; {@code caf??} matches {@code café}.
 *   <li>{@code [abc]} matches one byte that is listed, {@code [^abc]} one byte that is not. A non-ASCII character in
 *       a class stands for its bytes, each a separate member: {@code [ï]} is the class of the bytes {@code C3} and
 *       {@code AF}, and matches one byte, so {@code na[ï]ve} does not match {@code naïve} (the class takes the
 *       {@code C3}, then {@code v} meets {@code AF}). {@code [a-z]} is an inclusive range of bytes; a reversed range
 *       such as {@code [z-a]} is swapped, as Redis does. A range is recognised wherever a byte is followed by
 *       {@code -} and at least one more pattern byte, so in {@code [a-]} the {@code ]} is the end of the range
 *       {@code a-]}, not the end of the class, and in {@code [é-z]} the range is {@code A9-z}, after the member
 *       {@code C3}. A {@code ^} is special only directly after the {@code [}.
 *   <li>Range ends are compared as C's {@code char}, which is signed on x86-64 (where the test fixture's Redis runs
 *       and GlobRedisDifferentialTest checks this): the bytes {@code 80}-{@code FF} count as -128 to -1, below
 *       every ASCII byte.
 *       A range between two ASCII bytes, or between two bytes {@code 80}-{@code FF}, means the same on every
 *       platform. A <em>mixed</em> range, one end ASCII and the other {@code 80}-{@code FF} (such as
 *       {@code [a-é]}, which is {@code [a-C3]} followed by the member {@code A9}), covers here, as on x86-64, the
 *       bytes from the high end to {@code FF} and from {@code 00} to the ASCII end; a Redis built where
 *       {@code char} is unsigned (Linux on ARM64, for example) covers the bytes between the two ends instead. No
 *       answer agrees with both, so a caller that must agree with any Redis should avoid such ranges.
 *   <li>{@code \x} matches the byte {@code x} literally, outside and inside brackets; {@code \é} escapes the first
 *       byte of {@code é}, and its second byte is then an ordinary literal, so outside brackets {@code \é} matches
 *       {@code é}. A {@code \} that is the last byte of the pattern (or of an unterminated class) matches a
 *       backslash.
 *   <li>A {@code [} without its {@code ]} takes the rest of the pattern as its class (so {@code x[ab} acts like
 *       {@code x[ab]}); a {@code [} (or {@code [^}) that is the last byte of the pattern has an empty class, so
 *       {@code [} matches nothing and {@code [^} matches any one byte.
 * </ul>
 *
 * <p>Patterns made of literals and stars only, which include every result of {@link #escape(String)} and
 * {@link #prefixPattern(String)}, mean the same on bytes as on characters, because UTF-8 is self-synchronising: a
 * byte sequence of whole characters can only match at character boundaries. Non-ASCII text is thus safe in
 * escaped keys and prefixes; it is {@code ?} and classes next to non-ASCII text that count bytes.
 *
 * <p>Patterns must be well-formed UTF-16 ({@link #compile(String)} refuses a lone surrogate, which has no UTF-8
 * encoding). Keys with a lone surrogate are refused by the cache; if {@link #matches(String)} is nevertheless given
 * one, it reads each lone surrogate as its three-byte generalized UTF-8 form (as WTF-8 does), which no well-formed
 * string produces: those bytes are matched by {@code *}, {@code ?} and classes, never by a literal, and never as the
 * {@code '?'} that {@code String.getBytes} would put in their place.
 *
 * <p><b>One deliberate difference</b>: Redis's matcher never matches an empty string against a non-empty pattern,
 * not even {@code *} ({@code KEYS} and {@code SCAN} special-case a lone {@code *} before calling it). Here the empty
 * text is matched like any other, so {@code *} and {@code **} match {@code ""}. The reason is namespacing: the L2
 * stores the key {@code k} under {@code ns + k}, and Redis matches {@code escape(ns) + pattern} against that
 * non-empty key. For every non-empty {@code ns}, {@code compile(p).matches(k)} equals Redis's verdict on
 * {@code escape(ns) + p} against {@code ns + k}, including for {@code k = ""}; for a non-empty {@code k} it also
 * equals Redis's verdict on {@code p} against {@code k}.
 *
 * <p>Redis 6.2.16, 7.2.6 and 7.4.1 added a recursion limit (CVE-2024-31228): there, a pattern whose 1,001st group of
 * stars is not its last element matches nothing. Earlier versions, including the one that the embedded-redis test
 * fixture ships (it reports 6.2.11), match such a pattern normally, and so does this class. No answer agrees with
 * every Redis version for these patterns, so a caller that must agree with any Redis should refuse patterns with
 * more than 1,000 groups of stars.
 *
 * <p>Instances are immutable and thread-safe. {@link #matches(String)} allocates nothing (it walks the UTF-8 bytes of
 * the text without encoding it into a buffer) and runs in O(text bytes &times; pattern bytes) in the worst case: it
 * never backtracks exponentially, whatever the pattern.
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

  private static final byte[][] NO_CLASSES = new byte[0][];

  private final String pattern;
  private final byte[] kinds;
  /** The byte of a LITERAL token; unused for others. */
  private final byte[] literals;
  /**
   * For a CLASS token: its members as inclusive ranges of signed bytes (C's {@code char} on x86-64),
   * {@code [lo0, hi0, lo1, hi1, ...]}, a single byte being the range {@code b-b}; null for other tokens.
   */
  private final byte[][] classes;
  /** For a CLASS token: whether it was written {@code [^...]}. */
  private final boolean[] negated;
  private final int shape;
  /**
   * For EXACT and PREFIX: the literal bytes (unescaped) decoded as a string. They are always well-formed UTF-8 (an
   * escaping backslash only ever precedes the first byte of a character), so comparing strings is comparing bytes.
   */
  private final String literalText;

  private Glob(String pattern) {
    this.pattern = pattern;
    byte[] p = pattern.getBytes(StandardCharsets.UTF_8); // exact: the pattern was checked to be well-formed
    int n = p.length;
    // Every token consumes at least one pattern byte, so n bounds the token count.
    byte[] k = new byte[n];
    byte[] lit = new byte[n];
    byte[][] cls = null;
    boolean[] neg = null;
    byte[] rangeBuf = null;
    int count = 0;
    int i = 0;
    while (i < n) {
      byte c = p[i];
      switch (c) {
        case '*':
          // Consecutive stars are one star to Redis (it skips them before recursing).
          while (i + 1 < n && p[i + 1] == '*') {
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
          boolean not = i < n && p[i] == '^';
          if (not) {
            i++;
          }
          if (rangeBuf == null) {
            rangeBuf = new byte[2 * n];
          }
          int r = 0;
          while (true) {
            if (i < n && p[i] == '\\' && n - i >= 2) {
              i++;
              rangeBuf[r++] = p[i];
              rangeBuf[r++] = p[i];
            } else if (i < n && p[i] == ']') {
              break;
            } else if (i >= n) {
              // Unterminated: Redis steps back onto the last pattern byte so that the common "advance one"
              // after the switch lands exactly on the end of the pattern.
              i = n - 1;
              break;
            } else if (n - i >= 3 && p[i + 1] == '-') {
              // Signed comparison, as C compares two chars on x86-64 (see the class comment).
              byte lo = p[i];
              byte hi = p[i + 2];
              if (lo > hi) { // Redis swaps a reversed range rather than making it empty
                byte t = lo;
                lo = hi;
                hi = t;
              }
              rangeBuf[r++] = lo;
              rangeBuf[r++] = hi;
              i += 2;
            } else {
              rangeBuf[r++] = p[i];
              rangeBuf[r++] = p[i];
            }
            i++;
          }
          i++; // past the ']' (or onto the end of an unterminated pattern)
          if (cls == null) {
            cls = new byte[n][];
            neg = new boolean[n];
          }
          cls[count] = Arrays.copyOf(rangeBuf, r);
          neg[count] = not;
          k[count++] = CLASS;
          break;
        }
        case '\\':
          // A backslash escapes the next byte; a trailing backslash stands for itself (Redis falls through to the
          // literal comparison with the backslash).
          if (n - i >= 2) {
            i++;
          }
          lit[count] = p[i];
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
      this.literalText = new String(literals, 0, count, StandardCharsets.UTF_8);
    } else if (onlyLiterals && stars == 1 && endsWithStar) {
      this.shape = PREFIX;
      this.literalText = new String(literals, 0, count - 1, StandardCharsets.UTF_8);
    } else {
      this.shape = GENERAL;
      this.literalText = null;
    }
  }

  /**
   * Compiles a glob pattern. Every well-formed string is a valid pattern (as for Redis); the empty pattern matches
   * only the empty string.
   *
   * @param pattern the pattern, in Redis glob syntax
   * @return the compiled pattern
   * @throws NullPointerException if {@code pattern} is null
   * @throws IllegalArgumentException if {@code pattern} has a lone surrogate, which has no UTF-8 encoding (the
   *     message does not quote the pattern)
   */
  public static Glob compile(String pattern) {
    return new Glob(Utf8.requireWellFormed(pattern, "pattern"));
  }

  /**
   * Tells whether the UTF-8 bytes of the whole of {@code text} match this pattern. Allocates nothing.
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
   * The classic two-pointer glob match over the text's UTF-8 bytes: on a mismatch, only the most recent star is
   * retried, one byte further. Retrying earlier stars is never needed, because every non-star token consumes exactly
   * one byte: if the tokens after the last star cannot be placed at any later position, moving an earlier star
   * cannot help either (this is also the observation behind Redis's skipLongerMatches). That bounds the work by
   * text bytes times token count, where naive recursion is exponential in the number of stars.
   *
   * <p>A position in the text is a cursor (char index, byte index within the UTF-8 form of the character there),
   * so the text is never copied into a byte array.
   */
  private boolean matchGeneral(String text) {
    final byte[] kinds = this.kinds;
    final int tokens = kinds.length;
    final int len = text.length();
    int t = 0; // next token
    int ci = 0; // char index of the next text byte
    int bi = 0; // index of the next text byte within the UTF-8 form of the character at ci
    int starToken = -1; // token after the most recent star, -1 if none seen yet
    int starCi = 0; // text position (ci, bi) that the most recent star's next attempt starts from
    int starBi = 0;
    while (ci < len) {
      if (t < tokens) {
        byte kind = kinds[t];
        if (kind == STAR) {
          // First try the star as empty; remember where to resume if the rest fails.
          t++;
          starToken = t;
          starCi = ci;
          starBi = bi;
          continue;
        }
        if (tokenMatches(t, kind, byteAt(text, ci, bi))) {
          t++;
          int width = utf8Width(text, ci);
          if (++bi == width) {
            ci += width == 4 ? 2 : 1;
            bi = 0;
          }
          continue;
        }
      }
      if (starToken < 0) {
        return false;
      }
      // Let the most recent star swallow one more byte and retry the tokens after it.
      int width = utf8Width(text, starCi);
      if (++starBi == width) {
        starCi += width == 4 ? 2 : 1;
        starBi = 0;
      }
      ci = starCi;
      bi = starBi;
      t = starToken;
    }
    // Text used up: only stars (matching the empty sequence) may remain.
    while (t < tokens && kinds[t] == STAR) {
      t++;
    }
    return t == tokens;
  }

  /**
   * The number of UTF-8 bytes of the character at {@code ci}: 4 for a surrogate pair (which spans two chars), 3 for
   * any other character from U+0800, lone surrogates included (their generalized UTF-8 form).
   */
  private static int utf8Width(String text, int ci) {
    char c = text.charAt(ci);
    if (c < 0x80) {
      return 1;
    }
    if (c < 0x800) {
      return 2;
    }
    return isPairAt(text, ci) ? 4 : 3;
  }

  private static boolean isPairAt(String text, int ci) {
    return Character.isHighSurrogate(text.charAt(ci))
        && ci + 1 < text.length()
        && Character.isLowSurrogate(text.charAt(ci + 1));
  }

  /** Byte {@code bi} of the UTF-8 form of the character at {@code ci}. */
  private static byte byteAt(String text, int ci, int bi) {
    char c = text.charAt(ci);
    if (c < 0x80) {
      return (byte) c;
    }
    if (c < 0x800) {
      return (byte) (bi == 0 ? 0xC0 | (c >> 6) : 0x80 | (c & 0x3F));
    }
    if (isPairAt(text, ci)) {
      int cp = Character.toCodePoint(c, text.charAt(ci + 1));
      switch (bi) {
        case 0:
          return (byte) (0xF0 | (cp >> 18));
        case 1:
          return (byte) (0x80 | ((cp >> 12) & 0x3F));
        case 2:
          return (byte) (0x80 | ((cp >> 6) & 0x3F));
        default:
          return (byte) (0x80 | (cp & 0x3F));
      }
    }
    switch (bi) {
      case 0:
        return (byte) (0xE0 | (c >> 12));
      case 1:
        return (byte) (0x80 | ((c >> 6) & 0x3F));
      default:
        return (byte) (0x80 | (c & 0x3F));
    }
  }

  private boolean tokenMatches(int token, byte kind, byte b) {
    switch (kind) {
      case LITERAL:
        return literals[token] == b;
      case ANY:
        return true;
      default: { // CLASS
        byte[] ranges = classes[token];
        boolean in = false;
        for (int i = 0; i < ranges.length; i += 2) {
          if (b >= ranges[i] && b <= ranges[i + 1]) { // signed, as C's char on x86-64
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
