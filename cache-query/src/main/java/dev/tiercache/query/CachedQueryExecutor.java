package dev.tiercache.query;

import dev.tiercache.Invalidation;
import dev.tiercache.Tags;
import dev.tiercache.TieredCache;
import dev.tiercache.codec.CodecException;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.InputStream;
import java.io.Reader;
import java.math.BigInteger;
import java.sql.Blob;
import java.sql.Clob;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.SQLXML;
import java.sql.Types;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.Spliterator;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;
import java.util.function.Supplier;
import javax.sql.DataSource;

/**
 * Caches query results in a {@link TieredCache}: a thin layer that derives each query's cache key and tags, and
 * invalidates the tables a write touches. It keeps no map, TTL or invalidation path of its own; expiry, both tiers,
 * stampede protection and cross-node invalidation are the cache's.
 *
 * <pre>{@code
 * TieredCache<String, List<User>> cache = TieredCache.<String, List<User>>builder("users")
 *     .l2(RedisTier.create(redisClient))
 *     .valueCodec(JsonCodec.of(new TypeReference<List<User>>() {}))
 *     .build();
 * CachedQueryExecutor<User> users = CachedQueryExecutor.builder(cache).dataSource(dataSource).build();
 *
 * List<User> active = users.queryList("SELECT * FROM users WHERE active = ?", User::fromRow, true);
 * Optional<User> one = users.queryOne("SELECT * FROM users WHERE id = ?", User::fromRow, 42);
 * users.update("UPDATE users SET active = ? WHERE id = ?", false, 42);   // invalidates table:users everywhere
 * }</pre>
 *
 * <h2>What is cached</h2>
 * A result is an immutable list of rows of type {@code R} (a single-row result is a list of at most one row, so an
 * absent row is cached too, and invalidated like any other). Rows should be immutable. Results that cannot be
 * cached (result sets, streams, iterators, connections, LOBs, readers, or anything the cache's value codec cannot
 * encode) are rejected with an {@link IllegalArgumentException}, and nothing is cached.
 *
 * <h2>Keys and tags</h2>
 * The key is derived from the query's normalised text and parameter values (see {@link Query}); it is the same in
 * every JVM, and two different queries never share one. The row mapper is not part of the key: map one SQL text one
 * way, or give differently mapped queries different {@link Query#named names}. Each result carries the tags of its
 * query, by default {@code table:<name>} for every table it reads.
 *
 * <h2>Writes and transactions</h2>
 * {@link #update} runs one statement on its own connection, commits it if the connection is not in auto-commit
 * mode, and only then invalidates the tables it writes, on every node. {@link #inTransaction} runs several
 * statements in one transaction and invalidates what they wrote after the commit, and nothing if it rolls back. A
 * write made any other way (another program, a transaction of your own) is not seen: call {@link #invalidateTables}
 * after it commits. Between the commit and the invalidation, readers may still get the old rows; a load that read
 * the old rows before the invalidation is not cached after it (the cache's guarantee).
 *
 * <p>Instances are immutable and thread-safe.
 *
 * @param <R> the row type
 */
public final class CachedQueryExecutor<R> {

  private static final List<Class<?>> NOT_CACHEABLE =
      List.of(
          ResultSet.class, Connection.class, java.sql.Statement.class, Blob.class, Clob.class, SQLXML.class,
          java.sql.Array.class, java.sql.Ref.class, InputStream.class, Reader.class, java.util.stream.BaseStream.class,
          Iterator.class, Spliterator.class, Future.class, CompletionStage.class, AutoCloseable.class);

  private final TieredCache<String, List<R>> cache;
  private final DataSource dataSource;
  private final QueryMetrics metrics;

  private CachedQueryExecutor(Builder<R> builder) {
    this.cache = builder.cache;
    this.dataSource = builder.dataSource;
    this.metrics =
        builder.meterRegistry == null ? QueryMetrics.NOOP : QueryMetrics.micrometer(builder.meterRegistry, cache.name());
  }

