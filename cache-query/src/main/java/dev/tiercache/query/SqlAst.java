package dev.tiercache.query;

import java.lang.reflect.Field;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Deque;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import net.sf.jsqlparser.expression.Function;
import net.sf.jsqlparser.expression.NextValExpression;
import net.sf.jsqlparser.expression.TimeKeyExpression;
import net.sf.jsqlparser.schema.Column;
import net.sf.jsqlparser.schema.Table;
import net.sf.jsqlparser.statement.delete.ParenthesedDelete;
import net.sf.jsqlparser.statement.insert.ParenthesedInsert;
import net.sf.jsqlparser.statement.select.Select;
import net.sf.jsqlparser.statement.update.ParenthesedUpdate;
import net.sf.jsqlparser.statement.select.WithItem;

/**
 * Every node of a parsed statement, found by walking all fields of JSqlParser's syntax tree rather than through a
 * visitor: a visitor sees only the clauses it was written for (JSqlParser's table finder misses {@code ORDER BY},
 * {@code FILTER}, {@code OVER}, {@code QUALIFY} and more), while a walk over fields cannot skip a clause. It
 * collects table references, function names, volatile expressions, locking clauses and data-modifying CTEs. A
 * column's table qualifier is an alias or a table already named in a {@code FROM}, so it is not collected.
 */
final class SqlAst {

  private static final String PACKAGE = "net.sf.jsqlparser.";
  private static final String PARSER_PACKAGE = "net.sf.jsqlparser.parser.";
  private static final int MAX_NODES = 200_000;

  /** What a walk found. */
  record Found(
      List<Table> tables, Set<String> functions, boolean volatileExpression, boolean locking, boolean modifyingCte) {}

  /** Reads one child of a node: a field, or (where the field cannot be opened) a public getter. */
  @FunctionalInterface
  private interface Child {
    Object of(Object node) throws ReflectiveOperationException;
  }

  /**
   * The children of each syntax-tree class: its fields (and its superclasses'), read directly where JSqlParser is on
   * the class path; on the module path, where its packages are exported but not opened, its public getters.
   */
  private static final ClassValue<List<Child>> CHILDREN =
      new ClassValue<>() {
        @Override
        protected List<Child> computeValue(Class<?> type) {
          List<Child> children = new ArrayList<>();
          for (Class<?> c = type; c != null && c.getName().startsWith(PACKAGE); c = c.getSuperclass()) {
            for (Field f : c.getDeclaredFields()) {
              if (Modifier.isStatic(f.getModifiers()) || f.getType().isPrimitive() || f.getType() == String.class
                  || f.getType().getName().startsWith(PARSER_PACKAGE)
                  || c == Column.class && f.getType() == Table.class) {
                continue;
              }
              if (!f.trySetAccessible()) {
                return getters(type);
              }
              children.add(f::get);
            }
          }
          return Collections.unmodifiableList(children);
        }
      };

  private static final ClassValue<List<Child>> GETTERS =
      new ClassValue<>() {
        @Override
        protected List<Child> computeValue(Class<?> type) {
          return getters(type);
        }
      };

  private static List<Child> getters(Class<?> type) {
    List<Child> children = new ArrayList<>();
    for (Method m : type.getMethods()) {
      String name = m.getName();
      if (m.getParameterCount() == 0 && !Modifier.isStatic(m.getModifiers())
          && (name.startsWith("get") || name.startsWith("is")) && !m.getReturnType().isPrimitive()
          && m.getReturnType() != String.class && !m.getReturnType().getName().startsWith(PARSER_PACKAGE)
          && m.getDeclaringClass() != Object.class && !(type == Column.class && m.getReturnType() == Table.class)
          && !name.equals("getASTNode")) {
        children.add(
            node -> {
              try {
                return m.invoke(node);
              } catch (InvocationTargetException e) {
                if (e.getCause() instanceof RuntimeException) {
                  return null; // a typed view of another child (getValues() of a PlainSelect casts): skip it
                }
                throw e;
              }
            });
      }
    }
    return Collections.unmodifiableList(children);
  }

  private SqlAst() {}

  static Found walk(Object root) {
    return walk(root, CHILDREN::get);
  }

  /** Walks through public getters only, as on the module path; for tests. */
  static Found walkByGetters(Object root) {
    return walk(root, GETTERS::get);
  }

  private static Found walk(Object root, java.util.function.Function<Class<?>, List<Child>> children) {
    List<Table> tables = new ArrayList<>();
    Set<String> functions = new java.util.TreeSet<>();
    boolean volatileExpression = false;
    boolean locking = false;
    boolean modifyingCte = false;
    Set<Object> seen = Collections.newSetFromMap(new IdentityHashMap<>());
    Deque<Object> todo = new ArrayDeque<>();
    todo.push(root);
    while (!todo.isEmpty()) {
      Object node = todo.pop();
      if (!seen.add(node)) {
        continue;
      }
      if (seen.size() > MAX_NODES) {
        throw new IllegalStateException("the statement is too large to analyse");
      }
      if (node instanceof Collection<?> c) {
        c.forEach(e -> push(todo, e));
        continue;
      }
      if (node instanceof Map<?, ?> m) {
        m.forEach((k, v) -> {
          push(todo, k);
          push(todo, v);
        });
        continue;
      }
      if (node instanceof Object[] array) {
        for (Object e : array) {
          push(todo, e);
        }
        continue;
      }
      if (node instanceof Table table) {
        tables.add(table);
      } else if (node instanceof Function function) {
        if (function.getName() != null) {
          functions.add(SqlTables.normaliseQualified(function.getName()));
        }
      } else if (node instanceof NextValExpression || node instanceof TimeKeyExpression) {
        volatileExpression = true;
      } else if (node instanceof Column column && column.getColumnName() != null) {
        String name = SqlTables.normalise(column.getColumnName());
        // CURRENT_DATE, SYSDATE, ... parsed as a bare column; seq.NEXTVAL as a qualified one.
        if (column.getTable() == null && SqlTables.isVolatileName(name) || name.equals("nextval")
            || name.equals("currval")) {
          volatileExpression = true;
        }
      } else if (node instanceof Select select && select.getForMode() != null) {
        locking = true;
      } else if (node instanceof WithItem<?> item
          && (item.getParenthesedStatement() instanceof ParenthesedInsert
              || item.getParenthesedStatement() instanceof ParenthesedUpdate
              || item.getParenthesedStatement() instanceof ParenthesedDelete)) {
        modifyingCte = true;
      }
      if (!node.getClass().getName().startsWith(PACKAGE)) {
        continue;
      }
      for (Child child : children.apply(node.getClass())) {
        try {
          push(todo, child.of(node));
        } catch (ReflectiveOperationException e) {
          throw new IllegalStateException("cannot read a node of " + node.getClass().getName(), e);
        }
      }
    }
    return new Found(tables, functions, volatileExpression, locking, modifyingCte);
  }

  private static void push(Deque<Object> todo, Object value) {
    if (value == null || value instanceof String || value instanceof Number || value instanceof Boolean
        || value instanceof Enum<?> || value instanceof Character) {
      return;
    }
    if (value instanceof Collection<?> || value instanceof Map<?, ?> || value instanceof Object[]
        || value.getClass().getName().startsWith(PACKAGE) && !value.getClass().getName().startsWith(PARSER_PACKAGE)) {
      todo.push(value);
    }
  }
}
