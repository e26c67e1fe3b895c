package dev.tiercache.spring;

import dev.tiercache.codec.KeyCodec;
import java.lang.reflect.Array;
import java.lang.reflect.Field;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.RecordComponent;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.time.Duration;
import java.time.Period;
import java.time.ZoneId;
import java.time.temporal.TemporalAccessor;
import java.util.List;
import java.util.Objects;
import java.util.UUID;
import org.springframework.cache.interceptor.SimpleKey;

/**
 * The key codec of Spring caches: maps the keys Spring's cache annotations produce to strings that are the same in
 * every JVM (so two instances address the same Redis entry) and different for keys that are not {@code equals}.
 *
 * <h2>The encoding (stable: a change is a breaking change)</h2>
 * <table>
 *   <caption>Encodings by key type</caption>
 *   <tr><th>key</th><th>encoded as</th><th>example</th></tr>
 *   <tr><td>{@code String} not starting with {@code ~}</td><td>itself</td><td>{@code user:42}</td></tr>
 *   <tr><td>{@code String} starting with {@code ~}</td><td>{@code ~} + itself</td><td>{@code ~~x}</td></tr>
 *   <tr><td>{@code Boolean, Character, Byte, Short, Integer, Long}</td>
 *       <td>{@code ~bool: ~char: ~byte: ~short: ~int: ~long:} + {@code toString()}</td>
 *       <td>{@code ~long:42}</td></tr>
 *   <tr><td>{@code Float, Double}</td>
 *       <td>{@code ~float:} / {@code ~double:} + {@code Float.toHexString} / {@code Double.toHexString}: exact and
 *       the same on every JDK ({@code Double.toString} changed in JDK 19: {@code 1.0E23} printed as
 *       {@code 9.999999999999999E22} before)</td>
 *       <td>{@code ~double:0x1.8p1}</td></tr>
 *   <tr><td>{@code BigInteger, BigDecimal}</td><td>{@code ~bigint:} / {@code ~decimal:} + {@code toString()}
 *       (a {@code BigDecimal} keeps its scale, as its {@code equals} does)</td><td>{@code ~decimal:1.50}</td></tr>
 *   <tr><td>{@code UUID}</td><td>{@code ~uuid:} + {@code toString()}</td><td></td></tr>
 *   <tr><td>an enum constant</td><td>{@code ~enum:} + declaring class name + {@code .} + {@code name()}</td>
 *       <td>{@code ~enum:com.example.Color.RED}</td></tr>
 *   <tr><td>{@code java.time} values ({@code LocalDate}, {@code Instant}, {@code Duration}, {@code ZoneId}...)</td>
 *       <td>{@code ~time:} + simple class name + {@code :} + ISO {@code toString()}</td>
 *       <td>{@code ~time:LocalDate:2026-11-30}</td></tr>
 *   <tr><td>{@link SimpleKey} (several method arguments; {@link SimpleKey#EMPTY} for none)</td>
 *       <td>{@code ~key(} elements {@code )}</td><td>{@code ~key(1:a,7:~long:1)}</td></tr>
 *   <tr><td>a {@code List}</td><td>{@code ~list(} elements {@code )}</td><td></td></tr>
 *   <tr><td>an array of objects; of a primitive type</td>
 *       <td>{@code ~array(} elements {@code )}; {@code ~array:int(} elements {@code )}</td><td></td></tr>
 *   <tr><td>a record</td><td>{@code ~record:} + class name + {@code (} components {@code )}</td>
 *       <td>{@code ~record:com.example.Page(6:~int:0,7:~int:20)}</td></tr>
 *   <tr><td>{@code null} inside a composite key</td><td>{@code ~null}</td><td></td></tr>
 * </table>
 *
 * Elements of a composite are each encoded by the same rules and written as their length in UTF-16 units, a colon
 * and the encoding, separated by commas: the lengths make the encoding unambiguous whatever the elements contain.
 * Any other key type is refused with an {@link IllegalArgumentException} that names it, unless a fallback codec was
 * given ({@link #withFallback}): its {@code toString()} or hash code may differ between JVMs, which would silently
 * split the cache between instances.
 *
 * <p>A String key maps to itself, so {@link dev.tiercache.Invalidation#prefix prefix} invalidations written for
 * String keys work as written (see {@link #encodePrefix(String)}).
 *
 * <p>Instances are immutable and thread-safe.
 */
public final class SpringKeyCodec implements KeyCodec<Object> {

  private static final SpringKeyCodec STANDARD = new SpringKeyCodec(null);
  private static final Field SIMPLE_KEY_PARAMS = simpleKeyParams();

  private final KeyCodec<Object> fallback;

  private SpringKeyCodec(KeyCodec<Object> fallback) {
    this.fallback = fallback;
  }

  /**
   * Returns the codec that refuses key types not in the table above.
   *
   * @return the standard codec
   */
  public static SpringKeyCodec standard() {
    return STANDARD;
  }

  /**
   * Returns a codec that encodes the types of the table above as documented and hands any other key to
   * {@code fallback}, whose encodings are prefixed with {@code ~other:} so that they cannot meet the others.
   *
   * @param fallback encodes other key types; must be injective and the same in every JVM
   * @return the codec
   * @throws NullPointerException if {@code fallback} is null
   */
  public static SpringKeyCodec withFallback(KeyCodec<Object> fallback) {
    return new SpringKeyCodec(Objects.requireNonNull(fallback, "fallback"));
  }