  /**
   * Starts building an executor over a cache. The executor does not own the cache: closing it is the caller's job.
   *
   * @param cache the cache that holds the results; with an L2, its value codec must encode {@code List<R>}
   * @param <R> the row type
   * @return a builder
   * @throws NullPointerException if {@code cache} is null
   */
  public static <R> Builder<R> builder(TieredCache<String, List<R>> cache) {
    return new Builder<>(cache);
  }

  /**
   * Returns the cache this executor works on.
   *
   * @return the cache
   */
  public TieredCache<String, List<R>> cache() {
    return cache;
  }

  /**
   * Returns the cache key of a query's result.
   *
   * @param query the query
   * @return the key: {@code q:} and 64 hex digits
   * @throws NullPointerException if {@code query} is null
   * @throws IllegalArgumentException if the query is SQL whose tables cannot be found (see {@link #tagsOf})
   */
  public String keyOf(Query query) {
    return QueryKeys.key(query, tagsOf(query));
  }

  /**
   * Returns the tags a query's result carries: {@code table:<name>} for each table it reads, and its extra tags.
   *
   * @param query the query
   * @return the tags
   * @throws NullPointerException if {@code query} is null
   * @throws IllegalArgumentException if the query is SQL that cannot be parsed or is not a query; name its tables
   *     with {@link Query#tables(String...)}
   */
  public Tags tagsOf(Query query) {
    return Objects.requireNonNull(query, "query").resolveTags(false);
  }

  /**
   * Returns a query's cached result, or loads, caches and returns it. Concurrent calls for the same missing result
   * on one node share one load.
   *
   * @param query the query: its key and tags
   * @param loader loads the rows on a miss; must not return null (return an empty list for no rows)
   * @return the rows, as an unmodifiable list
   * @throws NullPointerException if an argument is null, the loader returns null, or a row is null
   * @throws IllegalArgumentException if the query's tables cannot be found, or the result cannot be cached (see
   *     the class documentation); nothing is cached
   * @throws RuntimeException whatever the loader threw; nothing is cached
   */
  public List<R> execute(Query query, Supplier<? extends List<? extends R>> loader) {
    Objects.requireNonNull(loader, "loader");
    Tags tags = tagsOf(query);
    String key = QueryKeys.key(query, tags);
    AtomicBoolean loaded = new AtomicBoolean();
    List<R> rows;
    try {
      rows =
          cache.get(
              key,
              tags,
              k -> {
                loaded.set(true);
                return timed(query, () -> frozen(query, loader.get()));
              });
    } catch (CodecException e) {
      throw notEncodable(query, e);
    }
    metrics.executions(query.name(), loaded.get() ? 0 : 1, loaded.get() ? 1 : 0);
    return Collections.unmodifiableList(rows);
  }

