package dev.tiercache.codec;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * The codecs that need nothing beyond the JDK. For objects, see {@link JsonCodec} (needs Jackson on the class
 * path) and {@link JavaSerializationCodec} (Java serialization behind an allow-list).
 */
public final class ValueCodecs {

  // Jackson is an optional dependency: this class must never mention JsonCodec in code (javadoc links are fine),
  // or loading it would drag Jackson in and fail for users who do not have it.

  private static final ValueCodec<String> STRING = new StringCodec();
  private static final ValueCodec<byte[]> BYTES = new BytesCodec();

  /** Bounds the cause chain copied by {@link #failure}; chains are short, cycles are not worth a set. */
  private static final int MAX_CAUSE_DEPTH = 8;

  private ValueCodecs() {}

  /**
   * A codec for strings as UTF-8, with id {@code "string"}. Both directions are strict: encoding a string that
   * holds an unpaired surrogate, or decoding bytes that are not well-formed UTF-8, throws {@link CodecException}
   * instead of substituting replacement characters, so the L2 never holds a value that differs from the one put.
   *
   * @return the codec; thread-safe and shared
   */
  public static ValueCodec<String> string() {
    return STRING;
  }

  /**
   * A codec for raw byte arrays, with id {@code "bytes"}. It copies in both directions, so a caller that
   * modifies an array after {@code put} or after {@code get} cannot change what the cache holds or hands out to
   * others. Any byte sequence is a valid encoding, so decoding never fails.
   *
   * @return the codec; thread-safe and shared
   */
  public static ValueCodec<byte[]> bytes() {
    return BYTES;
  }

  /**
   * Wraps a third-party failure without its message. Parsers and deserializers quote the input in their messages
   * (Jackson: {@code from String "alice@example.com"}), and a logged stack trace prints every message in the cause
   * chain, so the chain is copied with each message replaced by the original exception's class name; the stack
   * traces are kept, since they are what one needs to debug a codec.
   */
  static CodecException failure(String message, Throwable cause) {
    return new CodecException(message + " (" + cause.getClass().getName() + ")", redacted(cause, 0));
  }

  private static Throwable redacted(Throwable t, int depth) {
    Throwable cause = t.getCause();
    RedactedException copy =
        new RedactedException(
            t.getClass().getName(), cause != null && depth < MAX_CAUSE_DEPTH ? redacted(cause, depth + 1) : null);
    copy.setStackTrace(t.getStackTrace());
    return copy;
  }

  /** Stands in for a third-party exception whose message may quote cached data. */
  private static final class RedactedException extends RuntimeException {
    RedactedException(String originalClass, Throwable cause) {
      super(originalClass + " (message withheld: it may quote the cached value)", cause);
    }
  }

  private static final class StringCodec implements ValueCodec<String> {

    @Override
    public String id() {
      return "string";
    }

    // The JDK's String coders are several times cheaper than a CharsetEncoder/Decoder (no coder, no intermediate
    // buffer, ASCII copied in bulk) but replace what they cannot code. Their result is kept when it provably holds no
    // replacement; otherwise the strict coder decides, so every input gets exactly the strict coder's answer
    // (ValueCodecsTest compares the two on random input).

    @Override
    public byte[] encode(String value) {
      Objects.requireNonNull(value, "value");
      byte[] bytes = value.getBytes(StandardCharsets.UTF_8);
      // A lone surrogate becomes '?', one byte for one char: one byte per char and no '?' means only ASCII.
      if (bytes.length == value.length() ? indexOf(bytes, (byte) '?') < 0 : !hasSurrogate(value)) {
        return bytes;
      }
      try {
        // CharsetEncoder/Decoder are stateful and not thread-safe: one per call.
        ByteBuffer buffer =
            StandardCharsets.UTF_8
                .newEncoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT)
                .encode(CharBuffer.wrap(value));
        byte[] strict = new byte[buffer.remaining()];
        buffer.get(strict);
        return strict;
      } catch (CharacterCodingException e) {
        throw new CodecException("string holds an unpaired surrogate and has no UTF-8 form", e);
      }
    }

    @Override
    public String decode(byte[] bytes) {
      Objects.requireNonNull(bytes, "bytes");
      String value = new String(bytes, StandardCharsets.UTF_8);
      // Malformed input decodes to U+FFFD: without one, the bytes were well-formed and this is the strict result.
      if (value.indexOf('\uFFFD') < 0) {
        return value;
      }
      try {
        return StandardCharsets.UTF_8
            .newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT)
            .decode(ByteBuffer.wrap(bytes))
            .toString();
      } catch (CharacterCodingException e) {
        // The JDK's message is only "Input length = n": safe to keep as the cause.
        throw new CodecException("bytes are not well-formed UTF-8", e);
      }
    }

    private static int indexOf(byte[] bytes, byte b) {
      for (int i = 0; i < bytes.length; i++) {
        if (bytes[i] == b) {
          return i;
        }
      }
      return -1;
    }

    private static boolean hasSurrogate(String value) {
      for (int i = 0; i < value.length(); i++) {
        if (Character.isSurrogate(value.charAt(i))) {
          return true;
        }
      }
      return false;
    }

    @Override
    public String toString() {
      return "ValueCodecs.string()";
    }
  }

  private static final class BytesCodec implements ValueCodec<byte[]> {

    @Override
    public String id() {
      return "bytes";
    }

    @Override
    public byte[] encode(byte[] value) {
      return Objects.requireNonNull(value, "value").clone();
    }

    @Override
    public byte[] decode(byte[] bytes) {
      return Objects.requireNonNull(bytes, "bytes").clone();
    }

    @Override
    public String toString() {
      return "ValueCodecs.bytes()";
    }
  }
}
