package dev.tiercache.query;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Supplier;
import net.sf.jsqlparser.parser.CCJSqlParser;
import net.sf.jsqlparser.parser.CCJSqlParserUtil;
import net.sf.jsqlparser.schema.Table;
import net.sf.jsqlparser.statement.Statement;
import net.sf.jsqlparser.statement.Statements;
import net.sf.jsqlparser.statement.delete.Delete;
import net.sf.jsqlparser.statement.insert.Insert;
import net.sf.jsqlparser.statement.merge.Merge;
import net.sf.jsqlparser.statement.select.FromItem;
import net.sf.jsqlparser.statement.select.Join;
import net.sf.jsqlparser.statement.select.ParenthesedSelect;
import net.sf.jsqlparser.statement.select.PlainSelect;
import net.sf.jsqlparser.statement.select.Select;
import net.sf.jsqlparser.statement.select.SetOperationList;
import net.sf.jsqlparser.statement.select.WithItem;
import net.sf.jsqlparser.statement.truncate.Truncate;
import net.sf.jsqlparser.statement.update.Update;
import net.sf.jsqlparser.statement.upsert.Upsert;
import net.sf.jsqlparser.util.TablesNamesFinder;

/**
 * Finds the tables a SQL statement reads (a query) or writes (INSERT, UPDATE, DELETE, MERGE, UPSERT, TRUNCATE), with
 * JSqlParser. Names are normalised to their last part, unquoted and lowercased ({@code public."Users"} becomes
 * {@code users}): two spellings of one table always meet, and two tables that share a name in different schemas
 * only invalidate each other more often than needed, never less.
 *
 * <p>The result of each distinct statement text is memoised (bounded), because statements are code constants and
 * parsing costs far more than a cache hit. This is a memo of a pure function, not a cache of data.
 */
final class SqlTables {

  /** What a statement does. */
  enum Kind { READ, WRITE, OTHER, UNPARSEABLE }

  /** The analysis of one statement; {@code problem} says why it could not be analysed. */
  record Analysis(Kind kind, Set<String> tables, String problem) {}

  private static final Cache<String, Analysis> MEMO = Caffeine.newBuilder().maximumSize(2_000).build();

  private SqlTables() {}

  static Analysis analyse(String sql) {
    return MEMO.get(sql, SqlTables::parse);
  }

  /** Normalises one identifier part: surrounding quotes removed (doubled quotes undone), lowercased. */
  static String normalise(String part) {
    String name = part.strip();
    if (name.length() >= 2) {
      char first = name.charAt(0);
      char last = name.charAt(name.length() - 1);
      if ((first == '"' && last == '"') || (first == '`' && last == '`')) {
        String q = String.valueOf(first);
        name = name.substring(1, name.length() - 1).replace(q + q, q);
      } else if (first == '[' && last == ']') {
        name = name.substring(1, name.length() - 1).replace("]]", "]");
      }
    }
    return name.toLowerCase(Locale.ROOT);
  }

  /** Normalises a possibly qualified table name written by a caller ({@code app."Orders"} becomes {@code orders}). */
  static String normaliseQualified(String qualified) {
    int start = 0;
    char quote = 0;
    for (int i = 0; i < qualified.length(); i++) {
      char c = qualified.charAt(i);
      if (quote != 0) {
        if (c == quote) {
          quote = 0;
        }
      } else if (c == '"' || c == '`') {
        quote = c;
      } else if (c == '[') {
        quote = ']';
      } else if (c == '.') {
        start = i + 1;
      }
    }
    return normalise(qualified.substring(start));
  }