  /**
   * Looks up one row per id, as {@code findByIds} does: ids found in either tier are served from there, and the
   * loader is called once, with the ids that both tiers miss. An id the loader leaves out is cached as absent (and
   * invalidated like the rest).
   *
   * <p>Each row is cached under its own key and carries the query's tags, so a write to one of its tables (or any
   * {@code cache.invalidate(Invalidation.tag(...))}) removes it.
   *
   * @param query the lookup: its name or SQL, and parameters shared by all ids; each id adds one parameter
   * @param ids the ids; each of a type {@link Query} supports as a parameter
   * @param loader given the ids to load (an unmodifiable set), returns the rows it found, by id
   * @param <I> the id type
   * @return the rows found, by id, in the order of {@code ids}; an unmodifiable map
   * @throws NullPointerException if an argument or id is null, or the loader returns null
   * @throws IllegalArgumentException if an id has an unsupported type, or a row cannot be cached; nothing the loader
   *     returned is cached
   * @throws RuntimeException whatever the loader threw; nothing it was asked for is cached
   */
  public <I> Map<I, R> executeAll(
      Query query,
      Collection<? extends I> ids,
      Function<? super Set<I>, ? extends Map<? extends I, ? extends R>> loader) {
    Objects.requireNonNull(ids, "ids");
    Objects.requireNonNull(loader, "loader");
    Tags tags = tagsOf(query);
    Map<String, I> idsByKey = new LinkedHashMap<>();
    for (I id : ids) {
      Objects.requireNonNull(id, "ids must not contain null");
      QueryKeys.requireSupported(id, 0);
      idsByKey.putIfAbsent(QueryKeys.bulkKey(query, tags, id), id);
    }
    long[] misses = new long[1];
    Map<String, List<R>> found;
    try {
      found =
          cache.getAll(
              idsByKey.keySet(),
              tags,
              keys -> {
                Set<I> wanted = new LinkedHashSet<>();
                keys.forEach(k -> wanted.add(idsByKey.get(k)));
                misses[0] = wanted.size();
                Map<? extends I, ? extends R> rows =
                    timed(query, () -> loader.apply(Collections.unmodifiableSet(wanted)));
                Objects.requireNonNull(rows, "the executeAll loader returned null");
                Map<String, List<R>> values = new HashMap<>();
                for (String k : keys) {
                  R row = rows.get(idsByKey.get(k));
                  values.put(k, row == null ? List.of() : frozen(query, List.of(row)));
                }
                return values;
              });
    } catch (CodecException e) {
      throw notEncodable(query, e);
    }
    metrics.executions(query.name(), idsByKey.size() - misses[0], misses[0]);
    Map<I, R> result = new LinkedHashMap<>();
    found.forEach(
        (k, rows) -> {
          if (!rows.isEmpty()) {
            result.put(idsByKey.get(k), rows.get(0));
          }
        });
    return Collections.unmodifiableMap(result);
  }

  /**
   * Runs a SELECT through the cache: a hit is served from the cache, a miss runs the query on the data source.
   *
   * @param sql the SELECT, with {@code ?} parameters
   * @param mapper maps each row; must not return null
   * @param params the parameters (see {@link Query} for the supported types)
   * @return the rows, as an unmodifiable list
   * @throws IllegalArgumentException if the SQL is not a single SELECT JSqlParser can read (use {@link
   *     #queryList(Query, RowMapper)} with {@link Query#tables}), a parameter type is unsupported, or a row cannot be
   *     cached
   * @throws IllegalStateException if the executor has no data source
   * @throws UncheckedSQLException if the database fails; nothing is cached
   */
  public List<R> queryList(String sql, RowMapper<? extends R> mapper, Object... params) {
    return queryList(Query.sql(sql, params), mapper);
  }

  /**
   * Runs a SQL {@link Query} (one with explicit tables or tags, for example) through the cache.
   *
   * @param query a query made by {@link Query#sql}
   * @param mapper maps each row; must not return null
   * @return the rows, as an unmodifiable list
   * @throws IllegalArgumentException if the query is not SQL, its tables cannot be found, or a row cannot be cached
   * @throws IllegalStateException if the executor has no data source
   * @throws UncheckedSQLException if the database fails; nothing is cached
   */
  public List<R> queryList(Query query, RowMapper<? extends R> mapper) {
    Objects.requireNonNull(mapper, "mapper");
    DataSource source = requireDataSource();
    requireSql(query);
    return execute(query, () -> select(source, query, mapper, 0));
  }

  /**
   * Runs a SELECT that finds at most one row through the cache. Absence is cached too.
   *
   * @param sql the SELECT, with {@code ?} parameters
   * @param mapper maps the row; must not return null
   * @param params the parameters
   * @return the row, or empty if there is none
   * @throws IllegalStateException if the query finds more than one row (nothing is cached), or the executor has no
   *     data source
   * @throws IllegalArgumentException as {@link #queryList(String, RowMapper, Object...)}
   * @throws UncheckedSQLException if the database fails
   */
  public Optional<R> queryOne(String sql, RowMapper<? extends R> mapper, Object... params) {
    return queryOne(Query.sql(sql, params), mapper);
  }

