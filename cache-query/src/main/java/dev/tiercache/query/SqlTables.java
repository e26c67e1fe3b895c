package dev.tiercache.query;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import net.sf.jsqlparser.parser.CCJSqlParser;
import net.sf.jsqlparser.parser.CCJSqlParserUtil;
import net.sf.jsqlparser.parser.SimpleNode;
import net.sf.jsqlparser.parser.Token;
import net.sf.jsqlparser.schema.Table;
import net.sf.jsqlparser.statement.Statement;
import net.sf.jsqlparser.statement.Statements;
import net.sf.jsqlparser.statement.delete.Delete;
import net.sf.jsqlparser.statement.insert.Insert;
import net.sf.jsqlparser.statement.merge.Merge;
import net.sf.jsqlparser.statement.select.Join;
import net.sf.jsqlparser.statement.select.Select;
import net.sf.jsqlparser.statement.truncate.Truncate;
import net.sf.jsqlparser.statement.update.Update;
import net.sf.jsqlparser.statement.upsert.Upsert;

/**
 * What a SQL statement reads or writes, found with JSqlParser. A read is tagged with every table named anywhere in
 * it (any clause, any subquery; a CTE's name too, which costs an extra tag and never a missed one). Names are
 * normalised to their last part, unquoted and case-folded ({@code public."Users"} becomes {@code users}): two
 * spellings of one table always meet, and two tables that share a name in different schemas only invalidate each
 * other more often than needed, never less.
 *
 * <p>The analysis of each distinct statement text is memoised (bounded): statements are code constants, and parsing
 * costs far more than a cache hit. This is a memo of a pure function, not a cache of data.
 */
final class SqlTables {

  /** What a statement does. */
  enum Kind { READ, WRITE, OTHER, UNPARSEABLE }

  /**
   * The analysis of one statement.
   *
   * @param tables the tables read (READ) or written (WRITE)
   * @param uncacheable why a read must not be cached even though it is one (null if it may be)
   * @param lockingRead a read that takes row locks: never cached, even with explicit tables
   * @param problem why the statement could not be analysed (OTHER, UNPARSEABLE)
   * @param cascades a write that changes tables it does not name, which ones the statement cannot tell ({@code
   *     TRUNCATE ... CASCADE})
   */
  record Analysis(
      Kind kind, Set<String> tables, String uncacheable, boolean lockingRead, String problem, boolean cascades) {}

  /** Functions whose result changes from call to call, session to session, or that have side effects. */
  private static final Set<String> VOLATILE =
      Set.of(
          "rand", "random", "uuid", "random_uuid", "gen_random_uuid", "newid", "sys_guid", "now", "current_timestamp",
          "current_date", "current_time", "localtime", "localtimestamp", "sysdate", "systimestamp", "getdate",
          "getutcdate", "sysdatetime", "clock_timestamp", "statement_timestamp", "transaction_timestamp", "timeofday",
          "unix_timestamp", "utc_timestamp", "utc_date", "utc_time", "curdate", "curtime", "nextval", "currval",
          "lastval", "setval", "next_value", "last_insert_id", "identity", "scope_identity", "get_lock",
          "release_lock", "sleep", "pg_sleep", "txid_current", "pg_current_xact_id", "current_user", "session_user",
          "user", "current_role", "current_schema", "current_database", "database", "schema", "connection_id",
          "pg_backend_pid", "session_id", "found_rows", "row_count", "lock_timeout", "set_config", "current_setting",
          "nextval_for", "disk_space_used", "memory_used", "memory_free", "transaction_id", "lo_import", "lo_export",
          "dblink", "dblink_exec", "file_read", "file_write", "csvread", "csvwrite", "link_schema", "secure_rand",
          "uuid_short", "sysutcdatetime", "newsequentialid", "sys_context");

  private static final List<String> VOLATILE_PREFIXES =
      List.of("pg_advisory", "pg_try_advisory", "dbms_random", "dbms_lock", "random_", "pg_notify", "pg_terminate",
          "pg_cancel", "pg_reload", "pg_stat_reset", "uuid_generate_v");

  private static final String TIMED_OUT = "parsing passed its deadline of CPU time";
  private static final String TIMED_OUT_WALL = "parsing took longer than its time limit";

  /** How much CPU time one statement may take to parse (see {@link #withinDeadline}). */
  static final Duration PARSE_TIMEOUT = Duration.ofSeconds(1);
  /** How long a parse may take in all, however little CPU it got. */
  static final Duration PARSE_WALL_LIMIT = Duration.ofSeconds(10);
  private static final Duration DEADLINE_POLL = Duration.ofMillis(50);
  private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

  private static final ScheduledExecutorService DEADLINES =
      Executors.newSingleThreadScheduledExecutor(
          task -> {
            Thread thread = new Thread(task, "tiercache-sql-parse-deadline");
            thread.setDaemon(true);
            return thread;
          });

  private static final Cache<String, Analysis> MEMO = Caffeine.newBuilder().maximumSize(2_000).build();

