package dev.tiercache.query;

import dev.tiercache.Tags;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * One query to cache: a name or a SQL text, its parameters, and the tags its result carries. Immutable; the
 * parameters are copied (byte arrays and {@code java.util.Date}s too), so changing an argument afterwards changes
 * nothing.
 *
 * <pre>{@code
 * Query.sql("SELECT * FROM users WHERE id = ?", 42)           // tagged table:users, found by parsing
 * Query.named("users.active", tenantId).tables("users")        // a name, tables given by the caller
 * Query.sql(vendorSpecificSql, 7).tables("orders").tags("tenant:7")
 * }</pre>
 *
 * <h2>Tags</h2>
 * A SQL query is tagged {@code table:<name>} for every table it reads (a write: every table it writes), found by
 * parsing the SQL; {@link #tables(String...)} replaces what parsing finds (needed for views, functions that read
 * tables, and SQL the parser cannot read). Table names are normalised: last part of a qualified name, quotes
 * removed, lowercased. A named query has no table tags unless given.
 *
 * <h2>Parameters</h2>
 * {@code null}, {@code String}, {@code Character}, {@code Boolean}, {@code Byte}, {@code Short}, {@code Integer},
 * {@code Long}, {@code Float}, {@code Double}, {@code BigDecimal}, {@code BigInteger}, {@code byte[]}, {@code UUID},
 * enums (bound as their {@code name()}), {@code java.sql.Date}, {@code Time}, {@code Timestamp}, {@code
 * java.util.Date}, and the {@code java.time} types {@code LocalDate}, {@code LocalTime}, {@code LocalDateTime},
 * {@code OffsetDateTime}, {@code OffsetTime}, {@code ZonedDateTime}, {@code Instant}, {@code Year}, {@code
 * YearMonth}, {@code Duration}. These have an encoding that is the same in every JVM, which the cache key needs.
 */
public final class Query {

  private final String text;
  private final boolean sql;
  private final List<Object> params;
  private final List<String> tables;
  private final List<String> tags;

  private Query(String text, boolean sql, List<Object> params, List<String> tables, List<String> tags) {
    this.text = text;
    this.sql = sql;
    this.params = params;
    this.tables = tables;
    this.tags = tags;
  }

  /**
   * Creates a named query, for results that a loader computes: the name plays the role of the SQL text.
   *
   * @param name the query's name, also its {@code query} metric tag; non-blank
   * @param params its parameters (see the class documentation for the supported types)
   * @return the query, with no tags
   * @throws NullPointerException if {@code name} or {@code params} is null
   * @throws IllegalArgumentException if {@code name} is blank or a parameter has an unsupported type
   */
  public static Query named(String name, Object... params) {
    Objects.requireNonNull(name, "name");
    if (name.isBlank()) {
      throw new IllegalArgumentException("a query name must not be blank");
    }
    return new Query(name, false, copy(params), null, List.of());
  }

  /**
   * Creates a SQL query with {@code ?} parameters. Its text is normalised for the cache key (whitespace outside
   * quotes collapsed); it is parsed for its tables when first needed.
   *
   * @param sql the SQL statement; non-blank
   * @param params its parameters, in {@code ?} order (see the class documentation for the supported types)
   * @return the query
   * @throws NullPointerException if {@code sql} or {@code params} is null
   * @throws IllegalArgumentException if {@code sql} is blank or a parameter has an unsupported type
   */
  public static Query sql(String sql, Object... params) {
    Objects.requireNonNull(sql, "sql");
    if (sql.isBlank()) {
      throw new IllegalArgumentException("SQL must not be blank");
    }
    return new Query(QueryKeys.normaliseSql(sql), true, copy(params), null, List.of());
  }

  /**
   * Returns a copy whose table tags are exactly {@code table:<name>} for these tables, instead of what parsing the
   * SQL finds. Names may be qualified and quoted; they are normalised.
   *
   * @param tables the tables the query reads (or, for {@code update}, writes); at least one
   * @return the new query
   * @throws NullPointerException if {@code tables} or an element is null
   * @throws IllegalArgumentException if {@code tables} is empty or a name is blank
   */
  public Query tables(String... tables) {
    Objects.requireNonNull(tables, "tables");
    if (tables.length == 0) {
      throw new IllegalArgumentException("tables(...) needs at least one table");
    }
    List<String> names = new ArrayList<>(tables.length);
    for (String table : tables) {
      names.add(tableName(table));
    }
    return new Query(text, sql, params, List.copyOf(new LinkedHashSet<>(names)), tags);
  }

