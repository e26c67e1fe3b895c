package dev.tiercache.codec;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.ObjectInputFilter;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.ObjectStreamClass;
import java.io.OutputStream;
import java.io.Serializable;
import java.lang.reflect.Array;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * A codec that stores values with Java serialization, with id {@code "java"}, and never deserializes a class that
 * was not explicitly allowed.
 *
 * <p>Java serialization of untrusted bytes runs code chosen by whoever wrote them (deserialization gadgets), and
 * the L2 is shared and untrusted. So every decode installs an {@link ObjectInputFilter} on its stream before
 * reading: a class the filter does not explicitly allow is rejected before any of its code ({@code readObject},
 * {@code readResolve}) runs. Prefer {@link JsonCodec} or a hand-written codec where you can.
 *
 * <p><b>The allow-list of {@link #allowing}.</b> A class is allowed if it is, exactly (not a subclass of):
 *
 * <ul>
 *   <li>the value type or one of the {@code alsoAllowed} classes given to {@link #allowing};
 *   <li>one of these JDK value types: {@code java.lang.String}, {@code Boolean}, {@code Byte}, {@code Short},
 *       {@code Character}, {@code Integer}, {@code Long}, {@code Float}, {@code Double}, {@code java.lang.Number},
 *       {@code java.lang.Enum}, {@code java.util.ArrayList}, {@code HashMap}, {@code LinkedHashMap}, {@code
 *       HashSet}, {@code LinkedHashSet}, {@code java.math.BigDecimal}, {@code BigInteger};
 *   <li>{@code java.time.Ser}, the serialized form of the {@code java.time} value classes, and the classes it
 *       resolves to: {@code Duration}, {@code Instant}, {@code LocalDate}, {@code LocalDateTime}, {@code LocalTime},
 *       {@code MonthDay}, {@code OffsetDateTime}, {@code OffsetTime}, {@code Period}, {@code Year}, {@code
 *       YearMonth}, {@code ZonedDateTime}, {@code ZoneOffset} and {@code ZoneRegion} (a {@code ZoneId});
 *   <li>an array, of any dimension, whose element type is one of the above or a primitive type; or an array of
 *       {@code Object} or of {@code Map.Entry}, which {@code ArrayList}, {@code HashMap} and {@code HashSet} ask
 *       the filter about before allocating their storage (each element is still checked on its own).
 * </ul>
 *
 * Everything else is rejected, including enums (list your enum classes, {@code java.time.DayOfWeek} and {@code
 * Month} included), the JDK's immutable collections ({@code List.of}, {@code Map.of}, {@code
 * Collections.unmodifiableList}...: copy into an {@code ArrayList} or {@code HashMap}), {@code java.util.Date},
 * and dynamic proxies. A stream is also rejected when it exceeds any of {@link #MAX_DEPTH}, {@link
 * #MAX_REFERENCES}, {@link #MAX_STREAM_BYTES} or {@link #MAX_ARRAY_LENGTH}.
 *
 * <p><b>Failing early.</b> {@link #encode} asks the same filter about every class in the value's graph, about array
 * lengths, the number of objects and the encoded size, and throws {@link CodecException} for a value that decode
 * would refuse, so a missing allow-list entry shows up on the first {@code put} instead of as a silent stream of L2
 * misses. Two limits are only checked when decoding: nesting depth, and the part of the reference count that comes
 * from repeated references to the same object. A class whose {@code readResolve} returns an instance of another
 * class is checked as its serialized class only.
 *
 * <p>Instances are immutable and thread-safe.
 *
 * @param <V> the value type
 */
public final class JavaSerializationCodec<V> implements ValueCodec<V> {

  /** The deepest nesting of objects that {@link #allowing} codecs accept. */
  public static final int MAX_DEPTH = 20;

  /** The most object references (objects, class descriptors, back-references) that one value may hold. */
  public static final int MAX_REFERENCES = 10_000;

  /** The largest encoded value, in bytes (1 MiB). */
  public static final int MAX_STREAM_BYTES = 1 << 20;

  /** The longest array, and the largest {@code ArrayList}, {@code HashMap} or {@code HashSet}, accepted. */
  public static final int MAX_ARRAY_LENGTH = 100_000;

  private static final Set<Class<?>> JDK_VALUE_TYPES = jdkValueTypes();

  private final Class<V> type;
  private final ObjectInputFilter filter;
  /** Classes the stream may name, resolved without consulting the caller's class loader. */
  private final Map<String, Class<?>> knownClasses;

  private JavaSerializationCodec(Class<V> type, ObjectInputFilter filter, Map<String, Class<?>> knownClasses) {
    this.type = type;
    this.filter = filter;
    this.knownClasses = knownClasses;
  }

  /**
   * Creates a codec that deserializes only {@code type}, the {@code alsoAllowed} classes, and the JDK value types
   * listed in the class documentation, within the size limits of this class. Every class that an instance may
   * hold must be listed, nested ones and enums included; superclasses too if they are serializable. Classes are
   * matched exactly: allowing a class does not allow its subclasses. Listing an array type such as {@code
   * Item[].class} allows its element type, and so arrays of it of any dimension.
   *
   * @param type the value type, allowed itself
   * @param alsoAllowed further classes a value may contain
   * @param <V> the value type
   * @return the codec
   * @throws NullPointerException if {@code type}, {@code alsoAllowed} or one of its elements is null
   * @throws IllegalArgumentException if {@code type} is a primitive type
   */
  public static <V extends Serializable> JavaSerializationCodec<V> allowing(Class<V> type, Class<?>... alsoAllowed) {
    requireReferenceType(type);
    Objects.requireNonNull(alsoAllowed, "alsoAllowed");
    Set<Class<?>> listed = new HashSet<>();
    listed.add(elementType(type));
    for (Class<?> c : alsoAllowed) {
      listed.add(elementType(Objects.requireNonNull(c, "alsoAllowed contains null")));
    }
    // Primitive types are always allowed; as map keys they would only shadow nothing.
    listed.removeIf(Class::isPrimitive);
    Map<String, Class<?>> known = new HashMap<>();
    for (Class<?> c : listed) {
      known.put(c.getName(), c);
    }
    Set<Class<?>> allowed = new HashSet<>(JDK_VALUE_TYPES);
    allowed.addAll(listed);
    return new JavaSerializationCodec<>(type, new AllowListFilter(Set.copyOf(allowed)), Map.copyOf(known));
  }

  /**
   * Creates a codec that lets {@code filter} alone decide which classes to deserialize and which limits to
   * enforce: the built-in allow-list and limits of {@link #allowing} do not apply, so set limits in the filter
   * (for example {@code ObjectInputFilter.Config.createFilter("maxdepth=20;maxrefs=10000;maxbytes=1048576;
   * maxarray=100000;com.example.model.*;java.lang.*;!*")}). A class for which the filter answers {@code
   * UNDECIDED} is rejected, unlike in plain Java serialization, so a pattern list without a final {@code !*} still
   * fails closed.
   *
   * @param type the value type; a decoded object that is not an instance of it is rejected
   * @param filter decides, class by class, what may be deserialized
   * @param <V> the value type
   * @return the codec
   * @throws NullPointerException if an argument is null
   * @throws IllegalArgumentException if {@code type} is a primitive type
   */
  public static <V> JavaSerializationCodec<V> withFilter(Class<V> type, ObjectInputFilter filter) {
    requireReferenceType(type);
    Objects.requireNonNull(filter, "filter");
    return new JavaSerializationCodec<>(type, filter, Map.of(type.getName(), type));
  }

  /**
   * Returns {@code "java"}.
   *
   * @return {@code "java"}
   */
  @Override
  public String id() {
    return "java";
  }

  /**
   * Serializes the value.
   *
   * @param value the value; never null
   * @return the serialized bytes
   * @throws CodecException if the value is not serializable, or if it holds a class, an array, or has a size
   *     that this codec's filter would reject on decode; the message names the class or the limit, never the value
   */
  @Override
  public byte[] encode(V value) {
    Objects.requireNonNull(value, "value");
    CheckingFilter check = new CheckingFilter(filter);
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(256);
    long references;
    try (CheckingObjectOutputStream out = new CheckingObjectOutputStream(bytes, check)) {
      out.writeObject(value);
      out.flush();
      references = out.references();
    } catch (IOException | RuntimeException e) {
      if (check.rejection != null) {
        throw rejectedOnEncode(check.rejection);
      }
      throw ValueCodecs.failure("cannot serialize " + type.getName(), e);
    }
    check.checkTotals(references, bytes.size());
    if (check.rejection != null) {
      throw rejectedOnEncode(check.rejection);
    }
    return bytes.toByteArray();
  }

  /**
   * Deserializes a value, with the filter installed before the first object is read.
   *
   * @param bytes the serialized bytes; never null
   * @return the value; never null
   * @throws CodecException if the bytes are not a Java serialization stream, are truncated or corrupt, exceed a
   *     limit, name a class that is not allowed (the message names that class), or hold an object that is not an
   *     instance of the codec's type
   */
  @Override
  public V decode(byte[] bytes) {
    Objects.requireNonNull(bytes, "bytes");
    CheckingFilter check = new CheckingFilter(filter);
    // Strings and primitive data never reach the filter, so the size limit is checked on the whole input first.
    check.checkTotals(0, bytes.length);
    if (check.rejection != null) {
      throw new CodecException("cannot decode " + type.getName() + ": " + check.rejection);
    }
    Object decoded;
    try (FilteredObjectInputStream in = new FilteredObjectInputStream(new ByteArrayInputStream(bytes), knownClasses)) {
      // The constructor has only read the 4-byte stream header: no object has been read yet.
      in.setObjectInputFilter(check);
      decoded = in.readObject();
    } catch (IOException | ClassNotFoundException | RuntimeException e) {
      if (check.rejection != null) {
        // Whatever surfaced (readObject methods may wrap or swallow), the cause was the filter's verdict.
        throw new CodecException("cannot decode " + type.getName() + ": " + check.rejection);
      }
      if (e instanceof ClassNotFoundException) {
        // The message is the class name as written in the stream: data, but not the value. Bound its length.
        throw new CodecException(
            "cannot decode " + type.getName() + ": class not found: " + abbreviate(e.getMessage()));
      }
      throw ValueCodecs.failure("cannot decode " + type.getName() + ": corrupt or foreign bytes", e);
    }
    if (check.rejection != null) {
      // A readObject method caught the rejection and carried on: fail closed all the same.
      throw new CodecException("cannot decode " + type.getName() + ": " + check.rejection);
    }
    if (decoded == null) {
      throw new CodecException("cannot decode " + type.getName() + ": the stream holds null");
    }
    if (!type.isInstance(decoded)) {
      throw new CodecException(
          "cannot decode " + type.getName() + ": the stream holds a " + decoded.getClass().getName());
    }
    return type.cast(decoded);
  }

  /**
   * Describes the codec for diagnostics.
   *
   * @return a description naming the value type
   */
  @Override
  public String toString() {
    return "JavaSerializationCodec[" + type.getName() + "]";
  }

  private CodecException rejectedOnEncode(String rejection) {
    return new CodecException(
        "cannot encode " + type.getName() + ": decode would reject it: " + rejection);
  }

  private static void requireReferenceType(Class<?> type) {
    Objects.requireNonNull(type, "type");
    if (type.isPrimitive()) {
      throw new IllegalArgumentException("type must be a reference type, not " + type.getName());
    }
  }

  /** The filter checks arrays by their element type, so listing {@code Item[][].class} means listing Item. */
  private static Class<?> elementType(Class<?> c) {
    Class<?> element = c;
    while (element.isArray()) {
      element = element.getComponentType();
    }
    return element;
  }

  private static String abbreviate(String s) {
    if (s == null) {
      return "?";
    }
    return s.length() <= 200 ? s : s.substring(0, 200) + "...";
  }

  private static Set<Class<?>> jdkValueTypes() {
    Set<Class<?>> types =
        new HashSet<>(
            List.of(
                String.class,
                Boolean.class,
                Byte.class,
                Short.class,
                Character.class,
                Integer.class,
                Long.class,
                Float.class,
                Double.class,
                Number.class,
                Enum.class,
                ArrayList.class,
                HashMap.class,
                LinkedHashMap.class,
                HashSet.class,
                LinkedHashSet.class,
                BigDecimal.class,
                BigInteger.class,
                java.time.Duration.class,
                java.time.Instant.class,
                java.time.LocalDate.class,
                java.time.LocalDateTime.class,
                java.time.LocalTime.class,
                java.time.MonthDay.class,
                java.time.OffsetDateTime.class,
                java.time.OffsetTime.class,
                java.time.Period.class,
                java.time.Year.class,
                java.time.YearMonth.class,
                java.time.ZonedDateTime.class,
                java.time.ZoneOffset.class));
    // Package-private in the JDK: reachable only by name. Absent on some other JDK, they are simply not allowed.
    for (String name : List.of("java.time.Ser", "java.time.ZoneRegion")) {
      try {
        types.add(Class.forName(name, false, null));
      } catch (ClassNotFoundException e) {
        // not allowed then
      }
    }
    return Set.copyOf(types);
  }

  /** The built-in allow-list filter of {@link #allowing}. Stateless, shared by all decodes of one codec. */
  private static final class AllowListFilter implements ObjectInputFilter {

    private final Set<Class<?>> allowed;

    AllowListFilter(Set<Class<?>> allowed) {
      this.allowed = allowed;
    }

    @Override
    public Status checkInput(FilterInfo info) {
      if (limitExceeded(info) != null) {
        return Status.REJECTED;
      }
      Class<?> c = info.serialClass();
      if (c == null) {
        return Status.UNDECIDED;
      }
      return isAllowed(c) ? Status.ALLOWED : Status.REJECTED;
    }

    /** Why {@link #checkInput} rejected this, for the exception message. */
    String reason(FilterInfo info) {
      String limit = limitExceeded(info);
      if (limit != null) {
        return limit;
      }
      return "class not allowed: "
          + info.serialClass().getTypeName()
          + " (not on the allow-list; see JavaSerializationCodec.allowing)";
    }

    private boolean isAllowed(Class<?> c) {
      Class<?> element = elementType(c);
      if (element.isPrimitive()) {
        return true;
      }
      if (c.isArray() && (element == Object.class || element == Map.Entry.class)) {
        return true;
      }
      return allowed.contains(element);
    }

    private static String limitExceeded(FilterInfo info) {
      if (info.depth() > MAX_DEPTH) {
        return "nesting depth " + info.depth() + " exceeds the limit of " + MAX_DEPTH;
      }
      if (info.references() > MAX_REFERENCES) {
        return "object references " + info.references() + " exceed the limit of " + MAX_REFERENCES;
      }
      if (info.streamBytes() > MAX_STREAM_BYTES) {
        return "stream size " + info.streamBytes() + " bytes exceeds the limit of " + MAX_STREAM_BYTES;
      }
      if (info.arrayLength() > MAX_ARRAY_LENGTH) {
        return "array length " + info.arrayLength() + " exceeds the limit of " + MAX_ARRAY_LENGTH;
      }
      return null;
    }
  }

  /**
   * Wraps the codec's filter for one encode or decode: fails closed on {@code UNDECIDED} classes and on a filter
   * that throws, and remembers why it first rejected, since {@link ObjectInputStream} reports only "REJECTED".
   */
  private static final class CheckingFilter implements ObjectInputFilter {

    private final ObjectInputFilter delegate;
    String rejection;

    CheckingFilter(ObjectInputFilter delegate) {
      this.delegate = delegate;
    }

    @Override
    public Status checkInput(FilterInfo info) {
      Status status;
      try {
        status = delegate.checkInput(info);
      } catch (RuntimeException e) {
        reject("the filter threw " + e.getClass().getName() + describe(info));
        return Status.REJECTED;
      }
      if (status == Status.REJECTED || status == null || (status == Status.UNDECIDED && info.serialClass() != null)) {
        reject(
            delegate instanceof AllowListFilter
                ? ((AllowListFilter) delegate).reason(info)
                : "rejected by the filter" + describe(info));
        return Status.REJECTED;
      }
      return status;
    }

    /** Asks the filter about the totals of a whole stream, which the JDK only samples while reading. */
    void checkTotals(long references, long streamBytes) {
      checkInput(new Info(null, -1, 0, references, streamBytes));
    }

    void checkClass(Class<?> c, long arrayLength) {
      checkInput(new Info(c, arrayLength, 0, 0, 0));
    }

    private void reject(String reason) {
      if (rejection == null) {
        rejection = reason;
      }
    }

    private static String describe(FilterInfo info) {
      if (info.serialClass() != null) {
        String array = info.arrayLength() >= 0 ? " (array length " + info.arrayLength() + ")" : "";
        return ": class " + info.serialClass().getTypeName() + array;
      }
      return " (depth "
          + info.depth()
          + ", references "
          + info.references()
          + ", stream bytes "
          + info.streamBytes()
          + ")";
    }
  }

  private record Info(Class<?> serialClass, long arrayLength, long depth, long references, long streamBytes)
      implements ObjectInputFilter.FilterInfo {}

  /**
   * Presents every object written to the filter the way decode will: each serializable class of its hierarchy
   * (an enum as its declaring class), and arrays with their length.
   */
  private static final class CheckingObjectOutputStream extends ObjectOutputStream {

    private final CheckingFilter check;
    private final Set<Class<?>> descriptors = new HashSet<>();
    private long objects;

    CheckingObjectOutputStream(OutputStream out, CheckingFilter check) throws IOException {
      super(out);
      this.check = check;
      enableReplaceObject(true);
    }

    @Override
    protected Object replaceObject(Object obj) throws IOException {
      objects++;
      // Strings are written inline and never reach a decode filter; asking a pattern filter about them would
      // reject values that decode accepts.
      if (obj instanceof String) {
        return obj;
      }
      Class<?> c = obj instanceof Enum<?> ? ((Enum<?>) obj).getDeclaringClass() : obj.getClass();
      if (c.isArray()) {
        descriptors.add(c);
        check.checkClass(c, Array.getLength(obj));
      } else {
        for (; c != null && Serializable.class.isAssignableFrom(c); c = c.getSuperclass()) {
          if (descriptors.add(c)) {
            check.checkClass(c, -1);
          }
        }
      }
      if (check.rejection != null) {
        // Stop at the first rejected class rather than serialize the rest of the graph.
        throw new IOException("rejected by the filter");
      }
      return obj;
    }

    /**
     * A lower bound of the references decode will count: one per object, string and class descriptor. Decode
     * also counts back-references to objects already read, which this stream has no hook to see.
     */
    long references() {
      return objects + descriptors.size();
    }
  }

  /**
   * Resolves the allowed classes by identity, so that the filter (which compares classes, not names) accepts them
   * even when the application's classes live in a class loader this library cannot see from its own stack.
   */
  private static final class FilteredObjectInputStream extends ObjectInputStream {

    private final Map<String, Class<?>> knownClasses;

    FilteredObjectInputStream(InputStream in, Map<String, Class<?>> knownClasses) throws IOException {
      super(in);
      this.knownClasses = knownClasses;
    }

    @Override
    protected Class<?> resolveClass(ObjectStreamClass desc) throws IOException, ClassNotFoundException {
      String name = desc.getName();
      Class<?> known = knownClasses.get(name);
      if (known != null) {
        return known;
      }
      int dimensions = 0;
      while (dimensions < name.length() && name.charAt(dimensions) == '[') {
        dimensions++;
      }
      if (dimensions > 0 && name.startsWith("L", dimensions) && name.endsWith(";")) {
        Class<?> element = knownClasses.get(name.substring(dimensions + 1, name.length() - 1));
        if (element != null) {
          for (int i = 0; i < dimensions; i++) {
            element = element.arrayType();
          }
          return element;
        }
      }
      // Loads without initializing (no static initializer runs); the filter then decides.
      return super.resolveClass(desc);
    }
  }
}
