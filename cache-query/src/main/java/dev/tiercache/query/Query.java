package dev.tiercache.query;

import dev.tiercache.Tags;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One query to cache: a name or a SQL text, its parameters, the tags its result carries, and how it uses the cache
 * (a TTL of its own, a bypass, a refresh). Immutable; the parameters are copied, so changing an argument afterwards
 * changes nothing.
 *
 * <pre>{@code
 * Query.sql("SELECT * FROM users WHERE id = ?", 42)                    // tagged table:users, found by parsing
 * Query.sql("SELECT * FROM users WHERE id IN (:ids)", Map.of("ids", List.of(1, 2, 3)))   // named, IN-list
 * Query.named("users.active", tenantId).tables("users")                 // a name, tables given by the caller
 * Query.sql("SELECT NEXT VALUE FOR seq").bypass()                       // run it, never cache it
 * Query.sql(reportSql, from, to).ttl(Duration.ofSeconds(30))            // a shorter life than the cache's TTL
 * }</pre>
 *
 * <h2>Tags</h2>
 * A SQL query is tagged {@code table:<name>} for every table it names (a write: every table it writes), found by
 * parsing the SQL; {@link #tables(String...)} replaces what parsing finds (for SQL the parser cannot read, and as
 * the explicit opt-in to cache a read that has no table or calls a volatile function). Table names are normalised:
 * last part of a qualified name, quotes removed, lowercased. A named query has no table tags unless given.
 *
 * <h2>Parameters</h2>
 * Positional ({@code ?}) or named ({@code :name}, with a map). A {@link java.util.Collection} parameter expands to
 * one placeholder per element, for {@code IN (...)} lists; an empty one is refused. Supported values: {@code null},
 * {@link SqlNull} (a null of a given SQL type), {@code String}, {@code Character}, {@code Boolean}, {@code Byte},
 * {@code Short}, {@code Integer}, {@code Long}, {@code Float}, {@code Double}, {@code BigDecimal}, {@code
 * BigInteger}, {@code byte[]}, {@code UUID}, enums (bound as their {@code name()}), {@code java.sql.Date}, {@code
 * Time}, {@code Timestamp}, {@code java.util.Date}, and the {@code java.time} types {@code LocalDate}, {@code
 * LocalTime}, {@code LocalDateTime}, {@code OffsetDateTime}, {@code OffsetTime}, {@code ZonedDateTime}, {@code
 * Instant}, {@code Year}, {@code YearMonth}, {@code Duration}. These have an encoding that is the same in every JVM,
 * which the cache key needs.
 */
public final class Query {

  private final String text;
  private final String label;
  private final boolean sql;
  private final List<Object> params;
  private final List<String> tables;
  private final List<String> tags;
  private final Duration ttl;
  private final QueryMode mode;

  private Query(
      String text, String label, boolean sql, List<Object> params, List<String> tables, List<String> tags,
      Duration ttl, QueryMode mode) {
    this.text = text;
    this.label = label;
    this.sql = sql;
    this.params = params;
    this.tables = tables;
    this.tags = tags;
    this.ttl = ttl;
    this.mode = mode;
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
    Objects.requireNonNull(params, "params (pass no arguments, not a null array, for a query without parameters)");
    return new Query(name, name, false, copy(java.util.Arrays.asList(params)), null, List.of(),
        null, QueryMode.CACHED);
  }

  /**
   * Creates a SQL query with {@code ?} parameters; a collection parameter expands to one placeholder per element.
   * Its text is normalised for the cache key (whitespace outside literals and comments collapsed); it is parsed for
   * its tables when first needed.
   *
   * @param sql the SQL statement; non-blank
   * @param params its parameters, in {@code ?} order (see the class documentation for the supported types)
   * @return the query
   * @throws NullPointerException if {@code sql} or {@code params} is null
   * @throws IllegalArgumentException if {@code sql} is blank, the placeholders and parameters do not match, a
   *     collection is empty, or a parameter has an unsupported type
   */
  public static Query sql(String sql, Object... params) {
    Objects.requireNonNull(params, "params (pass no arguments, not a null array, for a query without parameters)");
    String text = requireSql(sql);
    SqlText.Expanded expanded = SqlText.positional(text, params);
    return ofSql(text, expanded);
  }