  private static Analysis parse(String sql) {
    Statement statement;
    try {
      statement = parseOne(sql);
    } catch (Exception | StackOverflowError e) {
      return new Analysis(Kind.UNPARSEABLE, Set.of(), "JSqlParser cannot parse it (" + firstLine(e) + ")");
    }
    if (statement == null) {
      return new Analysis(Kind.UNPARSEABLE, Set.of(), "it is not exactly one SQL statement");
    }
    if (statement instanceof Select select) {
      return new Analysis(Kind.READ, finder().find(select), null);
    }
    Set<String> written = new TreeSet<>();
    List<WithItem<?>> with = null;
    if (statement instanceof Insert insert) {
      add(written, insert.getTable());
      with = insert.getWithItemsList();
    } else if (statement instanceof Update update) {
      add(written, update.getTable());
      // Multi-table UPDATE (MySQL) may write any joined table: over-invalidating is safe, under- is not.
      joined(written, update.getStartJoins());
      joined(written, update.getJoins());
      with = update.getWithItemsList();
    } else if (statement instanceof Delete delete) {
      add(written, delete.getTable());
      if (delete.getTables() != null) {
        delete.getTables().forEach(t -> add(written, t));
      }
      with = delete.getWithItemsList();
    } else if (statement instanceof Merge merge) {
      add(written, merge.getTable());
      with = merge.getWithItemsList();
    } else if (statement instanceof Upsert upsert) {
      add(written, upsert.getTable());
    } else if (statement instanceof Truncate truncate) {
      add(written, truncate.getTable());
      if (truncate.getTables() != null) {
        truncate.getTables().forEach(t -> add(written, t));
      }
    } else {
      return new Analysis(Kind.OTHER, Set.of(), "it is a " + statement.getClass().getSimpleName() + " statement");
    }
    if (with != null && !with.isEmpty()) {
      // A WITH clause may hold data-modifying statements (PostgreSQL): count everything the statement names.
      written.addAll(finder().find(statement));
    }
    if (written.isEmpty()) {
      return new Analysis(Kind.OTHER, Set.of(), "no written table was found in it");
    }
    return new Analysis(Kind.WRITE, Collections.unmodifiableSet(written), null);
  }

  /** Parses exactly one statement on the caller's thread (JSqlParser's own helpers start a thread per parse). */
  private static Statement parseOne(String sql) throws Exception {
    Statements statements;
    try {
      statements = parser(sql, false).Statements();
    } catch (Exception e) {
      if (CCJSqlParserUtil.getNestingDepth(sql) > CCJSqlParserUtil.ALLOWED_NESTING_DEPTH) {
        throw e;
      }
      statements = parser(sql, true).Statements();
    }
    List<Statement> list = new ArrayList<>();
    for (Statement s : statements) {
      if (s != null) {
        list.add(s);
      }
    }
    return list.size() == 1 ? list.get(0) : null;
  }

  private static CCJSqlParser parser(String sql, boolean complex) {
    CCJSqlParser parser = CCJSqlParserUtil.newParser(sql);
    parser.withAllowComplexParsing(complex);
    return parser;
  }

  private static String firstLine(Throwable e) {
    String message = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    int newline = message.indexOf('\n');
    message = newline < 0 ? message : message.substring(0, newline);
    return message.length() <= 160 ? message : message.substring(0, 160) + "...";
  }

  private static void joined(Set<String> into, List<Join> joins) {
    if (joins != null) {
      for (Join join : joins) {
        FromItem item = join.getRightItem();
        if (item instanceof Table table) {
          add(into, table);
        }
      }
    }
  }

  private static void add(Set<String> into, Table table) {
    if (table != null && table.getName() != null) {
      into.add(normalise(table.getName()));
    }
  }

  private static ScopedFinder finder() {
    return new ScopedFinder();
  }

  /**
   * JSqlParser's table finder with SQL's scoping of WITH names: a reference is to a CTE only where a CTE of that
   * name is visible (earlier items of the same WITH, every item of a WITH RECURSIVE, and the statement body), so
   * {@code WITH users AS (SELECT * FROM users) ...} still reports the real table {@code users}. Aliases of
   * subqueries are never tables, and the finder never mistakes a real table for one.
   */
  private static final class ScopedFinder extends TablesNamesFinder<Void> {

    /** One WITH clause being visited; {@code visible} items of it are in scope. */
    private static final class Frame {
      final List<WithItem<?>> items;
      final boolean recursive;
      int visible;

