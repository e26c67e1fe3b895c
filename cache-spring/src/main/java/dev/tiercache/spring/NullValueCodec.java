package dev.tiercache.spring;

import dev.tiercache.codec.CodecException;
import dev.tiercache.codec.ValueCodec;
import java.util.Arrays;
import java.util.Objects;
import org.springframework.cache.support.NullValue;

/**
 * The codec of a cache that allows null values: one leading byte tells Spring's {@link NullValue} marker ({@code 0})
 * from a value ({@code 1}, then the wrapped codec's bytes). Its id is the wrapped codec's with an {@code n+} prefix,
 * so entries written with and without null support never meet. Nulls are now cached as the tiered cache's own
 * absence (which lives for the negative TTL), so only entries written by earlier versions hold the marker.
 */
final class NullValueCodec implements ValueCodec<Object> {

  private static final byte NULL = 0;
  private static final byte VALUE = 1;

  private final ValueCodec<Object> values;
  private final String id;

  NullValueCodec(ValueCodec<Object> values) {
    this.values = Objects.requireNonNull(values, "values");
    this.id = "n+" + values.id();
  }

  @Override
  public String id() {
    return id;
  }

  @Override
  public byte[] encode(Object value) {
    if (value == NullValue.INSTANCE) {
      return new byte[] {NULL};
    }
    byte[] encoded = values.encode(value);
    byte[] out = new byte[encoded.length + 1];
    out[0] = VALUE;
    System.arraycopy(encoded, 0, out, 1, encoded.length);
    return out;
  }

  @Override
  public Object decode(byte[] bytes) {
    if (bytes.length == 1 && bytes[0] == NULL) {
      return NullValue.INSTANCE;
    }
    if (bytes.length == 0 || bytes[0] != VALUE) {
      throw new CodecException("not an entry of codec '" + id + "'");
    }
    return values.decode(Arrays.copyOfRange(bytes, 1, bytes.length));
  }

  @Override
  public String toString() {
    return "NullValueCodec[" + values + "]";
  }
}
