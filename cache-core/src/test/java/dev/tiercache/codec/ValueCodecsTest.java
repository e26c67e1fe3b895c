package dev.tiercache.codec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ValueCodecsTest {

  private final ValueCodec<String> strings = ValueCodecs.string();
  private final ValueCodec<byte[]> bytes = ValueCodecs.bytes();

  @Test
  void idsAreStable() {
    assertThat(strings.id()).isEqualTo("string");
    assertThat(bytes.id()).isEqualTo("bytes");
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "plain ascii", "héllo wörld", "日本語のテキスト", "emoji 😀🎉 outside the BMP", "\uFEFFleading BOM", "nul\u0000inside",
      "a stored \uFFFD replacement character", "\uFFFD", "question? marks?"})
  void stringRoundTripsAsUtf8(String value) {
    byte[] encoded = strings.encode(value);

    assertThat(encoded).isEqualTo(value.getBytes(StandardCharsets.UTF_8));
    assertThat(strings.decode(encoded)).isEqualTo(value);
  }

  @Test
  void malformedUtf8IsACodecException() {
    byte[][] malformed = {
      {(byte) 0xC3}, // truncated two-byte sequence
      {(byte) 0xFF}, // never valid in UTF-8
      {'a', (byte) 0x80, 'b'}, // stray continuation byte
      {(byte) 0xC0, (byte) 0x80}, // overlong NUL
      {(byte) 0xED, (byte) 0xA0, (byte) 0x80}, // an encoded surrogate
      {(byte) 0xF4, (byte) 0x90, (byte) 0x80, (byte) 0x80}, // above U+10FFFF
    };
    for (byte[] input : malformed) {
      assertThatThrownBy(() -> strings.decode(input))
          .as("decode of %s", java.util.Arrays.toString(input))
          .isInstanceOf(CodecException.class)
          .hasMessageContaining("UTF-8");
    }
  }

  @Test
  void unpairedSurrogateIsRefusedRatherThanReplaced() {
    // getBytes(UTF_8) would silently store "?" and the L2 would disagree with the L1.
    assertThatThrownBy(() -> strings.encode("before\uD800after"))
        .isInstanceOf(CodecException.class)
        .hasMessageNotContaining("before");
  }

  /**
   * The string codec takes the JDK's fast lenient coders and falls back to the strict ones only when the result may
   * hold a replacement: it must agree with the strict coders on every input. Random byte arrays (mostly malformed,
   * some valid multi-byte text, some U+FFFD itself) and random strings (with lone surrogates, '?' and U+FFFD), fixed
   * seed, bounded count.
   */
  @Test
  void agreesWithTheStrictJdkCodersOnRandomInput() {
    java.util.Random random = new java.util.Random(0x5eed);
    String alphabet = "a?\uFFFD\u00E9\u65E5\uD83D\uDE00\uD800\uDC00";
    for (int round = 0; round < 20_000; round++) {
      byte[] input = new byte[random.nextInt(12)];
      for (int i = 0; i < input.length; i++) {
        int pick = random.nextInt(4);
        input[i] = pick == 0 ? (byte) 'x' : pick == 1 ? (byte) (0x80 | random.nextInt(64)) : (byte) random.nextInt(256);
      }
      assertThat(outcome(() -> strings.decode(input))).as("decode %s", java.util.Arrays.toString(input))
          .isEqualTo(outcome(() -> strictDecode(input)));
      StringBuilder text = new StringBuilder();
      for (int i = random.nextInt(8); i > 0; i--) {
        text.append(alphabet.charAt(random.nextInt(alphabet.length())));
      }
      String value = text.toString();
      assertThat(outcome(() -> java.util.Arrays.toString(strings.encode(value)))).as("encode %s", value.chars().boxed().toList())
          .isEqualTo(outcome(() -> java.util.Arrays.toString(strictEncode(value))));
    }
  }

  private static String outcome(java.util.concurrent.Callable<String> call) {
    try {
      return "ok " + call.call();
    } catch (CodecException e) {
      return "refused";
    } catch (Exception e) {
      return "other " + e;
    }
  }

  private static String strictDecode(byte[] input) throws Exception {
    try {
      return StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(input)).toString();
    } catch (java.nio.charset.CharacterCodingException e) {
      throw new CodecException("strict", e);
    }
  }

  private static byte[] strictEncode(String value) throws Exception {
    try {
      java.nio.ByteBuffer out = StandardCharsets.UTF_8.newEncoder().encode(java.nio.CharBuffer.wrap(value));
      byte[] bytes = new byte[out.remaining()];
      out.get(bytes);
      return bytes;
    } catch (java.nio.charset.CharacterCodingException e) {
      throw new CodecException("strict", e);
    }
  }

  @Test
  void bytesRoundTrip() {
    assertThat(bytes.decode(bytes.encode(new byte[0]))).isEmpty();
    byte[] all = new byte[256];
    for (int i = 0; i < all.length; i++) {
      all[i] = (byte) i;
    }
    assertThat(bytes.decode(bytes.encode(all))).isEqualTo(all);
  }

  @Test
  void bytesCodecCopiesInBothDirections() {
    byte[] original = {1, 2, 3};
    byte[] encoded = bytes.encode(original);
    original[0] = 99;
    assertThat(encoded).containsExactly(1, 2, 3);

    byte[] stored = {4, 5, 6};
    byte[] first = bytes.decode(stored);
    first[0] = 99;
    byte[] second = bytes.decode(stored);
    assertThat(stored).containsExactly(4, 5, 6);
    assertThat(second).containsExactly(4, 5, 6);
    assertThat(first).isNotSameAs(second);
  }

  /**
   * Jackson is optional: the JDK-only codecs must work from a class loader that cannot see it. The loader holds only
   * the compiled main classes on top of the JDK.
   */
  @Test
  void jdkCodecsWorkWithoutJacksonOnTheClassPath() throws Exception {
    URL mainClasses = ValueCodecs.class.getProtectionDomain().getCodeSource().getLocation();
    try (URLClassLoader isolated = new URLClassLoader(new URL[] {mainClasses}, ClassLoader.getPlatformClassLoader())) {
      // The control: Jackson really is absent there, and the JSON codec fails to load.
      assertThatThrownBy(() -> isolated.loadClass("com.fasterxml.jackson.databind.ObjectMapper"))
          .isInstanceOf(ClassNotFoundException.class);
      Throwable json =
          catchThrowable(
              () ->
                  Class.forName("dev.tiercache.codec.JsonCodec", true, isolated)
                      .getMethod("of", Class.class)
                      .invoke(null, String.class));
      assertThat(json).isNotNull();
      assertThat(rootCause(json)).isInstanceOfAny(NoClassDefFoundError.class, ClassNotFoundException.class);

      Class<?> codecType = isolated.loadClass("dev.tiercache.codec.ValueCodec");
      Method encode = codecType.getMethod("encode", Object.class);
      Method decode = codecType.getMethod("decode", byte[].class);

      Object string = isolated.loadClass("dev.tiercache.codec.ValueCodecs").getMethod("string").invoke(null);
      assertThat(decode.invoke(string, encode.invoke(string, "é"))).isEqualTo("é");

      Object java =
          isolated
              .loadClass("dev.tiercache.codec.JavaSerializationCodec")
              .getMethod("allowing", Class.class, Class[].class)
              .invoke(null, String.class, new Class<?>[0]);
      assertThat(decode.invoke(java, encode.invoke(java, "é"))).isEqualTo("é");
    }
  }

  private static Throwable rootCause(Throwable t) {
    Throwable cause = t;
    while (cause.getCause() != null) {
      cause = cause.getCause();
    }
    return cause;
  }
}
