package dev.tiercache;

import java.util.Objects;

/**
 * Text is UTF-8 bytes everywhere (DESIGN.md invariant 6): keys, tags, prefixes and patterns reach Redis as the UTF-8
 * encoding of the Java string. A string with a lone surrogate (a high surrogate not followed by a low one, or a low
 * surrogate not preceded by a high one) has no UTF-8 encoding; Java's {@code String.getBytes} silently replaces it
 * with {@code '?'}, so {@code "user\uD800"} would reach Redis as {@code "user?"} and collide with that key. Such
 * strings are refused where they enter the cache, with an error that names what was refused but never quotes it
 * (a key may be personal data).
 */
final class Utf8 {

  private Utf8() {}

  /**
   * Returns {@code text} if it is well-formed UTF-16 (every surrogate is part of a pair), and refuses it otherwise.
   *
   * @param text the string to check
   * @param what what the string is, for the error message: {@code "key"}, {@code "tag"}, {@code "prefix"}...
   * @return {@code text}
   * @throws NullPointerException if {@code text} is null (the message is {@code what})
   * @throws IllegalArgumentException if {@code text} has a lone surrogate; the message names {@code what} and the
   *     index of the first lone surrogate, not the text
   */
  static String requireWellFormed(String text, String what) {
    Objects.requireNonNull(text, what);
    int bad = firstLoneSurrogate(text);
    if (bad >= 0) {
      throw new IllegalArgumentException(
          what
              + " is not well-formed UTF-16: lone surrogate at index "
              + bad
              + " (it has no UTF-8 encoding, and text is stored as UTF-8)");
    }
    return text;
  }

  /**
   * Tells whether {@code text} is well-formed UTF-16.
   *
   * @param text a non-null string
   * @return true if every surrogate in it is part of a high-low pair
   */
  static boolean isWellFormed(String text) {
    return firstLoneSurrogate(text) < 0;
  }

  /** The index of the first lone surrogate, or -1. Linear, allocates nothing. */
  private static int firstLoneSurrogate(String text) {
    int n = text.length();
    for (int i = 0; i < n; i++) {
      char c = text.charAt(i);
      if (!Character.isSurrogate(c)) {
        continue;
      }
      if (Character.isHighSurrogate(c) && i + 1 < n && Character.isLowSurrogate(text.charAt(i + 1))) {
        i++; // a pair: skip its low half
        continue;
      }
      return i;
    }
    return -1;
  }
}
