package dev.tiercache.query;

import dev.tiercache.Invalidation;
import dev.tiercache.Tags;
import dev.tiercache.TieredCache;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * Caches query results in a {@link TieredCache}, for JDBC code: a thin layer that derives each query's cache key
 * and tags ({@code table:<name>} for every table it reads), and invalidates the tables a write touches once it has
 * committed. It keeps no map, TTL or invalidation path of its own; expiry, both tiers, stampede protection and
 * cross-node invalidation are the cache's. One executor serves every row type; any number of executors may share
 * one cache, and a write through any of them (or {@code cache.invalidate(Invalidation.tag("table:users"))}) reaches
 * every cached query over that table.
 *
 * <pre>{@code
 * TieredCache<String, QueryResult> cache = TieredCache.<String, QueryResult>builder("queries")
 *     .l2(RedisTier.create(redisClient))
 *     .valueCodec(QueryResultCodec.json(new ObjectMapper(), User.class))
 *     .build();
 * CachedQueryExecutor sql = CachedQueryExecutor.builder(cache).dataSource(dataSource).build();
 *
 * List<User> active = sql.queryList("SELECT * FROM users WHERE active = ?", RowMapper.record(User.class), true);
 * Optional<User> one = sql.queryOne("SELECT * FROM users WHERE id = ?", User::map, 42L);
 * long count = sql.queryForObject("SELECT COUNT(*) FROM users", Long.class);
 * sql.update("UPDATE users SET active = ? WHERE id = ?", false, 42L);   // invalidates table:users everywhere
 * }</pre>
 *
 * <h2>What is cached, and what is not</h2>
 * A SELECT's rows, as an unmodifiable list (absence included: {@code queryOne} caches an empty list), if every row
 * is immutable (see {@link RowMapper}) and there are at most {@link CachedQueryExecutorBuilder#maxCachedRows} of
 * them. Read through the database every time, never cached: a {@link Query#bypass() bypass}, a locking read
 * ({@code FOR UPDATE/SHARE}), every read while the calling thread is inside a transaction (the executor's own, or
 * the caller's through {@link TransactionSync}), a read on a manual-commit connection that no transaction was
 * declared for, a larger result, and, unless the query names its tables or has a TTL, a read that names no table
 * or calls a volatile function (sequences, the clock, random values, locks, session functions). Refused with an
 * exception: SQL that the parser cannot read and that names no tables, statements of the wrong kind, and rows
 * holding resources or mutable values.
 *
 * <h2>Writes and transactions</h2>
 * {@link #update} and {@link #batchUpdate} invalidate the tables they write (and those declared to change with them,
 * see {@link CachedQueryExecutorBuilder#cascade}) once the write has committed: at once in auto-commit mode, after the
 * executor's
 * commit in {@link #inTransaction}, in {@link TransactionSync#afterCommit} inside a caller's transaction, and never
 * on rollback. A write made any other way (another program, raw JDBC outside a transaction the executor knows)
 * is not seen: call {@link #invalidateTables} after it commits.
 *
 * <p>Instances are immutable and thread-safe.
 */
public final class CachedQueryExecutor {

  private final TieredCache<String, QueryResult> cache;
  private final QueryPlanner planner;
  private final CachedReads reads;
  private final Transactions transactions;
  private final TableDependencies dependencies;
  private final ViewCatalog views = new ViewCatalog();

  CachedQueryExecutor(CachedQueryExecutorBuilder builder) {
    this.cache = builder.cache;
    this.dependencies = new TableDependencies(builder.changes);
    this.planner = new QueryPlanner(dependencies);
    QueryMetrics metrics =
        builder.meterRegistry == null
            ? QueryMetrics.NOOP
            : QueryMetrics.micrometer(builder.meterRegistry, cache.name(), builder.maxMeteredQueries);
    this.reads = new CachedReads(cache, metrics, builder.maxCachedRows);
    this.transactions =
        new Transactions(
            builder.dataSource, builder.transactionSync, builder.manualCommitPool, this::invalidate,
            planner::writeTags);
  }

  /**
   * Starts building an executor over a cache. The executor does not own the cache: closing it is the caller's job.
   *
   * @param cache the cache that holds the results; with an L2, its value codec must encode {@link QueryResult}
   *     (for example {@link QueryResultCodec#json})
   * @return a builder
   * @throws NullPointerException if {@code cache} is null
   */
  public static CachedQueryExecutorBuilder builder(TieredCache<String, QueryResult> cache) {
    return new CachedQueryExecutorBuilder(cache);
  }

  /**
   * Returns the cache this executor works on.
   *
   * @return the cache
   */
  public TieredCache<String, QueryResult> cache() {
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
    return planner.key(query, tagsOf(query));
  }

  /**
   * Returns the tags a query's result carries: {@code table:<name>} for each table it reads and each table declared
   * to change it ({@link CachedQueryExecutorBuilder#cascade}, {@link CachedQueryExecutorBuilder#view}), and its extra
   * tags.
   *
   * @param query the query
   * @return the tags
   * @throws NullPointerException if {@code query} is null
   * @throws IllegalArgumentException if the query is SQL that cannot be parsed or is not a query; name its tables
   *     with {@link Query#tables(String...)}
   */
  public Tags tagsOf(Query query) {
    return planner.readTags(Objects.requireNonNull(query, "query"));
  }

  /**
   * Returns a query's cached result, or loads, caches and returns it: the way to cache reads that existing code
   * makes (a repository method, a JdbcTemplate call, a jOOQ query) without rewriting them. Concurrent calls for the
   * same missing result on one node share one load. Inside a transaction, or for a {@link Query#bypass()}, the
   * loader runs and nothing is cached.
   *
   * @param query the query: its key and tags (name its tables, unless it is SQL the executor can parse)
   * @param loader loads the rows on a miss; must not return null (return an empty list for no rows)
   * @param <T> the row type
   * @return the rows, as an unmodifiable list
   * @throws NullPointerException if an argument is null, or the loader returns null
   * @throws IllegalArgumentException if the query's tables cannot be found, or the result cannot be cached (see
   *     the class documentation); nothing is cached
   * @throws RuntimeException whatever the loader threw; nothing is cached
   */
  public <T> List<T> execute(Query query, Supplier<? extends List<? extends T>> loader) {
    Objects.requireNonNull(loader, "loader");
    if (planner.refusal(query) != null || transactions.active()) {
      return reads.uncached(query, loader);
    }
    Tags tags = tagsOf(query);
    return reads.get(query, planner.key(query, tags), tags, loader);
  }

  /**
   * Looks up one row per id, as {@code findByIds} does: ids found in either tier are served from there, and the
   * loader is called once, with the ids that both tiers miss. An id the loader leaves out is cached as absent. Each
   * row is cached under its own key and carries the query's tags, so a write to one of its tables removes it.
   * Inside a transaction, the loader is called with every id and nothing is cached.
   *
   * @param query the lookup: its name or SQL, and parameters shared by all ids; each id adds one to its key
   * @param ids the ids; each of a type {@link Query} supports as a parameter
   * @param loader given the ids to load (an unmodifiable set), returns the rows it found, by id
   * @param <I> the id type
   * @param <T> the row type
   * @return the rows found, by id, in the order of {@code ids}; an unmodifiable map
   * @throws NullPointerException if an argument or id is null, or the loader returns null
   * @throws IllegalArgumentException if an id has an unsupported type, or a row cannot be cached; nothing the loader
   *     returned is cached
   * @throws RuntimeException whatever the loader threw; nothing it was asked for is cached
   */
  public <I, T> Map<I, T> executeAll(
      Query query,
      Collection<? extends I> ids,
      Function<? super Set<I>, ? extends Map<? extends I, ? extends T>> loader) {
    Objects.requireNonNull(ids, "ids");
    Objects.requireNonNull(loader, "loader");
    if (planner.refusal(query) != null || transactions.active()) {
      Map<? extends I, ? extends T> rows = loader.apply(Set.copyOf(ids));
      Map<I, T> result = new java.util.LinkedHashMap<>();
      for (I id : ids) {
        if (rows.get(id) != null) {
          result.put(id, rows.get(id));
        }
      }
      return java.util.Collections.unmodifiableMap(result);
    }
    return reads.getAll(query, tagsOf(query), ids, loader);
  }

  /**
   * Runs a SELECT through the cache: a hit is served from the cache, a miss runs the query on the data source.
   *
   * @param sql the SELECT, with {@code ?} parameters (a collection parameter expands for {@code IN (?)})
   * @param mapper maps each row
   * @param params the parameters (see {@link Query} for the supported types)
   * @param <T> the row type
   * @return the rows, as an unmodifiable list
   * @throws IllegalArgumentException if the SQL is not a single SELECT JSqlParser can read (use {@link
   *     #queryList(Query, RowMapper)} with {@link Query#tables}), a parameter type is unsupported, or a row cannot be
   *     cached
   * @throws IllegalStateException if the executor has no data source
   * @throws UncheckedSQLException if the database fails; nothing is cached
   */
  public <T> List<T> queryList(String sql, RowMapper<T> mapper, Object... params) {
    return queryList(Query.sql(sql, params), mapper);
  }

  /**
   * Runs a SELECT with named parameters ({@code :name}) through the cache.
   *
   * @param sql the SELECT
   * @param params the values by name; a collection expands for {@code IN (:ids)}
   * @param mapper maps each row
   * @param <T> the row type
   * @return the rows, as an unmodifiable list
   * @throws IllegalArgumentException as {@link #queryList(String, RowMapper, Object...)}, or a name has no value
   * @throws IllegalStateException if the executor has no data source
   * @throws UncheckedSQLException if the database fails; nothing is cached
   */
  public <T> List<T> queryList(String sql, Map<String, ?> params, RowMapper<T> mapper) {
    return queryList(Query.sql(sql, params), mapper);
  }

  /**
   * Runs a SQL {@link Query} (with explicit tables, tags, a TTL, a bypass or a refresh) through the cache.
   *
   * @param query a query made by {@link Query#sql}
   * @param mapper maps each row
   * @param <T> the row type
   * @return the rows, as an unmodifiable list
   * @throws IllegalArgumentException if the query is not SQL, its tables cannot be found, or a row cannot be cached
   * @throws IllegalStateException if the executor has no data source
   * @throws UncheckedSQLException if the database fails; nothing is cached
   */
  public <T> List<T> queryList(Query query, RowMapper<T> mapper) {
    return select(query, mapper, 0, null);
  }

  /**
   * Runs a SELECT that finds at most one row through the cache. Absence is cached too.
   *
   * @param sql the SELECT, with {@code ?} parameters
   * @param mapper maps the row
   * @param params the parameters
   * @param <T> the row type
   * @return the row, or empty if there is none (or its mapper returned null)
   * @throws IllegalStateException if the query finds more than one row (nothing is cached), or the executor has no
   *     data source
   * @throws IllegalArgumentException as {@link #queryList(String, RowMapper, Object...)}
   * @throws UncheckedSQLException if the database fails
   */
  public <T> Optional<T> queryOne(String sql, RowMapper<T> mapper, Object... params) {
    return queryOne(Query.sql(sql, params), mapper);
  }

  /**
   * Runs a SQL {@link Query} that finds at most one row through the cache. It shares its key with {@link
   * #queryList(Query, RowMapper)} of the same query, whose result is then the same list.
   *
   * @param query a query made by {@link Query#sql}
   * @param mapper maps the row
   * @param <T> the row type
   * @return the row, or empty if there is none
   * @throws IllegalStateException if the query finds more than one row, or the executor has no data source
   * @throws IllegalArgumentException as {@link #queryList(Query, RowMapper)}
   * @throws UncheckedSQLException if the database fails
   */
  public <T> Optional<T> queryOne(Query query, RowMapper<T> mapper) {
    List<T> rows = select(query, mapper, 2, "at most one row");
    return rows.isEmpty() ? Optional.empty() : Optional.ofNullable(rows.get(0));
  }

  /**
   * Runs a SELECT of exactly one row and one column through the cache, as JDBC templates' {@code queryForObject}.
   *
   * @param sql the SELECT, with {@code ?} parameters
   * @param type the column's Java type ({@code Long}, {@code String}, {@code BigDecimal}, {@code java.time}...)
   * @param params the parameters
   * @param <T> the type
   * @return the value; null for SQL {@code NULL}
   * @throws IllegalStateException if the query finds no row or more than one, or the executor has no data source
   * @throws IllegalArgumentException as {@link #queryList(String, RowMapper, Object...)}
   * @throws UncheckedSQLException if the database fails
   */
  public <T> T queryForObject(String sql, Class<T> type, Object... params) {
    return queryForObject(Query.sql(sql, params), type);
  }

  /**
   * Runs a SQL {@link Query} of exactly one row and one column through the cache.
   *
   * @param query a query made by {@link Query#sql}
   * @param type the column's Java type
   * @param <T> the type
   * @return the value; null for SQL {@code NULL}
   * @throws IllegalStateException if the query finds no row or more than one, or the executor has no data source
   * @throws IllegalArgumentException as {@link #queryList(Query, RowMapper)}
   * @throws UncheckedSQLException if the database fails
   */
  public <T> T queryForObject(Query query, Class<T> type) {
    List<T> rows = select(query, RowMapper.scalar(type), 2, "exactly one row");
    return rows.get(0);
  }

  /**
   * Runs an INSERT, UPDATE, DELETE, MERGE or TRUNCATE, then invalidates the tables it writes once it has committed
   * (see the class documentation for where it runs and when it invalidates).
   *
   * @param sql the statement, with {@code ?} parameters
   * @param params the parameters (see {@link Query} for the supported types)
   * @return the update count
   * @throws IllegalArgumentException if the written tables cannot be found in the SQL (nothing was run); name them
   *     with {@link #update(Query)} and {@link Query#tables}
   * @throws IllegalStateException if the executor has no data source, or the connection is in manual-commit mode
   *     outside a known transaction and {@link CachedQueryExecutorBuilder#manualCommitPool} was not set (nothing was
   *     run)
   * @throws UncheckedSQLException if the database fails; nothing is invalidated unless a commit was attempted
   */
  public int update(String sql, Object... params) {
    return update(Query.sql(sql, params));
  }

  /**
   * Runs a write with named parameters ({@code :name}); see {@link #update(String, Object...)}.
   *
   * @param sql the statement
   * @param params the values by name
   * @return the update count
   * @throws IllegalArgumentException as {@link #update(String, Object...)}, or a name has no value
   * @throws IllegalStateException as {@link #update(String, Object...)}
   * @throws UncheckedSQLException if the database fails
   */
  public int update(String sql, Map<String, ?> params) {
    return update(Query.sql(sql, params));
  }

  /**
   * Runs a write given as a {@link Query}, then invalidates its tables (parsed or explicit) and its extra tags.
   *
   * @param write a query made by {@link Query#sql}
   * @return the update count
   * @throws IllegalArgumentException if {@code write} is not SQL or its written tables cannot be found (nothing
   *     was run)
   * @throws IllegalStateException as {@link #update(String, Object...)}
   * @throws UncheckedSQLException if the database fails
   */
  public int update(Query write) {
    requireSql(write);
    Tags tags = planner.writeTags(write);
    try {
      return transactions.write(tags, c -> Jdbc.update(c, write));
    } catch (SQLException e) {
      throw failed("update", write, e);
    }
  }

  /**
   * Runs one write once per parameter list, as one JDBC batch on one connection, then invalidates its tables once.
   *
   * @param sql the statement, with {@code ?} parameters (collections are not expanded in a batch)
   * @param batchArgs one parameter array per execution
   * @return the update counts, as the driver reports them
   * @throws IllegalArgumentException as {@link #update(String, Object...)}, or the lists differ in length
   * @throws IllegalStateException as {@link #update(String, Object...)}
   * @throws UncheckedSQLException if the database fails
   */
  public int[] batchUpdate(String sql, List<Object[]> batchArgs) {
    Objects.requireNonNull(batchArgs, "batchArgs");
    Query write = Query.sql(sql, batchArgs.isEmpty() ? new Object[0] : batchArgs.get(0));
    List<Query> rows = new ArrayList<>(batchArgs.size());
    for (Object[] args : batchArgs) {
      Query row = Query.sql(sql, args);
      if (!row.name().equals(write.name())) {
        throw new IllegalArgumentException("every parameter list of a batch must expand to the same SQL");
      }
      rows.add(row);
    }
    if (rows.isEmpty()) {
      return new int[0];
    }
    Tags tags = planner.writeTags(write);
    try {
      return transactions.write(tags, c -> Jdbc.batch(c, write.name(), rows));
    } catch (SQLException e) {
      throw failed("batch update", write, e);
    }
  }

  /**
   * Runs an INSERT (or other write) and returns the keys the database generated, then invalidates its tables as
   * {@link #update(Query)} does.
   *
   * @param write a query made by {@link Query#sql}
   * @param keyMapper maps each row of generated keys (for example {@code RowMapper.scalar(Long.class)})
   * @param keyColumns the key columns to return; none lets the driver choose
   * @param <K> the key type
   * @return the keys, in an unmodifiable list
   * @throws IllegalArgumentException as {@link #update(Query)}
   * @throws IllegalStateException as {@link #update(String, Object...)}
   * @throws UncheckedSQLException if the database fails
   */
  public <K> List<K> updateReturningKeys(Query write, RowMapper<K> keyMapper, String... keyColumns) {
    requireSql(write);
    Objects.requireNonNull(keyMapper, "keyMapper");
    Objects.requireNonNull(keyColumns, "keyColumns");
    Tags tags = planner.writeTags(write);
    try {
      return java.util.Collections.unmodifiableList(
          transactions.write(tags, c -> Jdbc.updateReturningKeys(c, write, keyColumns.clone(), keyMapper)));
    } catch (SQLException e) {
      throw failed("update", write, e);
    }
  }

  /**
   * Runs work in one database transaction and, once it has committed, invalidates every table written in it:
   * through the {@link Transaction}, and through this executor's own methods on the same thread, which inside the
   * work use the transaction's connection and never the cache. If the work throws, the transaction is rolled back,
   * nothing is invalidated, and the exception is rethrown ({@link SQLException} wrapped in {@link
   * UncheckedSQLException}). If the commit itself fails, whether it took effect is unknown, so the tables are
   * invalidated anyway before the failure is thrown. Inside a caller's transaction ({@link TransactionSync}) or an
   * outer {@code inTransaction}, it joins that one: it neither commits nor rolls back, and invalidates after the
   * outer commit.
   *
   * @param work the work
   * @param <T> what the work returns
   * @return what the work returned
   * @throws NullPointerException if {@code work} is null
   * @throws IllegalStateException if the executor has no data source
   * @throws UncheckedSQLException if the database fails (on connecting, in the work, or on commit)
   * @throws RuntimeException whatever the work threw
   */
  public <T> T inTransaction(TransactionCallback<T> work) {
    Objects.requireNonNull(work, "work");
    try {
      return transactions.inTransaction(work);
    } catch (SQLException e) {
      throw new UncheckedSQLException("transaction failed", e);
    }
  }

  /**
   * Invalidates every cached result that reads these tables (or tables declared to change with them), on every
   * node. Use it after writes this executor did not make; inside a transaction, prefer {@link
   * Transaction#invalidateOnCommit}.
   *
   * @param tables table names, possibly qualified or quoted (they are normalised)
   * @throws NullPointerException if {@code tables} or a name is null
   * @throws IllegalArgumentException if a name is blank
   */
  public void invalidateTables(String... tables) {
    Objects.requireNonNull(tables, "tables");
    if (tables.length > 0) {
      invalidate(planner.writeTags(Query.named("invalidateTables").tables(tables)));
    }
  }

  /**
   * Invalidates every cached result that carries one of these tags, on every node.
   *
   * @param tags the tags (for example {@code table:users} or {@code tenant:7})
   * @throws NullPointerException if {@code tags} or a tag is null
   * @throws IllegalArgumentException if a tag is empty
   */
  public void invalidateTags(String... tags) {
    invalidate(Tags.of(Objects.requireNonNull(tags, "tags")));
  }

  /**
   * Invalidates every tag, even when one of them fails: an {@link dev.tiercache.InvalidationPendingException} says
   * the cache applied that invalidation on this node and retries it for the others, and the tags after it must not be
   * skipped. The first failure is thrown once all were made, the others added to it as suppressed.
   */
  private void invalidate(Tags tags) {
    if (tags.contains(QueryPlanner.EVERYTHING)) {
      cache.invalidate(Invalidation.all());
      return;
    }
    RuntimeException failure = null;
    for (String tag : tags) {
      try {
        cache.invalidate(Invalidation.tag(tag));
      } catch (RuntimeException e) {
        if (failure == null) {
          failure = e;
        } else {
          failure.addSuppressed(e);
        }
      }
    }
    if (failure != null) {
      throw failure;
    }
  }

  /**
   * Reads through the cache, or past it when the query must not be cached. {@code expected} ("at most one row",
   * "exactly one row") is checked before anything is cached.
   */
  private <T> List<T> select(Query query, RowMapper<T> mapper, int maxRows, String expected) {
    Objects.requireNonNull(mapper, "mapper");
    requireSql(query);
    transactions.requireDataSource();
    SqlWork<List<T>> work = c -> counted(query, Jdbc.select(c, query, mapper, maxRows), expected);
    if (planner.refusal(query) != null || transactions.active()) {
      return reads.uncached(query, () -> sql(query, () -> transactions.readDirect(work)));
    }
    SqlWork<List<T>> checked =
        c -> {
          views.warnIfBlind(c, planner.readTables(query), dependencies);
          return work.run(c);
        };
    Tags tags = tagsOf(query);
    // Checked again when served: the result may have been cached by queryList of the same query, which shares its key.
    return counted(query,
        reads.get(query, planner.key(query, tags), tags, () -> sql(query, () -> transactions.readForCache(checked))),
        expected);
  }

  /**
   * The rows, if they are as many as {@code expected} says ("at most one row", "exactly one row"; null: any number).
   *
   * @throws IllegalStateException naming the query if they are not
   */
  private static <T> List<T> counted(Query query, List<T> rows, String expected) {
    if (expected != null && (rows.size() > 1 || rows.isEmpty() && expected.startsWith("exactly"))) {
      throw tooMany(query, expected);
    }
    return rows;
  }

  /** A JDBC call whose SQLException becomes an {@link UncheckedSQLException}. */
  private interface Call<T> {
    T call() throws SQLException;
  }

  private static <T> T sql(Query query, Call<T> call) {
    try {
      return call.call();
    } catch (SQLException e) {
      throw failed("query", query, e);
    }
  }

  static void requireSql(Query query) {
    if (!Objects.requireNonNull(query, "query").isSql()) {
      throw new IllegalArgumentException(
          "the JDBC methods need SQL: make the query with Query.sql(...), not Query.named(...)");
    }
  }

  private static UncheckedSQLException failed(String what, Query query, SQLException e) {
    return new UncheckedSQLException(what + " '" + query.label() + "' failed", e);
  }

  private static IllegalStateException tooMany(Query query, String expected) {
    return new IllegalStateException("expected " + expected + " from '" + query.label() + "' but got another number");
  }
}