  /**
   * Creates a SQL query with named parameters ({@code :name}); a collection value expands to one placeholder per
   * element. {@code ::} (a PostgreSQL cast) is left alone.
   *
   * @param sql the SQL statement; non-blank
   * @param params the values by name; every name in the SQL must have one
   * @return the query
   * @throws NullPointerException if {@code sql} or {@code params} is null
   * @throws IllegalArgumentException if {@code sql} is blank or mixes {@code ?} with names, a name has no value, a
   *     collection is empty, or a value has an unsupported type
   */
  public static Query sql(String sql, Map<String, ?> params) {
    Objects.requireNonNull(params, "params");
    String text = requireSql(sql);
    return ofSql(text, SqlText.named(text, params));
  }

  private static String requireSql(String sql) {
    Objects.requireNonNull(sql, "sql");
    if (sql.isBlank()) {
      throw new IllegalArgumentException("SQL must not be blank");
    }
    return SqlText.normalise(sql);
  }

  private static Query ofSql(String label, SqlText.Expanded expanded) {
    return new Query(
        SqlText.normalise(expanded.sql()), label, true, copy(expanded.params()), null, List.of(), null,
        QueryMode.CACHED);
  }

  /**
   * Returns a copy whose table tags are exactly {@code table:<name>} for these tables, instead of what parsing the
   * SQL finds. Naming the tables is also the opt-in to cache a read that reads no table or calls a volatile function
   * (never a locking read). Names may be qualified and quoted; they are normalised.
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
    return new Query(text, label, sql, params, List.copyOf(new LinkedHashSet<>(names)), tags, ttl, mode);
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
    return new Query(text, label, sql, params, this.tables, List.copyOf(new LinkedHashSet<>(all)), ttl, mode);
  }

  /**
   * Returns a copy whose cached result is served for at most {@code ttl} after it was loaded (the cache's own TTL
   * still applies if shorter). A TTL is also the opt-in to cache a read that reads no table or calls a volatile
   * function (never a locking read): such a result is then at most {@code ttl} old.
   *
   * @param ttl how long the result may be served; positive
   * @return the new query
   * @throws NullPointerException if {@code ttl} is null
   * @throws IllegalArgumentException if {@code ttl} is not positive
   */
  public Query ttl(Duration ttl) {
    Objects.requireNonNull(ttl, "ttl");
    if (ttl.isNegative() || ttl.isZero()) {
      throw new IllegalArgumentException("a query TTL must be positive");
    }
    return new Query(text, label, sql, params, tables, tags, ttl, mode);
  }

  /**
   * Returns a copy that reads the database and leaves the cache alone: nothing is served from it or stored in it.
   *
   * @return the new query
   */
  public Query bypass() {
    return new Query(text, label, sql, params, tables, tags, ttl, QueryMode.BYPASS);
  }

  /**
   * Returns a copy that drops its cached result (on every node) and loads and caches a fresh one.
   *
   * @return the new query
   */
  public Query refresh() {
    return new Query(text, label, sql, params, tables, tags, ttl, QueryMode.REFRESH);
  }

  /**
   * Returns the query's text: the name given to {@link #named}, or the normalised SQL with named parameters and
   * collections expanded to {@code ?} placeholders (what is sent to the database).
   *
   * @return the text
   */
  public String name() {
    return text;
  }

  /**
   * Returns the query's label: its name, or its normalised SQL as written (before named parameters and collections
   * are expanded), so that IN-lists of any length share one label. Used in metrics and messages.
   *
   * @return the label
   */
  public String label() {
    return label;
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
   * Returns the parameters, one per {@code ?} of {@link #name()}.
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
   * Returns the TTL given to {@link #ttl}, if any.
   *
   * @return the TTL, or null if the cache's own applies
   */
  public Duration ttl() {
    return ttl;
  }

  QueryMode mode() {
    return mode;
  }

  boolean hasExplicitTables() {
    return tables != null;
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

  private static List<Object> copy(List<Object> params) {
    List<Object> copy = new ArrayList<>(params.size());
    for (int i = 0; i < params.size(); i++) {
      copy.add(QueryKeys.requireSupported(params.get(i), i + 1));
    }
    return Collections.unmodifiableList(copy);
  }

  /** Shows the label only: parameters may be personal data, and are never logged. */
  @Override
  public String toString() {
    return "Query[" + label + ", " + params.size() + " parameter(s)]";
  }
}
