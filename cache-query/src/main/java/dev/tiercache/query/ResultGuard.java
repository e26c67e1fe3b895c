package dev.tiercache.query;

import java.io.InputStream;
import java.io.Reader;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.lang.reflect.RecordComponent;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.sql.Blob;
import java.sql.Clob;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLXML;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.Spliterator;
import java.util.UUID;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Future;

/**
 * Decides whether a result may be shared through the cache: every row, and everything inside it (record
 * components, fields of final value classes, elements of unmodifiable collections), must be immutable and a plain
 * value. A LOB, result set, stream or other resource, an array, a {@code java.util.Date}, a modifiable collection or
 * a class with a non-final field is refused: one caller could change, or close, what the next one is served.
 *
 * <p>What a class is (a leaf value, a record, a final value class, an unmodifiable collection, or refused) is
 * memoised per class ({@link ClassValue}); values are checked on every load.
 */
final class ResultGuard {

  private static final int MAX_DEPTH = 32;
  /** How many members of one set may be looked for by a scan of its copy (see {@link #sameMembers}). */
  private static final int MAX_SCANS = 64;

  private static final List<Class<?>> RESOURCES =
      List.of(
          ResultSet.class, Connection.class, java.sql.Statement.class, Blob.class, Clob.class, SQLXML.class,
          java.sql.Array.class, java.sql.Ref.class, java.sql.Struct.class, InputStream.class, Reader.class,
          java.util.stream.BaseStream.class, Iterator.class, Spliterator.class, Future.class, CompletionStage.class,
          AutoCloseable.class);

  private static final Set<Class<?>> LEAVES =
      Set.of(
          String.class, Boolean.class, Character.class, Byte.class, Short.class, Integer.class, Long.class,
          Float.class, Double.class, BigDecimal.class, BigInteger.class, UUID.class, java.net.URI.class,
          java.util.Currency.class, java.util.Locale.class);

  /** What a class is, for the check. */
  private sealed interface Shape {}

  private record Leaf() implements Shape {}

  /** {@code fields}: those holding references, which the guard checks; {@code primitives}: compared only. */
  private record Members(List<Field> fields, List<RecordComponent> components, List<Field> primitives)
      implements Shape {}

  private record Container() implements Shape {}

  private record Refused(String why) implements Shape {}

  private static final ClassValue<Shape> SHAPES =
      new ClassValue<>() {
        @Override
        protected Shape computeValue(Class<?> type) {
          return shape(type);
        }
      };

  private ResultGuard() {}

  /**
   * Checks every row.
   *
   * @throws IllegalArgumentException naming the first value that cannot be cached, and why
   */
  static void requireCacheable(String label, List<?> rows) {
    for (Object row : rows) {
      check(label, row, 0);
    }
  }

  private static void check(String label, Object value, int depth) {
    if (value == null) {
      return;
    }
    if (depth > MAX_DEPTH) {
      throw refused(label, value.getClass(), "it nests more than " + MAX_DEPTH + " levels deep");
    }
    Shape shape = SHAPES.get(value.getClass());
    if (shape instanceof Refused r) {
      throw refused(label, value.getClass(), r.why());
    }
    if (shape instanceof Container) {
      if (value instanceof Map<?, ?> map) {
        for (Map.Entry<?, ?> e : map.entrySet()) {
          check(label, e.getKey(), depth + 1);
          check(label, e.getValue(), depth + 1);
        }
      } else if (value instanceof Optional<?> optional) {
        check(label, optional.orElse(null), depth + 1);
      } else {
        for (Object element : (Collection<?>) value) {
          check(label, element, depth + 1);
        }
      }
    } else if (shape instanceof Members members) {
      try {
        for (RecordComponent component : members.components()) {
          check(label, component.getAccessor().invoke(value), depth + 1);
        }
        for (Field field : members.fields()) {
          check(label, field.get(value), depth + 1);
        }
      } catch (ReflectiveOperationException e) {
        throw refused(label, value.getClass(), "its components cannot be read to check them (" + e + ")");
      }
    }
  }

  /**
   * Whether two checked values are the same value: the same class at every level (an unmodifiable collection or map
   * of either implementation counts as one kind), equal leaves, in the same order. Tells whether rows come back from
   * a codec as they went in, where {@code equals} cannot (a final value class need not define it).
   */
  static boolean sameValue(Object original, Object copy) {
    return same(original, copy, 0);
  }

  private static boolean same(Object a, Object b, int depth) {
    if (a == null || b == null) {
      return a == b;
    }
    if (depth > MAX_DEPTH) {
      return false;
    }
    Shape shape = SHAPES.get(a.getClass());
    if (shape instanceof Container) {
      return sameContainer(a, b, depth);
    }
    if (a.getClass() != b.getClass()) {
      return false;
    }
    if (shape instanceof Members members) {
      try {
        for (RecordComponent component : members.components()) {
          if (!same(component.getAccessor().invoke(a), component.getAccessor().invoke(b), depth + 1)) {
            return false;
          }
        }
        for (Field field : members.fields()) {
          if (!same(field.get(a), field.get(b), depth + 1)) {
            return false;
          }
        }
        for (Field field : members.primitives()) {
          if (!sameLeaf(field.get(a), field.get(b))) {
            return false;
          }
        }
        return true;
      } catch (ReflectiveOperationException e) {
        return false;
      }
    }
    return sameLeaf(a, b);
  }

  /** Equal, where a floating-point zero counts as one whatever its sign: JSON read as decimals keeps none. */
  private static boolean sameLeaf(Object a, Object b) {
    if (a.equals(b)) {
      return true;
    }
    return (a instanceof Double || a instanceof Float) && ((Number) a).doubleValue() == 0
        && ((Number) b).doubleValue() == 0;
  }