  /**
   * Runs a SQL {@link Query} that finds at most one row through the cache. It shares its key with {@link
   * #queryList(Query, RowMapper)} of the same query, whose result is then the same list.
   *
   * @param query a query made by {@link Query#sql}
   * @param mapper maps the row; must not return null
   * @return the row, or empty if there is none
   * @throws IllegalStateException if the query finds more than one row, or the executor has no data source
   * @throws IllegalArgumentException as {@link #queryList(Query, RowMapper)}
   * @throws UncheckedSQLException if the database fails
   */
  public Optional<R> queryOne(Query query, RowMapper<? extends R> mapper) {
    Objects.requireNonNull(mapper, "mapper");
    DataSource source = requireDataSource();
    requireSql(query);
    List<R> rows =
        execute(
            query,
            () -> {
              List<R> found = select(source, query, mapper, 2);
              if (found.size() > 1) {
                throw tooMany(query);
              }
              return found;
            });
    if (rows.size() > 1) {
      throw tooMany(query);
    }
    return rows.isEmpty() ? Optional.empty() : Optional.of(rows.get(0));
  }

  /**
   * Runs an INSERT, UPDATE, DELETE, MERGE or TRUNCATE on its own connection, commits it (if the connection is not
   * in auto-commit mode), then invalidates the tables it writes in the cache, on every node.
   *
   * @param sql the statement, with {@code ?} parameters
   * @param params the parameters (see {@link Query} for the supported types)
   * @return the update count
   * @throws IllegalArgumentException if the written tables cannot be found in the SQL (nothing was run); name them
   *     with {@link #update(Query)} and {@link Query#tables}
   * @throws IllegalStateException if the executor has no data source
   * @throws UncheckedSQLException if the database fails; nothing is invalidated
   */
  public int update(String sql, Object... params) {
    return update(Query.sql(sql, params));
  }

  /**
   * Runs a write given as a {@link Query}, then invalidates its tables (parsed or explicit) and its extra tags.
   *
   * @param write a query made by {@link Query#sql}
   * @return the update count
   * @throws IllegalArgumentException if {@code write} is not SQL or its written tables cannot be found (nothing
   *     was run)
   * @throws IllegalStateException if the executor has no data source
   * @throws UncheckedSQLException if the database fails; nothing is invalidated
   */
  public int update(Query write) {
    DataSource source = requireDataSource();
    requireSql(write);
    Tags invalidated = write.resolveTags(true);
    int count;
    try (Connection connection = source.getConnection()) {
      if (connection.getAutoCommit()) {
        count = run(connection, write);
      } else {
        try {
          count = run(connection, write);
          connection.commit();
        } catch (SQLException | RuntimeException e) {
          rollback(connection, e);
          throw e;
        }
      }
    } catch (SQLException e) {
      throw new UncheckedSQLException("update '" + write.name() + "' failed", e);
    }
    invalidate(invalidated);
    return count;
  }