  /**
   * Encodes a key as the table above says.
   *
   * @param key the key; not null
   * @return the encoding
   * @throws IllegalArgumentException if the key's type (or that of an element) is not supported and no fallback
   *     was given
   */
  @Override
  public String encode(Object key) {
    Objects.requireNonNull(key, "key");
    StringBuilder out = new StringBuilder();
    append(out, key);
    return out.toString();
  }

  /**
   * Turns a prefix of String keys into the prefix of their encodings: {@code ~} is doubled at the start, as
   * {@link #encode} does; every other prefix is unchanged.
   *
   * @param prefix a prefix of String keys; not null
   * @return the prefix of their encoded forms
   */
  public String encodePrefix(String prefix) {
    Objects.requireNonNull(prefix, "prefix");
    return prefix.startsWith("~") ? "~" + prefix : prefix;
  }

  private void append(StringBuilder out, Object key) {
    if (key instanceof String) {
      String s = (String) key;
      out.append(s.startsWith("~") ? "~" : "").append(s);
    } else if (key instanceof Boolean) {
      out.append("~bool:").append(key);
    } else if (key instanceof Character) {
      out.append("~char:").append(key);
    } else if (key instanceof Byte) {
      out.append("~byte:").append(key);
    } else if (key instanceof Short) {
      out.append("~short:").append(key);
    } else if (key instanceof Integer) {
      out.append("~int:").append(key);
    } else if (key instanceof Long) {
      out.append("~long:").append(key);
    } else if (key instanceof Float f) {
      out.append("~float:").append(Float.toHexString(f));
    } else if (key instanceof Double d) {
      out.append("~double:").append(Double.toHexString(d));
    } else if (key instanceof BigInteger) {
      out.append("~bigint:").append(key);
    } else if (key instanceof BigDecimal) {
      out.append("~decimal:").append(key);
    } else if (key instanceof UUID) {
      out.append("~uuid:").append(key);
    } else if (key instanceof Enum) {
      Enum<?> e = (Enum<?>) key;
      out.append("~enum:").append(e.getDeclaringClass().getName()).append('.').append(e.name());
    } else if (isJavaTime(key)) {
      out.append("~time:").append(key.getClass().getSimpleName()).append(':').append(key);
    } else if (key instanceof SimpleKey) {
      appendElements(out.append("~key"), simpleKeyParams((SimpleKey) key));
    } else if (key instanceof List) {
      appendElements(out.append("~list"), ((List<?>) key).toArray());
    } else if (key.getClass().isArray()) {
      appendArray(out, key);
    } else if (key.getClass().isRecord()) {
      appendRecord(out, key);
    } else if (fallback != null) {
      out.append("~other:").append(Objects.requireNonNull(fallback.encode(key), "fallback encoding"));
    } else {
      throw new IllegalArgumentException(
          "SpringKeyCodec has no stable encoding for keys of type " + key.getClass().getName()
              + ": use a String, number, UUID, enum, java.time value, record or list of those (a key = \"...\""
              + " expression can build one), or give the cache a KeyCodec (SpringKeyCodec.withFallback)");
    }
  }

  private static boolean isJavaTime(Object key) {
    return (key instanceof TemporalAccessor || key instanceof Duration || key instanceof Period
            || key instanceof ZoneId)
        && key.getClass().getName().startsWith("java.time.");
  }

  private void appendArray(StringBuilder out, Object array) {
    Class<?> component = array.getClass().getComponentType();
    out.append("~array");
    if (component.isPrimitive()) {
      out.append(':').append(component.getName());
    }
    Object[] elements = new Object[Array.getLength(array)];
    for (int i = 0; i < elements.length; i++) {
      elements[i] = Array.get(array, i);
    }
    appendElements(out, elements);
  }

  private void appendRecord(StringBuilder out, Object record) {
    RecordComponent[] components = record.getClass().getRecordComponents();
    Object[] values = new Object[components.length];
    for (int i = 0; i < components.length; i++) {
      try {
        values[i] = components[i].getAccessor().invoke(record);
      } catch (IllegalAccessException | InvocationTargetException e) {
        throw new IllegalArgumentException(
            "cannot read component " + components[i].getName() + " of key type " + record.getClass().getName()
                + " (a record key must be public, or its accessors accessible)",
            e);
      }
    }
    appendElements(out.append("~record:").append(record.getClass().getName()), values);
  }

  private void appendElements(StringBuilder out, Object[] elements) {
    out.append('(');
    for (int i = 0; i < elements.length; i++) {
      String encoded = elements[i] == null ? "~null" : encode(elements[i]);
      out.append(i == 0 ? "" : ",").append(encoded.length()).append(':').append(encoded);
    }
    out.append(')');
  }

  private static Object[] simpleKeyParams(SimpleKey key) {
    if (SIMPLE_KEY_PARAMS == null) {
      throw new IllegalStateException(
          "this Spring version's SimpleKey has no readable 'params' field: give the cache a KeyCodec of its own");
    }
    try {
      return ((Object[]) SIMPLE_KEY_PARAMS.get(key)).clone();
    } catch (IllegalAccessException e) {
      throw new IllegalStateException("cannot read the arguments of Spring's SimpleKey", e);
    }
  }

  /** SimpleKey exposes its arguments only through its private "params" field (Spring 4.0 to 7); null if not. */
  private static Field simpleKeyParams() {
    try {
      Field field = SimpleKey.class.getDeclaredField("params");
      field.setAccessible(true);
      return field;
    } catch (NoSuchFieldException | RuntimeException e) {
      return null;
    }
  }

  @Override
  public String toString() {
    return fallback == null ? "SpringKeyCodec" : "SpringKeyCodec[fallback=" + fallback + "]";
  }
}