  private SqlTables() {}

  static Analysis analyse(String sql) {
    Analysis analysis = MEMO.get(sql, SqlTables::parse);
    if (analysis.problem() != null && analysis.problem().contains(TIMED_OUT_WALL)) {
      // Not remembered: a parse that a stalled machine (a GC pause, no CPU) held past the limit may pass next time.
      MEMO.invalidate(sql);
    }
    return analysis;
  }

  static boolean isVolatileName(String function) {
    if (VOLATILE.contains(function)) {
      return true;
    }
    for (String prefix : VOLATILE_PREFIXES) {
      if (function.startsWith(prefix)) {
        return true;
      }
    }
    return false;
  }

  /** Normalises one identifier part: surrounding quotes removed (doubled quotes undone), case-folded. */
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
    // Upper-cased first, as H2 folds unquoted names: letters that change more than case on the way (straße is
    // STRASSE, the long s of uſers is S) then meet their other spellings. A fold that merges two names a database
    // keeps apart only shares a tag: more invalidation, never less.
    return name.toUpperCase(Locale.ROOT).toLowerCase(Locale.ROOT);
  }

  /**
   * Normalises a possibly qualified name ({@code app."Orders"} becomes {@code orders}, {@code "my.table"} stays
   * {@code my.table}): the one function behind tags from parsing and from {@code invalidateTables}.
   */
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
    SqlAst.Found found;
    try {
      statement = parseOne(sql);
      if (statement == null) {
        return failed(Kind.UNPARSEABLE, "it is not exactly one SQL statement");
      }
      found = SqlAst.walk(statement);
    } catch (Exception | StackOverflowError e) {
      return failed(Kind.UNPARSEABLE, "JSqlParser cannot parse it (" + firstLine(e) + ")");
    }
    Set<String> all = names(found.tables());
    if (statement instanceof Select && !found.modifyingCte()) {
      String never = SqlText.neverCached(sql);
      boolean locking = found.locking() || never != null;
      String uncacheable = null;
      if (locking) {
        uncacheable = never != null ? never : "it locks rows (FOR UPDATE/SHARE)";
      } else if (found.volatileExpression() || found.functions().stream().anyMatch(SqlTables::isVolatileName)) {
        uncacheable = "it calls a volatile function (a sequence, the clock, a random value, a lock, the session)";
      } else if (all.isEmpty()) {
        uncacheable = "it reads no table, so no write could ever invalidate it";
      }
      return new Analysis(Kind.READ, all, uncacheable, locking, null, false);
    }
    Set<String> written = new TreeSet<>();
    boolean cascades = false;
    if (statement instanceof Select) {
      written.addAll(all); // a data-modifying CTE: count everything it names
    } else if (statement instanceof Insert insert) {
      add(written, insert.getTable());
    } else if (statement instanceof Update update) {
      add(written, update.getTable());
      // Multi-table UPDATE (MySQL) may write any joined table: over-invalidating is safe, under- is not.
      joined(written, update.getStartJoins());
      joined(written, update.getJoins());
    } else if (statement instanceof Delete delete) {
      add(written, delete.getTable());
      if (delete.getTables() != null && !delete.getTables().isEmpty()) {
        // DELETE o FROM users u JOIN orders o ...: the targets may be aliases; count every table it names.
        written.addAll(all);
      }
    } else if (statement instanceof Merge merge) {
      add(written, merge.getTable());
    } else if (statement instanceof Upsert upsert) {
      add(written, upsert.getTable());
    } else if (statement instanceof Truncate truncate) {
      add(written, truncate.getTable());
      cascades = truncate.getCascade();
      if (truncate.getTables() != null) {
        truncate.getTables().forEach(t -> add(written, t));
      }
    } else {
      return failed(Kind.OTHER, "it is a " + statement.getClass().getSimpleName() + " statement");
    }
    if (found.modifyingCte() || hasWith(statement)) {
      written.addAll(all); // a WITH clause may hold data-modifying statements (PostgreSQL)
    }
    if (written.isEmpty()) {
      return failed(Kind.OTHER, "no written table was found in it");
    }
    return new Analysis(Kind.WRITE, Collections.unmodifiableSet(written), null, false, null, cascades);
  }

  private static boolean hasWith(Statement statement) {
    List<?> with =
        statement instanceof Insert i ? i.getWithItemsList()
            : statement instanceof Update u ? u.getWithItemsList()
            : statement instanceof Delete d ? d.getWithItemsList()
            : statement instanceof Merge m ? m.getWithItemsList()
            : null;
    return with != null && !with.isEmpty();
  }

  private static Analysis failed(Kind kind, String problem) {
    return new Analysis(kind, Set.of(), null, false, problem, false);
  }

  private static Set<String> names(List<Table> tables) {
    Set<String> names = new TreeSet<>();
    tables.forEach(t -> add(names, t));
    return Collections.unmodifiableSet(names);
  }

  /** Parses exactly one statement on the caller's thread (JSqlParser's own helpers start a thread per parse). */
  private static Statement parseOne(String sql) throws Exception {
    Statements statements;
    CCJSqlParser simple = parser(sql, false);
    try {
      statements = withinDeadline(simple);
    } catch (Exception e) {
      if (simple.interrupted || CCJSqlParserUtil.getNestingDepth(sql) > CCJSqlParserUtil.ALLOWED_NESTING_DEPTH) {
        throw e;
      }
      statements = withinDeadline(parser(sql, true));
    }
    List<Statement> list = new ArrayList<>();
    for (Statement s : statements) {
      if (s != null) {
        list.add(s);
      }
    }
    return list.size() == 1 ? list.get(0) : null;
  }

  /**
   * Parses on the caller's thread within {@link #PARSE_TIMEOUT} of its CPU time: JSqlParser's lookahead can take
   * time exponential in the nesting of some statements (14 nested {@code IN (SELECT ...)} took seconds), and it
   * checks its {@code interrupted} flag as it goes, which a timer raises. CPU time, not wall time, so that busy cores
   * do not refuse a statement that parses in time when they are idle (and a refusal for it is remembered); a
   * parse that a stalled machine holds past {@link #PARSE_WALL_LIMIT} is given up too, and not remembered.
   */
  private static Statements withinDeadline(CCJSqlParser parser) throws Exception {
    Deadline deadline = new Deadline(parser, Thread.currentThread());
    try {
      return parser.Statements();
    } catch (Exception e) {
      if (parser.interrupted) {
        throw new IllegalArgumentException(deadline.why(), e);
      }
      throw e;
    } finally {
      deadline.cancel();
    }
  }

  /** Raises a parser's interrupted flag once the parsing thread used its CPU budget, or the wall-time limit passed. */
  private static final class Deadline implements Runnable {
    private final CCJSqlParser parser;
    private final long threadId;
    private final long cpuStart;
    private final long wallStart = System.nanoTime();
    private volatile ScheduledFuture<?> next;
    private volatile boolean cancelled;
    private volatile String why = TIMED_OUT;

    Deadline(CCJSqlParser parser, Thread parsing) {
      this.parser = parser;
      this.threadId = parsing.getId();
      this.cpuStart = cpuNanos(threadId);
      schedule();
    }

    private void schedule() {
      next = DEADLINES.schedule(this, DEADLINE_POLL.toMillis(), TimeUnit.MILLISECONDS);
    }

    @Override
    public void run() {
      if (cancelled) {
        return;
      }
      long cpu = cpuNanos(threadId);
      long wall = System.nanoTime() - wallStart;
      if (cpuStart >= 0 && cpu >= 0 && cpu - cpuStart > PARSE_TIMEOUT.toNanos()) {
        why = TIMED_OUT;
        parser.interrupted = true;
      } else if (wall > ((cpuStart < 0 || cpu < 0) ? PARSE_TIMEOUT : PARSE_WALL_LIMIT).toNanos()) {
        // No CPU clock (unsupported, or switched off): wall time it is, and such a refusal is not remembered.
        why = TIMED_OUT_WALL;
        parser.interrupted = true;
      } else {
        schedule();
      }
    }

    String why() {
      return why + " (" + PARSE_TIMEOUT.toMillis() + " ms of CPU, " + PARSE_WALL_LIMIT.toSeconds() + " s in all)";
    }

    void cancel() {
      cancelled = true;
      ScheduledFuture<?> pending = next;
      if (pending != null) {
        pending.cancel(false);
      }
    }

    private static long cpuNanos(long threadId) {
      return THREADS.isThreadCpuTimeSupported() && THREADS.isThreadCpuTimeEnabled()
          ? THREADS.getThreadCpuTime(threadId) : -1;
    }
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
        if (join.getRightItem() instanceof Table table) {
          add(into, table);
        }
      }
    }
  }

  private static void add(Set<String> into, Table table) {
    if (table != null && table.getName() != null) {
      into.add(normaliseQualified(sourceName(table)));
    }
  }

  /**
   * The table's name as written: JSqlParser splits a quoted name at its dots ({@code "my.table"} becomes schema
   * {@code my}, table {@code table}), so the name is read back from the source tokens: {@code name (. name)*}.
   */
  private static String sourceName(Table table) {
    SimpleNode node = table.getASTNode();
    if (node == null || node.jjtGetFirstToken() == null) {
      return table.getFullyQualifiedName();
    }
    StringBuilder name = new StringBuilder();
    boolean expectName = true;
    for (Token t = node.jjtGetFirstToken(); t != null && t.image != null; t = t.next) {
      if (expectName == t.image.equals(".")) {
        break;
      }
      name.append(t.image);
      expectName = !expectName;
      if (t == node.jjtGetLastToken()) {
        break;
      }
    }
    return name.length() == 0 ? table.getFullyQualifiedName() : name.toString();
  }
}