  /**
   * Runs work in one database transaction and, once it has committed, invalidates every table written through
   * the {@link Transaction}. If the work throws, the transaction is rolled back, nothing is invalidated, and the
   * exception is rethrown ({@link SQLException} wrapped in {@link UncheckedSQLException}). If the commit itself
   * fails, whether it took effect is unknown, so the tables are invalidated anyway before the failure is thrown.
   *
   * @param work the work; reads through its transaction bypass the cache
   * @param <T> what the work returns
   * @return what the work returned
   * @throws NullPointerException if {@code work} is null
   * @throws IllegalStateException if the executor has no data source
   * @throws UncheckedSQLException if the database fails (on connecting, in the work, or on commit)
   * @throws RuntimeException whatever the work threw
   */
  public <T> T inTransaction(TransactionCallback<T> work) {
    Objects.requireNonNull(work, "work");
    DataSource source = requireDataSource();
    Tx tx = null;
    boolean commitAttempted = false;
    boolean committed = false;
    try (Connection connection = source.getConnection()) {
      boolean autoCommit = connection.getAutoCommit();
      if (autoCommit) {
        connection.setAutoCommit(false);
      }
      try {
        tx = new Tx(connection);
        T result;
        try {
          result = work.run(tx);
        } catch (Throwable t) {
          tx.open = false;
          rollback(connection, t);
          throw t;
        }
        tx.open = false;
        commitAttempted = true;
        connection.commit();
        committed = true;
        return result;
      } finally {
        if (autoCommit) {
          restoreAutoCommit(connection);
        }
      }
    } catch (SQLException e) {
      throw new UncheckedSQLException(
          committed
              ? "closing the connection failed after the commit"
              : commitAttempted
                  ? "commit failed; the tables written were invalidated in case it took effect"
                  : "transaction failed",
          e);
    } finally {
      if (commitAttempted) {
        invalidate(Tags.of(new ArrayList<>(tx.invalidated)));
      }
    }
  }

  /**
   * Invalidates every cached result that reads these tables, on every node. Use it after writes this executor did
   * not make.
   *
   * @param tables table names, possibly qualified or quoted (they are normalised)
   * @throws NullPointerException if {@code tables} or a name is null
   * @throws IllegalArgumentException if a name is blank
   */
  public void invalidateTables(String... tables) {
    Objects.requireNonNull(tables, "tables");
    List<String> tags = new ArrayList<>(tables.length);
    for (String table : tables) {
      tags.add(Query.tableTag(Query.tableName(table)));
    }
    invalidate(Tags.of(tags));
  }

  /**
   * Invalidates every cached result that carries one of these tags, {@link #executeAll} entries included.
   *
   * @param tags the tags (for example {@code table:users} or {@code tenant:7})
   * @throws NullPointerException if {@code tags} or a tag is null
   * @throws IllegalArgumentException if a tag is empty
   */
  public void invalidateTags(String... tags) {
    invalidate(Tags.of(Objects.requireNonNull(tags, "tags")));
  }

  private void invalidate(Tags tags) {
    for (String tag : tags) {
      cache.invalidate(Invalidation.tag(tag));
    }
  }

  // ---- JDBC ----

  private DataSource requireDataSource() {
    if (dataSource == null) {
      throw new IllegalStateException(
          "this executor has no DataSource: call CachedQueryExecutor.builder(cache).dataSource(...) to use the JDBC"
              + " methods");
    }
    return dataSource;
  }

  private static void requireSql(Query query) {
    if (!Objects.requireNonNull(query, "query").isSql()) {
      throw new IllegalArgumentException(
          "the JDBC methods need SQL: make the query with Query.sql(...), not Query.named(...)");
    }
  }

  private static <R> List<R> select(DataSource source, Query query, RowMapper<? extends R> mapper, int maxRows) {
    try (Connection connection = source.getConnection();
        PreparedStatement statement = connection.prepareStatement(query.name())) {
      if (maxRows > 0) {
        statement.setMaxRows(maxRows);
      }
      bind(statement, query.params());
      try (ResultSet rs = statement.executeQuery()) {
        List<R> rows = new ArrayList<>();
        while (rs.next()) {
          rows.add(mapper.map(rs));
        }
        return rows;
      }
    } catch (SQLException e) {
      throw new UncheckedSQLException("query '" + query.name() + "' failed", e);
    }
  }

  private static int run(Connection connection, Query write) throws SQLException {
    try (PreparedStatement statement = connection.prepareStatement(write.name())) {
      bind(statement, write.params());
      return statement.executeUpdate();
    }
  }