  /**
   * Returns a copy that also carries these tags (for example {@code tenant:7}), besides its table tags.
   *
   * @param tags further tags
   * @return the new query
   * @throws NullPointerException if {@code tags} or an element is null
   * @throws IllegalArgumentException if a tag is empty
   */
  public Query tags(String... tags) {
    Objects.requireNonNull(tags, "tags");
    List<String> all = new ArrayList<>(this.tags);
    all.addAll(Tags.of(tags).asSet());
    return new Query(text, sql, params, this.tables, List.copyOf(new LinkedHashSet<>(all)));
  }

  /**
   * Returns the query's name: the name given to {@link #named}, or the normalised SQL text.
   *
   * @return the name, used as the {@code query} tag of the executor's metrics
   */
  public String name() {
    return text;
  }

  /**
   * Tells whether this query is SQL text (made by {@link #sql}) rather than a name.
   *
   * @return true for SQL
   */
  public boolean isSql() {
    return sql;
  }

  /**
   * Returns the parameters.
   *
   * @return an unmodifiable list, which may hold nulls; byte arrays in it are the query's own copies
   */
  public List<Object> params() {
    return params;
  }

  /**
   * Returns the tables given to {@link #tables}, if any.
   *
   * @return the normalised table names, or an empty list if the tables come from parsing the SQL
   */
  public List<String> explicitTables() {
    return tables == null ? List.of() : tables;
  }

  /**
   * Returns the tags given to {@link #tags}.
   *
   * @return the extra tags, without the table tags
   */
  public List<String> extraTags() {
    return tags;
  }

  /**
   * The tables this query reads ({@code write == false}) or writes: the explicit ones, or what parsing finds.
   *
   * @throws IllegalArgumentException if they cannot be found, or the statement is not of the expected kind
   */
  Set<String> resolveTables(boolean write) {
    if (tables != null) {
      return new LinkedHashSet<>(tables);
    }
    if (!sql) {
      return Set.of();
    }
    SqlTables.Analysis analysis = SqlTables.analyse(text);
    SqlTables.Kind expected = write ? SqlTables.Kind.WRITE : SqlTables.Kind.READ;
    if (analysis.kind() == expected) {
      return analysis.tables();
    }
    String why =
        analysis.kind() == SqlTables.Kind.UNPARSEABLE || analysis.kind() == SqlTables.Kind.OTHER
            ? analysis.problem()
            : "it is a " + (write ? "query" : "write") + " statement";
    throw new IllegalArgumentException(
        "cannot tell which tables this SQL "
            + (write ? "writes" : "reads")
            + ": "
            + why
            + (write
                ? "; writes go through update(...) with INSERT/UPDATE/DELETE/MERGE, or name the tables with"
                    + " Query.sql(sql, params).tables(...)"
                : "; cached reads must be SELECT statements, or name the tables with Query.sql(sql, params).tables(...)"));
  }

  /** The tags of this query's result (reads) or the tags a write invalidates. */
  Tags resolveTags(boolean write) {
    List<String> all = new ArrayList<>();
    for (String table : resolveTables(write)) {
      all.add(tableTag(table));
    }
    all.addAll(tags);
    return Tags.of(all);
  }

  static String tableTag(String normalisedTable) {
    return "table:" + normalisedTable;
  }

  static String tableName(String table) {
    Objects.requireNonNull(table, "table");
    String name = SqlTables.normaliseQualified(table);
    if (name.isBlank()) {
      throw new IllegalArgumentException("a table name must not be blank");
    }
    return name;
  }

  private static List<Object> copy(Object[] params) {
    Objects.requireNonNull(params, "params (pass no arguments, not a null array, for a query without parameters)");
    Object[] copy = new Object[params.length];
    for (int i = 0; i < params.length; i++) {
      copy[i] = QueryKeys.requireSupported(params[i], i + 1);
    }
    return Collections.unmodifiableList(Arrays.asList(copy));
  }

  /** Shows the name only: parameters may be personal data, and are never logged. */
  @Override
  public String toString() {
    return "Query[" + text + ", " + params.size() + " parameter(s)]";
  }
}