      Frame(List<WithItem<?>> items) {
        this.items = items;
        this.recursive = items.stream().anyMatch(WithItem::isRecursive);
        this.visible = recursive ? items.size() : 0;
      }
    }

    private final Deque<Frame> frames = new ArrayDeque<>();
    private final Set<String> found = new TreeSet<>();

    Set<String> find(Statement statement) {
      getTables(statement);
      return Collections.unmodifiableSet(found);
    }

    private <T> T scoped(List<WithItem<?>> items, Supplier<T> visit) {
      if (items == null || items.isEmpty()) {
        return visit.get();
      }
      frames.push(new Frame(items));
      try {
        return visit.get();
      } finally {
        frames.pop();
      }
    }

    @Override
    public <S> Void visit(Select select, S context) {
      return scoped(select.getWithItemsList(), () -> super.visit(select, context));
    }

    @Override
    public <S> Void visit(PlainSelect select, S context) {
      return scoped(select.getWithItemsList(), () -> super.visit(select, context));
    }

    @Override
    public <S> Void visit(SetOperationList select, S context) {
      return scoped(select.getWithItemsList(), () -> super.visit(select, context));
    }

    @Override
    public <S> Void visit(ParenthesedSelect select, S context) {
      return scoped(select.getWithItemsList(), () -> super.visit(select, context));
    }

    @Override
    public <S> Void visit(Insert insert, S context) {
      return scoped(insert.getWithItemsList(), () -> super.visit(insert, context));
    }

    @Override
    public <S> Void visit(Update update, S context) {
      return scoped(update.getWithItemsList(), () -> super.visit(update, context));
    }

    @Override
    public <S> Void visit(Merge merge, S context) {
      return scoped(merge.getWithItemsList(), () -> super.visit(merge, context));
    }

    @Override
    public <S> Void visit(WithItem<?> item, S context) {
      Frame frame = frameOf(item);
      int index = frame == null ? -1 : indexOf(frame.items, item);
      if (frame != null && !frame.recursive) {
        frame.visible = index;
      }
      if (item.getSelect() != null) {
        item.getSelect().accept((net.sf.jsqlparser.statement.select.SelectVisitor<?>) this, context);
      }
      if (frame != null && !frame.recursive) {
        frame.visible = index + 1;
      }
      return null;
    }

    @Override
    public <S> Void visit(Table table, S context) {
      if (table.getName() == null) {
        return null;
      }
      boolean qualified = table.getSchemaName() != null || table.getDatabaseName() != null;
      if (!qualified && isCte(table.getName())) {
        return null;
      }
      found.add(normalise(table.getName()));
      return null;
    }

    private Frame frameOf(WithItem<?> item) {
      for (Frame frame : frames) {
        if (indexOf(frame.items, item) >= 0) {
          return frame;
        }
      }
      return null;
    }

    private static int indexOf(List<WithItem<?>> items, WithItem<?> item) {
      for (int i = 0; i < items.size(); i++) {
        if (items.get(i) == item) {
          return i;
        }
      }
      return -1;
    }

    private boolean isCte(String reference) {
      for (Frame frame : frames) {
        for (int i = 0; i < frame.visible; i++) {
          if (sameName(frame.items.get(i).getAliasName(), reference)) {
            return true;
          }
        }
      }
      return false;
    }

    /**
     * Unquoted names match whatever their case (databases fold them); a quoted one only its exact spelling. When in
     * doubt the reference counts as a table: an extra tag costs little, a missing one serves stale rows.
     */
    private static boolean sameName(String cte, String reference) {
      if (cte == null) {
        return false;
      }
      if (!isQuoted(cte) && !isQuoted(reference)) {
        return cte.equalsIgnoreCase(reference);
      }
      return cte.equals(reference);
    }

    private static boolean isQuoted(String name) {
      return !name.isEmpty() && (name.charAt(0) == '"' || name.charAt(0) == '`' || name.charAt(0) == '[');
    }
  }
}