  private static void bind(PreparedStatement statement, List<Object> params) throws SQLException {
    for (int i = 0; i < params.size(); i++) {
      Object p = params.get(i);
      int index = i + 1;
      if (p == null) {
        statement.setNull(index, Types.NULL);
      } else if (p instanceof Enum<?> e) {
        statement.setString(index, e.name());
      } else if (p instanceof Character c) {
        statement.setString(index, c.toString());
      } else if (p instanceof byte[] b) {
        statement.setBytes(index, b);
      } else if (p instanceof BigInteger b) {
        statement.setBigDecimal(index, new java.math.BigDecimal(b));
      } else if (p instanceof Instant t) {
        // Not every driver takes an Instant (JDBC 4.2 maps OffsetDateTime): bind the same instant in UTC.
        statement.setObject(index, t.atOffset(ZoneOffset.UTC));
      } else if (p instanceof java.util.Date d && !(p instanceof java.sql.Date || p instanceof java.sql.Time
          || p instanceof java.sql.Timestamp)) {
        statement.setTimestamp(index, new java.sql.Timestamp(d.getTime()));
      } else {
        statement.setObject(index, p);
      }
    }
  }

  private static void rollback(Connection connection, Throwable cause) {
    try {
      connection.rollback();
    } catch (SQLException | RuntimeException e) {
      cause.addSuppressed(e);
    }
  }

  private static void restoreAutoCommit(Connection connection) {
    try {
      connection.setAutoCommit(true);
    } catch (SQLException ignored) {
      // The connection is being closed; a pool resets or discards it.
    }
  }

  // ---- results ----

  private <T> T timed(Query query, Supplier<T> load) {
    long start = System.nanoTime();
    boolean success = false;
    try {
      T result = load.get();
      success = true;
      return result;
    } finally {
      metrics.load(query.name(), System.nanoTime() - start, success);
    }
  }

  /** Checks a loaded result and returns an immutable copy of it. */
  private static <R> List<R> frozen(Query query, List<? extends R> rows) {
    Objects.requireNonNull(rows, () -> "the loader of '" + query.name() + "' returned null: return List.of() for no rows");
    for (int i = 0; i < rows.size(); i++) {
      Object row = rows.get(i);
      if (row == null) {
        int index = i;
        throw new NullPointerException("row " + index + " of '" + query.name() + "' is null: rows cannot be null");
      }
      requireCacheable(query, row, 0);
    }
    return List.copyOf(rows);
  }

  private static void requireCacheable(Query query, Object value, int depth) {
    for (Class<?> type : NOT_CACHEABLE) {
      if (type.isInstance(value)) {
        throw notCacheable(query, value.getClass());
      }
    }
    if (value instanceof Iterable<?> && !(value instanceof Collection<?>)) {
      throw notCacheable(query, value.getClass());
    }
    if (depth >= 3) {
      return;
    }
    if (value instanceof Collection<?> c) {
      for (Object element : c) {
        if (element != null) {
          requireCacheable(query, element, depth + 1);
        }
      }
    } else if (value instanceof Map<?, ?> m) {
      for (Map.Entry<?, ?> e : m.entrySet()) {
        if (e.getKey() != null) {
          requireCacheable(query, e.getKey(), depth + 1);
        }
        if (e.getValue() != null) {
          requireCacheable(query, e.getValue(), depth + 1);
        }
      }
    } else if (value instanceof Object[] array) {
      for (Object element : array) {
        if (element != null) {
          requireCacheable(query, element, depth + 1);
        }
      }
    }
  }

  private static IllegalArgumentException notCacheable(Query query, Class<?> type) {
    return new IllegalArgumentException(
        "the result of '" + query.name() + "' holds a " + type.getName() + ", which cannot be cached: it is an open"
            + " resource, a lazy sequence or a mutable JDBC object; copy what you need into plain values (a record of"
            + " strings, numbers, byte arrays...) in the loader or row mapper");
  }

  private static IllegalArgumentException notEncodable(Query query, CodecException e) {
    return new IllegalArgumentException(
        "the result of '" + query.name() + "' cannot be cached: the cache's value codec cannot encode it ("
            + e.getMessage() + ")",
        e);
  }

