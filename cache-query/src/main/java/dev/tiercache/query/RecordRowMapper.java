package dev.tiercache.query;

import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.RecordComponent;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/** {@link RowMapper#record}: columns to record components by name. */
final class RecordRowMapper<T extends Record> implements RowMapper<T> {

  private final RecordComponent[] components;
  private final Constructor<T> constructor;

  RecordRowMapper(Class<T> type) {
    Objects.requireNonNull(type, "type");
    if (!type.isRecord()) {
      throw new IllegalArgumentException(type.getName() + " is not a record");
    }
    components = type.getRecordComponents();
    Class<?>[] types = new Class<?>[components.length];
    for (int i = 0; i < components.length; i++) {
      types[i] = components[i].getType();
    }
    try {
      constructor = type.getDeclaredConstructor(types);
      constructor.setAccessible(true);
    } catch (NoSuchMethodException | RuntimeException e) {
      throw new IllegalArgumentException("cannot use the canonical constructor of " + type.getName(), e);
    }
  }

  @Override
  public T mapRow(ResultSet rs, int rowNum) throws SQLException {
    ResultSetMetaData meta = rs.getMetaData();
    Map<String, Integer> columns = new HashMap<>();
    for (int c = meta.getColumnCount(); c >= 1; c--) {
      columns.put(key(meta.getColumnLabel(c)), c);
    }
    Object[] args = new Object[components.length];
    for (int i = 0; i < components.length; i++) {
      RecordComponent component = components[i];
      Integer column = columns.get(key(component.getName()));
      if (column == null) {
        throw new SQLException("no column for record component " + component.getName());
      }
      Class<?> type = box(component.getType());
      Object value = rs.getObject(column, type);
      if (value == null && component.getType().isPrimitive()) {
        throw new SQLException("column " + component.getName() + " is NULL but the component is a primitive");
      }
      args[i] = value;
    }
    try {
      return constructor.newInstance(args);
    } catch (InvocationTargetException e) {
      throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException("cannot construct " + constructor.getDeclaringClass().getName(), e);
    }
  }

  private static String key(String name) {
    return name.replace("_", "").toLowerCase(Locale.ROOT);
  }

  private static Class<?> box(Class<?> type) {
    if (!type.isPrimitive()) {
      return type;
    }
    return type == int.class ? Integer.class : type == long.class ? Long.class : type == boolean.class ? Boolean.class
        : type == double.class ? Double.class : type == float.class ? Float.class : type == short.class ? Short.class
        : type == byte.class ? Byte.class : Character.class;
  }
}
