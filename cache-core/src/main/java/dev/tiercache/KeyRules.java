package dev.tiercache;

/** The one rule every operation applies to encoded keys. */
final class KeyRules {

  private final int maxBytes;

  KeyRules(int maxBytes) {
    this.maxBytes = maxBytes;
  }

  /**
   * Checks an encoded key.
   *
   * @throws IllegalArgumentException if it is empty, malformed or too long; the key itself is not quoted, since it
   *     may be personal data
   */
  void check(String key) {
    if (key.isEmpty()) {
      throw new IllegalArgumentException("the encoded key is empty; every operation refuses empty keys");
    }
    // Three bytes per char at most: most keys are short enough to skip counting.
    if ((long) key.length() * 3 > maxBytes) {
      long bytes = utf8Length(key);
      if (bytes > maxBytes) {
        throw new IllegalArgumentException(
            "the encoded key is " + bytes + " bytes of UTF-8, more than maxKeyBytes (" + maxBytes + ")");
      }
    }
    Utf8.requireWellFormed(key, "key");
  }

  /**
   * Checks an invalidation's argument: a key under the key rule, any other argument (prefix, tag, pattern) well-formed
   * and no longer than a key may be, since it travels in bus messages too.
   *
   * @throws IllegalArgumentException if it breaks the rule
   */
  void checkArgument(Invalidation invalidation) {
    String argument = invalidation.argument();
    if (argument == null) {
      return;
    }
    if (invalidation.strategy() == BuiltInStrategy.KEY) {
      check(argument);
      return;
    }
    if ((long) argument.length() * 3 > maxBytes && utf8Length(argument) > maxBytes) {
      throw new IllegalArgumentException(
          "the " + invalidation.strategy().name() + " argument is longer than maxKeyBytes (" + maxBytes + ")");
    }
    if (!invalidation.isBuiltIn()) {
      // The built-in strategies refuse malformed text when the request is made; a custom one may not.
      Utf8.requireWellFormed(argument, invalidation.strategy().name());
    }
  }

  static long utf8Length(String s) {
    long bytes = 0;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c < 0x80) {
        bytes++;
      } else if (c < 0x800) {
        bytes += 2;
      } else if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
        bytes += 4;
        i++;
      } else {
        bytes += 3;
      }
    }
    return bytes;
  }
}
