package dev.tiercache;

/** Refuses strings that are not well-formed UTF-16, before they become bytes in Redis. */
final class Utf8 {

  private Utf8() {}

  /**
   * Checks that a string has no lone surrogate: encoding one to UTF-8 replaces it with {@code ?}, which would make
   * it another key's bytes (a value put under {@code "user\uD800"} read back by {@code "user?"}).
   *
   * @param text the string
   * @param what what it is, for the message (the string itself is not quoted: it may be personal data)
   * @throws IllegalArgumentException if it is malformed
   */
  static void requireWellFormed(String text, String what) {
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (Character.isSurrogate(c)) {
        if (Character.isHighSurrogate(c) && i + 1 < text.length() && Character.isLowSurrogate(text.charAt(i + 1))) {
          i++;
        } else {
          throw new IllegalArgumentException(
              "the " + what + " is not well-formed UTF-16: a lone surrogate at index " + i + " has no UTF-8 form");
        }
      }
    }
  }
}
