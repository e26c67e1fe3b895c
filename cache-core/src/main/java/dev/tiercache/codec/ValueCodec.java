package dev.tiercache.codec;

/**
 * Turns cache values into bytes for the L2 and back. The L1 keeps values as objects, so a codec runs only when a
 * value crosses into or out of the L2; values should therefore be immutable, as with any shared cache.
 *
 * <p>Implementations must be thread-safe. {@link #decode(byte[])} must treat its input as untrusted: bytes in a
 * shared Redis may have been written by another version of the application or by someone else entirely.
 *
 * @param <V> the value type
 */
public interface ValueCodec<V> {

  /**
   * A short, stable identifier of this codec's format (for example {@code "json"}), recorded with each L2 entry so
   * that bytes written by one codec are never handed to another.
   *
   * @return the identifier; never null or empty
   */
  String id();

  /**
   * Encodes a value.
   *
   * @param value the value; never null (absent values are represented by the cache itself, not by the codec)
   * @return the encoded bytes; never null
   * @throws CodecException if the value cannot be encoded
   */
  byte[] encode(V value);

  /**
   * Decodes bytes produced by {@link #encode(Object)}.
   *
   * @param bytes the encoded bytes; never null
   * @return the value; never null
   * @throws CodecException if the bytes are corrupt, of a foreign format, or name a class that is not allowed; the
   *     cache counts this as an L2 miss and never passes the exception to its caller
   */
  V decode(byte[] bytes);
}