  private static boolean sameContainer(Object a, Object b, int depth) {
    if (a instanceof Optional<?> x) {
      return b instanceof Optional<?> y && same(x.orElse(null), y.orElse(null), depth + 1);
    }
    if (a instanceof Map<?, ?> x) {
      return b instanceof Map<?, ?> y && x.size() == y.size()
          && sameElements(x.keySet(), y.keySet(), depth) && sameElements(x.values(), y.values(), depth);
    }
    Collection<?> x = (Collection<?>) a;
    if (!(b instanceof Collection<?> y) || (a instanceof List) != (b instanceof List)
        || (a instanceof Set) != (b instanceof Set) || x.size() != y.size()) {
      return false;
    }
    return a instanceof Set ? sameMembers(x, y, depth) : sameElements(x, y, depth);
  }

  /**
   * A set's copy may iterate in another order (Jackson builds a HashSet): each member must have its same. Found by
   * hash first (a scan of every member for every member was quadratic: 4 s for 20,000), then, for at most
   * {@link #MAX_SCANS} members whose copies hash apart (a -0.0 read back as 0.0 inside it), by a scan.
   */
  private static boolean sameMembers(Collection<?> a, Collection<?> b, int depth) {
    Map<Object, List<Object>> byHash = new java.util.HashMap<>();
    for (Object member : b) {
      byHash.computeIfAbsent(member, m -> new ArrayList<>(1)).add(member);
    }
    int scans = 0;
    for (Object member : a) {
      if (anySame(member, byHash.getOrDefault(member, List.of()), depth)) {
        continue;
      }
      // Bounded: every member of a large set hashing apart from its copy would make this quadratic again. Past the
      // bound the set counts as changed, and the row is refused (a set of many records each holding -0.0).
      if (++scans > MAX_SCANS || !anySame(member, b, depth)) {
        return false;
      }
    }
    return true;
  }

  private static boolean sameElements(Collection<?> a, Collection<?> b, int depth) {
    Iterator<?> i = a.iterator();
    Iterator<?> j = b.iterator();
    while (i.hasNext() && j.hasNext()) {
      if (!same(i.next(), j.next(), depth + 1)) {
        return false;
      }
    }
    return !i.hasNext() && !j.hasNext();
  }

  private static boolean anySame(Object member, Collection<?> candidates, int depth) {
    for (Object candidate : candidates) {
      if (same(member, candidate, depth + 1)) {
        return true;
      }
    }
    return false;
  }

  private static Shape shape(Class<?> type) {
    for (Class<?> resource : RESOURCES) {
      if (resource.isAssignableFrom(type)) {
        return new Refused("it is an open resource or a lazy sequence (" + resource.getSimpleName() + ")");
      }
    }
    if (LEAVES.contains(type) || type.isEnum() || type.getSuperclass() != null && type.getSuperclass().isEnum()) {
      return new Leaf();
    }
    if (type.isSynthetic() || type.isHidden() || type.isAnonymousClass()) {
      return new Refused("it is a lambda or anonymous class, whose state cannot be checked");
    }
    if (type.isArray()) {
      return new Refused("arrays are mutable: wrap the bytes or values in an immutable type");
    }
    if (java.util.Date.class.isAssignableFrom(type)) {
      return new Refused("java.util.Date and java.sql time types are mutable: map them to java.time values");
    }
    String name = type.getName();
    if (name.startsWith("java.time.") && Modifier.isFinal(type.getModifiers())) {
      return new Leaf();
    }
    if (type == Optional.class || name.startsWith("java.util.ImmutableCollections$")
        || name.startsWith("java.util.Collections$Unmodifiable") || name.startsWith("java.util.Collections$Empty")
        || name.startsWith("java.util.Collections$Singleton")) {
      return new Container();
    }
    if (name.startsWith("java.") || name.startsWith("javax.") || name.startsWith("jdk.") || name.startsWith("sun.")) {
      return new Refused(
          "it is not known to be immutable (a modifiable collection? use List.copyOf, Map.copyOf, ...)");
    }
    if (type.isRecord()) {
      List<RecordComponent> components = List.of(type.getRecordComponents());
      for (RecordComponent c : components) {
        if (!c.getAccessor().trySetAccessible()) {
          return new Refused("its record components cannot be read to check them");
        }
      }
      return new Members(List.of(), components, List.of());
    }
    List<Field> fields = new ArrayList<>();
    List<Field> primitives = new ArrayList<>();
    for (Class<?> c = type; c != null && c != Object.class; c = c.getSuperclass()) {
      for (Field f : c.getDeclaredFields()) {
        if (Modifier.isStatic(f.getModifiers())) {
          continue;
        }
        if (!Modifier.isFinal(f.getModifiers())) {
          return new Refused(
              "its field " + f.getName() + " is not final, so one caller could change what the next is served:"
                  + " use a record or an immutable class");
        }
        if (!f.trySetAccessible()) {
          return new Refused("its fields cannot be read to check them");
        }
        (f.getType().isPrimitive() ? primitives : fields).add(f);
      }
    }
    return new Members(List.copyOf(fields), List.of(), List.copyOf(primitives));
  }

  private static IllegalArgumentException refused(String label, Class<?> type, String why) {
    return new IllegalArgumentException(
        "the result of '" + label + "' holds a " + type.getName() + ", which cannot be cached: " + why
            + "; copy what you need into immutable values (a record of strings, numbers, java.time values...) in the"
            + " row mapper or loader, or read it with Query.bypass()");
  }
}