  private static IllegalStateException tooMany(Query query) {
    return new IllegalStateException("queryOne expected at most one row from '" + query.name() + "' but got more");
  }

  /** A transaction handed to {@link #inTransaction}'s work. */
  private final class Tx implements Transaction {
    private final Connection connection;
    private final Set<String> invalidated = new LinkedHashSet<>();
    private boolean open = true;

    Tx(Connection connection) {
      this.connection = connection;
    }

    @Override
    public int update(String sql, Object... params) {
      return update(Query.sql(sql, params));
    }

    @Override
    public int update(Query write) {
      requireOpen();
      requireSql(write);
      Tags tags = write.resolveTags(true);
      try {
        int count = run(connection, write);
        tags.forEach(invalidated::add);
        return count;
      } catch (SQLException e) {
        throw new UncheckedSQLException("update '" + write.name() + "' failed", e);
      }
    }

    @Override
    public <T> List<T> queryList(String sql, RowMapper<T> mapper, Object... params) {
      requireOpen();
      Objects.requireNonNull(mapper, "mapper");
      Query query = Query.sql(sql, params);
      try (PreparedStatement statement = connection.prepareStatement(query.name())) {
        bind(statement, query.params());
        try (ResultSet rs = statement.executeQuery()) {
          List<T> rows = new ArrayList<>();
          while (rs.next()) {
            rows.add(mapper.map(rs));
          }
          return Collections.unmodifiableList(rows);
        }
      } catch (SQLException e) {
        throw new UncheckedSQLException("query '" + query.name() + "' failed", e);
      }
    }

    @Override
    public Connection connection() {
      requireOpen();
      return connection;
    }

    @Override
    public void invalidateOnCommit(String... tables) {
      requireOpen();
      Objects.requireNonNull(tables, "tables");
      for (String table : tables) {
        invalidated.add(Query.tableTag(Query.tableName(table)));
      }
    }

    private void requireOpen() {
      if (!open) {
        throw new IllegalStateException("the transaction has ended: use it only inside the inTransaction callback");
      }
    }
  }

  /**
   * Builds a {@link CachedQueryExecutor}. Every setting is optional; a builder is not thread-safe, and may build
   * several executors.
   *
   * @param <R> the row type
   */
  public static final class Builder<R> {

    private final TieredCache<String, List<R>> cache;
    private DataSource dataSource;
    private Object meterRegistry;

    private Builder(TieredCache<String, List<R>> cache) {
      this.cache = Objects.requireNonNull(cache, "cache");
    }

    /**
     * Sets the data source of the JDBC methods ({@code queryList}, {@code queryOne}, {@code update}, {@code
     * inTransaction}). Without one, only {@code execute} and {@code executeAll} work.
     *
     * @param dataSource the data source
     * @return this builder
     * @throws NullPointerException if {@code dataSource} is null
     */
    public Builder<R> dataSource(DataSource dataSource) {
      this.dataSource = Objects.requireNonNull(dataSource, "dataSource");
      return this;
    }

    /**
     * Publishes per-query metrics: {@code cache.query.executions{cache,query,result=hit|miss}} and the loader timer
     * {@code cache.query.loads{cache,query,result=success|failure}}, where {@code query} is the query's
     * {@link Query#name() name}. The cache's own metrics are the cache builder's business. Without a registry, no
     * Micrometer class is loaded.
     *
     * @param registry the registry
     * @return this builder
     * @throws NullPointerException if {@code registry} is null
     */
    public Builder<R> meterRegistry(MeterRegistry registry) {
      this.meterRegistry = Objects.requireNonNull(registry, "registry");
      return this;
    }

    /**
     * Builds the executor.
     *
     * @return the executor
     */
    public CachedQueryExecutor<R> build() {
      return new CachedQueryExecutor<>(this);
    }
  }
}
