package dev.tiercache.query;

import java.lang.reflect.Field;
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

  private static final ClassValue<List<Field>> FIELDS =
      new ClassValue<>() {
        @Override
        protected List<Field> computeValue(Class<?> type) {
          List<Field> fields = new ArrayList<>();
          for (Class<?> c = type; c != null && c.getName().startsWith(PACKAGE); c = c.getSuperclass()) {
            for (Field f : c.getDeclaredFields()) {
              if (Modifier.isStatic(f.getModifiers()) || f.getType().isPrimitive() || f.getType() == String.class
                  || f.getType().getName().startsWith(PARSER_PACKAGE)
                  || c == Column.class && f.getType() == Table.class) {
                continue;
              }
              f.setAccessible(true);
              fields.add(f);
            }
          }
          return Collections.unmodifiableList(fields);
        }
      };

  private SqlAst() {}

  static Found walk(Object root) {
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
      for (Field field : FIELDS.get(node.getClass())) {
        try {
          push(todo, field.get(node));
        } catch (IllegalAccessException e) {
          throw new IllegalStateException("cannot read " + field, e);
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
