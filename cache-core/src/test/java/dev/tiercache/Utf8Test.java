package dev.tiercache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Strings with a lone surrogate have no UTF-8 encoding; Java would send them to Redis with '?' in its place, so
 * that {@code "user\uD800"} and {@code "user?"} became one key. They are refused where they enter the cache, and the
 * error never quotes them.
 */
class Utf8Test {

  /** Malformed strings, each with a lone surrogate somewhere, around a recognisable secret. */
  private static final List<String> MALFORMED =
      List.of(
          "secret\uD800", // high surrogate at the end
          "\uDC00secret", // low surrogate at the start
          "sec\uD800ret", // high surrogate followed by a non-surrogate
          "sec\uDC00\uD800ret", // low before high: two lone ones, not a pair
          "secret\uD83D\uDE00\uDE00", // a pair, then a lone low surrogate
          "\uD800\uD800secret"); // two highs

  @ParameterizedTest
  @ValueSource(strings = {"", "user:42", "café", "naïve 日本", "emoji 😀 and 𝄞", "\uD83D\uDE00", "?*[]\\"})
  void wellFormedTextPassesUnchanged(String text) {
    assertThat(Utf8.isWellFormed(text)).isTrue();
    assertThat(Utf8.requireWellFormed(text, "key")).isSameAs(text);
  }

  @Test
  void loneSurrogatesAreRefusedNamingWhatAndWhereButNotTheText() {
    for (String text : MALFORMED) {
      assertThat(Utf8.isWellFormed(text)).as("index of lone surrogate in case %s", MALFORMED.indexOf(text)).isFalse();
      assertThatThrownBy(() -> Utf8.requireWellFormed(text, "key"))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageStartingWith("key is not well-formed UTF-16")
          .hasMessageNotContaining("secret")
          .hasMessageNotContaining("sec");
    }
    assertThatThrownBy(() -> Utf8.requireWellFormed("ab\uDC00", "prefix")).hasMessageContaining("at index 2");
    assertThatThrownBy(() -> Utf8.requireWellFormed("\uD83D\uDE00x\uD800", "tag")).hasMessageContaining("at index 3");
  }

  @Test
  void theBugThisPreventsIsReal() {
    // Why the check exists: Java's encoder turns the lone surrogate into '?', so two different keys collide.
    assertThat("user\uD800".getBytes(java.nio.charset.StandardCharsets.UTF_8))
        .isEqualTo("user?".getBytes(java.nio.charset.StandardCharsets.UTF_8));
  }

  @Test
  void nullIsRefusedNamingWhat() {
    assertThatThrownBy(() -> Utf8.requireWellFormed(null, "pattern"))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("pattern");
  }

  @Test
  void tagsRefuseLoneSurrogates() {
    for (String text : MALFORMED) {
      assertThatThrownBy(() -> Tags.of("ok", text))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageStartingWith("tag is not well-formed UTF-16")
          .hasMessageNotContaining("sec");
      assertThatThrownBy(() -> Tags.of(List.of(text)))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageStartingWith("tag ");
    }
    assertThat(Tags.of("tenant:é", "emoji 😀").asSet()).containsExactly("tenant:é", "emoji 😀");
  }

  @Test
  void builtInInvalidationsRefuseLoneSurrogatesNamingTheirStrategy() {
    for (String text : MALFORMED) {
      assertThatThrownBy(() -> Invalidation.key(text))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageStartingWith("key is not well-formed")
          .hasMessageNotContaining("sec");
      assertThatThrownBy(() -> Invalidation.prefix(text))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageStartingWith("prefix is not well-formed");
      assertThatThrownBy(() -> Invalidation.tag(text))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageStartingWith("tag is not well-formed");
      assertThatThrownBy(() -> Invalidation.pattern(text))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageStartingWith("pattern is not well-formed");
      assertThatThrownBy(() -> Invalidation.of(BuiltInStrategy.PATTERN, text))
          .isInstanceOf(IllegalArgumentException.class);
    }
    // Well-formed non-ASCII arguments are fine, and a key invalidation still names exactly its key.
    assertThat(Invalidation.key("café").singleKey()).isEqualTo("café");
    assertThat(Invalidation.prefix("naï").covers("naïve", Tags.empty())).isTrue();
    assertThat(Invalidation.tag("日本").covers("k", Tags.of("日本"))).isTrue();
    assertThat(Invalidation.pattern("caf*").covers("café", Tags.empty())).isTrue();
  }
}
