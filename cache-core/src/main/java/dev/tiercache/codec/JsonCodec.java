package dev.tiercache.codec;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.DeserializationConfig;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JavaType;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.databind.jsontype.PolymorphicTypeValidator;
import com.fasterxml.jackson.databind.jsontype.PolymorphicTypeValidator.Validity;
import com.fasterxml.jackson.databind.jsontype.TypeResolverBuilder;
import com.fasterxml.jackson.databind.jsontype.impl.LaissezFaireSubTypeValidator;
import com.fasterxml.jackson.databind.jsontype.impl.StdTypeResolverBuilder;
import java.io.Closeable;
import java.io.IOException;
import java.io.Serializable;
import java.util.List;
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
 * typing by class name is the classic Jackson deserialization-gadget hole. In the spirit of {@link
 * JavaSerializationCodec}'s allow-list, {@link #of(Class, ObjectMapper)} refuses a mapper whose default typing is
 * active with a validator ({@link PolymorphicTypeValidator}) that is not an allow-list. It tells one from the other
 * by asking the validator, as Jackson would, about inputs that no allow-list admits:
 *
 * <ul>
 *   <li>{@link LaissezFaireSubTypeValidator}, what {@code enableDefaultTyping()} and a bare {@code setDefaultTyping}
 *       use, is refused outright;
 *   <li>a validator that allows {@code Object}, {@code Serializable}, {@code Comparable}, {@code AutoCloseable} or
 *       {@code Closeable} as a base type (Jackson then admits every subtype unchecked), as
 *       {@code allowIfBaseType(Object.class)} does, is refused;
 *   <li>a validator that allows, by name or by class, a class it cannot have been told about (a private class of
 *       this codec), as {@code allowIfSubType(Object.class)} does, or one of a few well-known gadget classes
 *       ({@code com.sun.rowset.JdbcRowSetImpl}, the JDK's {@code TemplatesImpl}, Spring's {@code
 *       ClassPathXmlApplicationContext}, logback's {@code DriverManagerConnectionSource}, {@code
 *       java.util.logging.FileHandler}), as {@code allowIfSubType("com.")} does, is refused;
 *   <li>a default typer that is not Jackson's own ({@code StdTypeResolverBuilder} or a subclass) is refused, because
 *       its validator cannot be asked.
 * </ul>
 *
 * An allow-list of your own types, such as {@code BasicPolymorphicTypeValidator.builder().allowIfSubType(
 * MyEvent.class).build()}, passes. The check is a probe, not a proof: a hand-written validator that admits some
 * other dangerous class while refusing every probe above cannot be detected, so write validators as allow-lists.
 * Polymorphism declared per type ({@code @JsonTypeInfo} on a cached class, without default typing) is not checked:
 * prefer {@code use = Id.NAME} with registered subtypes over {@code Id.CLASS} there.
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
   * @throws IllegalArgumentException if the mapper has default typing with a validator that is not an allow-list
   *     (see the class documentation)
   */
  public static <V> JsonCodec<V> of(Class<V> type, ObjectMapper mapper) {
    Objects.requireNonNull(type, "type");
    Objects.requireNonNull(mapper, "mapper");
    refuseUnsafeDefaultTyping(mapper);
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
   * @throws IllegalArgumentException if the mapper has default typing with a validator that is not an allow-list
   *     (see the class documentation)
   */
  public static <V> JsonCodec<V> of(TypeReference<V> type, ObjectMapper mapper) {
    Objects.requireNonNull(type, "type");
    Objects.requireNonNull(mapper, "mapper");
    refuseUnsafeDefaultTyping(mapper);
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

  /** Base types that gadget classes commonly have; a validator must not admit every subtype of one of them. */
  private static final List<Class<?>> BROAD_BASES =
      List.of(Object.class, Serializable.class, Comparable.class, AutoCloseable.class, Closeable.class);

  /** Well-known Jackson deserialization gadgets, asked about by name only: nothing here is loaded. */
  private static final List<String> GADGET_NAMES =
      List.of(
          "com.sun.rowset.JdbcRowSetImpl",
          "com.sun.org.apache.xalan.internal.xsltc.trax.TemplatesImpl",
          "org.springframework.context.support.ClassPathXmlApplicationContext",
          "ch.qos.logback.core.db.DriverManagerConnectionSource",
          "java.util.logging.FileHandler");

  /** A class no allow-list names: a validator that admits it admits classes it was never told about. */
  private static final class UnlistedProbe {}

  /** Refuses a mapper whose default typing lets untrusted bytes pick classes (see the class documentation). */
  private static void refuseUnsafeDefaultTyping(ObjectMapper mapper) {
    DeserializationConfig config = mapper.getDeserializationConfig();
    TypeResolverBuilder<?> typer = config.getDefaultTyper(null); // the base type is ignored: one typer per mapper
    if (typer == null) {
      return; // no default typing: the safe, usual case
    }
    if (!(typer instanceof StdTypeResolverBuilder)) {
      throw unsafeTyping("its default typer " + typer.getClass().getName() + " does not expose its type validator");
    }
    PolymorphicTypeValidator validator = ((StdTypeResolverBuilder) typer).subTypeValidator(config);
    String why = permissiveness(validator, config);
    if (why != null) {
      throw unsafeTyping("its type validator " + why);
    }
  }

  /** Why the validator is not an allow-list, or null if every probe was refused. */
  private static String permissiveness(PolymorphicTypeValidator validator, DeserializationConfig config) {
    if (validator == null || validator instanceof LaissezFaireSubTypeValidator) {
      return "allows every class (LaissezFaireSubTypeValidator)";
    }
    String name = validator.getClass().getName();
    for (Class<?> base : BROAD_BASES) {
      if (validator.validateBaseType(config, config.constructType(base)) == Validity.ALLOWED) {
        return name + " allows every subtype of " + base.getName();
      }
    }
    JavaType object = config.constructType(Object.class);
    for (String gadget : GADGET_NAMES) {
      if (allowed(() -> validator.validateSubClassName(config, object, gadget))) {
        return name + " allows the known deserialization gadget " + gadget;
      }
    }
    JavaType probe = config.constructType(UnlistedProbe.class);
    if (allowed(() -> validator.validateSubClassName(config, object, UnlistedProbe.class.getName()))
        || allowed(() -> validator.validateSubType(config, object, probe))) {
      return name + " allows classes that no allow-list names";
    }
    return null;
  }

  @FunctionalInterface
  private interface Probe {
    Validity ask() throws IOException;
  }

  /** A validator that throws when asked has refused. */
  private static boolean allowed(Probe probe) {
    try {
      return probe.ask() == Validity.ALLOWED;
    } catch (IOException | RuntimeException e) {
      return false;
    }
  }

  private static IllegalArgumentException unsafeTyping(String why) {
    return new IllegalArgumentException(
        "JsonCodec refuses this ObjectMapper: it has default typing activated (polymorphic deserialization by class"
            + " name) and "
            + why
            + ". The L2 is shared and untrusted, so its bytes would choose which classes to instantiate"
            + " (deserialization gadgets). Deactivate default typing, or give activateDefaultTyping an allow-list of"
            + " your own types, such as BasicPolymorphicTypeValidator.builder().allowIfSubType(YourType.class)");
  }

  /** Holds the default mapper so that codecs built with a caller's mapper never create it. */
  private static final class DefaultMapper {
    static final ObjectMapper INSTANCE =
        new ObjectMapper().disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
  }
}
