package dev.tiercache.codec;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JavaType;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.ObjectWriter;
import java.io.IOException;
import java.util.Objects;

/**
 * A codec that stores values as JSON with Jackson, with id {@code "json"}. Jackson ({@code
 * com.fasterxml.jackson.core:jackson-databind}) is an optional dependency of cache-core: add it to use this class.
 *
 * <p>The default {@link ObjectMapper} is a plain {@code new ObjectMapper()} with {@link
 * DeserializationFeature#FAIL_ON_UNKNOWN_PROPERTIES} disabled, so that entries written by a newer version of the
 * application (with extra fields) stay readable by an older one during a rolling deploy instead of turning every
 * read into a miss. It registers no modules: for {@code java.time} or {@code Optional} properties, pass a mapper
 * with the corresponding Jackson modules.
 *
 * <p><b>Security.</b> The default mapper never enables default typing ({@code activateDefaultTyping}), which would
 * let the bytes choose the class to instantiate: the L2 is shared and its contents untrusted, and polymorphic
 * typing by class name is the classic Jackson deserialization-gadget hole. If you pass your own mapper, keep it that
 * way, and prefer {@code @JsonTypeInfo(use = Id.NAME)} with registered subtypes over {@code Id.CLASS} on cached
 * types.
 *
 * <p>Decoding is strict about framing: an empty input, a JSON {@code null}, or trailing content after the value
 * are reported as corrupt. Instances are immutable and thread-safe.
 *
 * @param <V> the value type
 */
public final class JsonCodec<V> implements ValueCodec<V> {

  private final ObjectReader reader;
  private final ObjectWriter writer;
  private final String typeName;

  private JsonCodec(JavaType type, ObjectMapper mapper) {
    // Bytes we wrote never have trailing content; if they do, they were corrupted or written by something else.
    this.reader = mapper.readerFor(type).with(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    // Writing for the declared type keeps encode and decode symmetric (decode can only produce the declared type).
    this.writer = mapper.writerFor(type);
    this.typeName = type.toCanonical();
  }

  /**
   * Creates a codec for a class, using the default mapper (see the class documentation).
   *
   * @param type the value class
   * @param <V> the value type
   * @return the codec
   * @throws NullPointerException if {@code type} is null
   */
  public static <V> JsonCodec<V> of(Class<V> type) {
    return of(type, DefaultMapper.INSTANCE);
  }

  /**
   * Creates a codec for a class with the given mapper. The mapper's configuration is captured now: changing the
   * mapper afterwards does not affect the codec.
   *
   * @param type the value class
   * @param mapper the mapper; must not have default typing enabled unless its type validator is an allow-list
   * @param <V> the value type
   * @return the codec
   * @throws NullPointerException if an argument is null
   */
  public static <V> JsonCodec<V> of(Class<V> type, ObjectMapper mapper) {
    Objects.requireNonNull(type, "type");
    Objects.requireNonNull(mapper, "mapper");
    return new JsonCodec<>(mapper.constructType(type), mapper);
  }

  /**
   * Creates a codec for a generic type, such as {@code new TypeReference<List<Item>>() {}}, using the default
   * mapper (see the class documentation).
   *
   * @param type the value type
   * @param <V> the value type
   * @return the codec
   * @throws NullPointerException if {@code type} is null
   */
  public static <V> JsonCodec<V> of(TypeReference<V> type) {
    return of(type, DefaultMapper.INSTANCE);
  }

  /**
   * Creates a codec for a generic type with the given mapper. The mapper's configuration is captured now: changing
   * the mapper afterwards does not affect the codec.
   *
   * @param type the value type
   * @param mapper the mapper; must not have default typing enabled unless its type validator is an allow-list
   * @param <V> the value type
   * @return the codec
   * @throws NullPointerException if an argument is null
   */
  public static <V> JsonCodec<V> of(TypeReference<V> type, ObjectMapper mapper) {
    Objects.requireNonNull(type, "type");
    Objects.requireNonNull(mapper, "mapper");
    return new JsonCodec<>(mapper.getTypeFactory().constructType(type), mapper);
  }

  /**
   * Returns {@code "json"}.
   *
   * @return {@code "json"}
   */
  @Override
  public String id() {
    return "json";
  }

  /**
   * Writes the value as UTF-8 JSON.
   *
   * @param value the value; never null
   * @return the JSON bytes
   * @throws CodecException if Jackson cannot serialize the value (for example a type without accessible
   *     properties, or a getter that throws); the message does not contain the value
   */
  @Override
  public byte[] encode(V value) {
    Objects.requireNonNull(value, "value");
    try {
      return writer.writeValueAsBytes(value);
    } catch (JsonProcessingException | RuntimeException e) {
      throw ValueCodecs.failure("cannot write " + typeName + " as JSON" + location(e), e);
    }
  }

  /**
   * Reads a value from JSON bytes.
   *
   * @param bytes the JSON bytes; never null
   * @return the value; never null
   * @throws CodecException if the bytes are not a single well-formed JSON value that maps to the codec's type (also
   *     for an empty input and for JSON {@code null}); the message does not contain the input
   */
  @Override
  public V decode(byte[] bytes) {
    Objects.requireNonNull(bytes, "bytes");
    V value;
    try {
      value = reader.readValue(bytes);
    } catch (IOException | RuntimeException e) {
      // RuntimeException too: custom deserializers and constructors may throw anything, and the contract promises
      // the cache nothing but CodecException from decode.
      throw ValueCodecs.failure("cannot read " + typeName + " from JSON" + location(e), e);
    }
    if (value == null) {
      throw new CodecException("JSON is null where a " + typeName + " was expected");
    }
    return value;
  }

  /**
   * Describes the codec for diagnostics.
   *
   * @return a description naming the value type
   */
  @Override
  public String toString() {
    return "JsonCodec[" + typeName + "]";
  }

  private static String location(Exception e) {
    // Line and column locate the damage without quoting it; Jackson 2.16+ already redacts the source itself.
    if (e instanceof JsonProcessingException) {
      JsonLocation location = ((JsonProcessingException) e).getLocation();
      if (location != null && location.getLineNr() > 0) {
        return " at line " + location.getLineNr() + ", column " + location.getColumnNr();
      }
    }
    return "";
  }

  /** Holds the default mapper so that codecs built with a caller's mapper never create it. */
  private static final class DefaultMapper {
    static final ObjectMapper INSTANCE =
        new ObjectMapper().disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
  }
}
