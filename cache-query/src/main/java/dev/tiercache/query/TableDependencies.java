package dev.tiercache.query;

import java.util.ArrayDeque;
import java.util.Collections;
import java.util.Deque;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Changes the database makes that a statement does not name, declared once on the builder: {@code ON DELETE
 * CASCADE}, {@code TRUNCATE ... CASCADE} and triggers (a write to {@code users} also changes {@code orders}), and
 * views (a write to {@code users} changes what the view {@code active_users} shows). Both are edges "a write to A
 * changes B", closed transitively, and applied twice so that either side's executor suffices: a read of B is also
 * tagged {@code table:A}, and a write to A also invalidates {@code table:B}.
 */
final class TableDependencies {

  static final TableDependencies NONE = new TableDependencies(Map.of());

  private final Map<String, Set<String>> changes;
  private final Map<String, Set<String>> changedBy;

  /** {@code edges}: normalised table name to the tables a write to it also changes. */
  TableDependencies(Map<String, Set<String>> edges) {
    Map<String, Set<String>> forward = new HashMap<>();
    Map<String, Set<String>> backward = new HashMap<>();
    for (String from : edges.keySet()) {
      Set<String> reached = reach(edges, from);
      forward.put(from, reached);
      for (String to : reached) {
        backward.computeIfAbsent(to, k -> new TreeSet<>()).add(from);
      }
    }
    backward.replaceAll((k, v) -> Collections.unmodifiableSet(v));
    this.changes = Map.copyOf(forward);
    this.changedBy = Map.copyOf(backward);
  }

  /** The tables a read of {@code tables} depends on: them and every table whose writes change them. */
  Set<String> readTables(Set<String> tables) {
    return expand(tables, changedBy);
  }

  /** The tables a write to {@code tables} changes: them and every table declared to change with them. */
  Set<String> writtenTables(Set<String> tables) {
    return expand(tables, changes);
  }

  /** Whether a write to {@code table} is declared to change another table. */
  boolean declaresChanges(String table) {
    return !changes.getOrDefault(table, Set.of()).isEmpty();
  }

  boolean isEmpty() {
    return changes.isEmpty();
  }

  private static Set<String> expand(Set<String> tables, Map<String, Set<String>> edges) {
    if (edges.isEmpty()) {
      return tables;
    }
    Set<String> all = new TreeSet<>(tables);
    for (String table : tables) {
      all.addAll(edges.getOrDefault(table, Set.of()));
    }
    return all;
  }

  private static Set<String> reach(Map<String, Set<String>> edges, String from) {
    Set<String> reached = new TreeSet<>();
    Deque<String> todo = new ArrayDeque<>(edges.getOrDefault(from, Set.of()));
    while (!todo.isEmpty()) {
      String next = todo.pop();
      if (!next.equals(from) && reached.add(next)) {
        todo.addAll(edges.getOrDefault(next, Set.of()));
      }
    }
    return Collections.unmodifiableSet(reached);
  }
}
