package dev.tiercache.query;

import dev.tiercache.TieredCache;
import java.sql.SQLException;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import javax.sql.DataSource;

/**
 * Builds a {@link CachedQueryExecutor}. Every setting is optional; a builder is not thread-safe, and may build
 * several executors.
 */
public final class CachedQueryExecutorBuilder {

  final TieredCache<String, QueryResult> cache;
  DataSource dataSource;
  TransactionSync transactionSync = TransactionSync.none();
  boolean manualCommitPool;
  int maxCachedRows = 10_000;
  int maxMeteredQueries = 200;
  final Map<String, Set<String>> changes = new HashMap<>();
  Object meterRegistry;

  CachedQueryExecutorBuilder(TieredCache<String, QueryResult> cache) {
    this.cache = Objects.requireNonNull(cache, "cache");
  }

  /**
   * Sets the data source of the JDBC methods. It may be transaction-aware (hand out the connection of the calling
   * thread's transaction, as Spring's {@code TransactionAwareDataSourceProxy} does); then also set {@link
   * #transactionSync}. Without a data source, only {@code execute}, {@code executeAll} and the invalidation
   * methods work.
   *
   * @param dataSource the data source
   * @return this builder
   * @throws NullPointerException if {@code dataSource} is null
   */
  public CachedQueryExecutorBuilder dataSource(DataSource dataSource) {
    this.dataSource = Objects.requireNonNull(dataSource, "dataSource");
    return this;
  }

  /**
   * Tells the executor about the caller's transactions. While {@link TransactionSync#isActive()} on the calling
   * thread, the executor uses the connection the data source hands out and never commits, rolls back or
   * reconfigures it, caches no read, and invalidates what it wrote in {@link TransactionSync#afterCommit}; nothing
   * on rollback. The default, {@link TransactionSync#none()}, knows no transactions.
   *
   * @param sync the seam, for example the Spring integration's
   * @return this builder
   * @throws NullPointerException if {@code sync} is null
   */
  public CachedQueryExecutorBuilder transactionSync(TransactionSync sync) {
    this.transactionSync = Objects.requireNonNull(sync, "sync");
    return this;
  }

  /**
   * Says that the data source's connections start in manual-commit mode and belong to no transaction (a pool
   * configured with {@code autoCommit=false}): the executor then commits its own writes and caches reads made on
   * them. Without it, a manual-commit connection outside a known transaction may be a caller's transaction: reads
   * on it are not cached and writes are refused, so that the executor never commits someone else's transaction.
   *
   * @param manualCommitPool true if the pool hands out fresh manual-commit connections
   * @return this builder
   */
  public CachedQueryExecutorBuilder manualCommitPool(boolean manualCommitPool) {
    this.manualCommitPool = manualCommitPool;
    return this;
  }

  /**
   * Sets the most rows a cached result may hold (10,000 by default); a larger result is returned but not cached.
   *
   * @param maxRows the bound; positive
   * @return this builder
   * @throws IllegalArgumentException if {@code maxRows} is not positive
   */
  public CachedQueryExecutorBuilder maxCachedRows(int maxRows) {
    if (maxRows <= 0) {
      throw new IllegalArgumentException("maxCachedRows must be positive");
    }
    this.maxCachedRows = maxRows;
    return this;
  }

  /**
   * Declares that a write to {@code table} also changes {@code alsoChanged}, although statements do not name
   * them: {@code ON DELETE CASCADE}, {@code ON UPDATE CASCADE}, {@code TRUNCATE ... CASCADE}, triggers. Reads of
   * {@code alsoChanged} are then also tagged {@code table:<table>}, and writes to {@code table} also invalidate
   * them. Transitive; declare it once, on every executor that reads or writes these tables.
   *
   * @param table the table written
   * @param alsoChanged the tables the database changes with it
   * @return this builder
   * @throws NullPointerException if a name is null
   * @throws IllegalArgumentException if a name is blank
   */
  public CachedQueryExecutorBuilder cascade(String table, String... alsoChanged) {
    String from = Query.tableName(table);
    for (String to : Objects.requireNonNull(alsoChanged, "alsoChanged")) {
      changed(from, Query.tableName(to));
    }
    return this;
  }

  /** Records an edge between names normalised already: normalising {@code my.table} again would make it {@code table}. */
  private void changed(String normalisedFrom, String normalisedTo) {
    changes.computeIfAbsent(normalisedFrom, k -> new TreeSet<>()).add(normalisedTo);
  }

  /**
   * Declares a view and the tables it shows: a write to any of them changes the view. A query on the view is then
   * tagged with its base tables too.
   *
   * @param view the view's name
   * @param baseTables the tables (or views) its definition reads
   * @return this builder
   * @throws NullPointerException if a name is null
   * @throws IllegalArgumentException if a name is blank, or no base table is given
   */
  public CachedQueryExecutorBuilder view(String view, String... baseTables) {
    if (Objects.requireNonNull(baseTables, "baseTables").length == 0) {
      throw new IllegalArgumentException("a view needs at least one base table");
    }
    for (String base : baseTables) {
      cascade(base, view);
    }
    return this;
  }

  /**
   * Declares every view of the data source's database with the tables its definition reads, from {@code
   * INFORMATION_SCHEMA.VIEWS} (H2, PostgreSQL, MySQL and others have it), when the executor is built; as {@link
   * #view} for each. Views created later are not seen. Call it after {@link #dataSource}.
   *
   * @return this builder
   * @throws IllegalStateException if no data source is set
   * @throws UncheckedSQLException if the views cannot be read
   */
  public CachedQueryExecutorBuilder viewsFromDatabase() {
    if (dataSource == null) {
      throw new IllegalStateException("viewsFromDatabase() needs the dataSource(...) first");
    }
    try {
      // The catalog's names are normalised already (a view "my.view" is my.view), so they go in as they are.
      ViewCatalog.fromDatabase(dataSource).forEach((view, tables) -> tables.forEach(base -> changed(base, view)));
    } catch (SQLException e) {
      throw new UncheckedSQLException("cannot read INFORMATION_SCHEMA.VIEWS", e);
    }
    return this;
  }

  /**
   * Publishes per-query metrics: {@code cache.query.executions{cache,query,result=hit|miss|uncached}} and the
   * loader timer {@code cache.query.loads{cache,query,result=success|failure}}, where {@code query} is the query's
   * {@link Query#label() label}. At most {@code maxMeteredQueries} labels (200 by default) get meters of their
   * own; the rest share {@code query=other}. Without a registry, no Micrometer class is loaded.
   *
   * @param registry the registry
   * @return this builder
   * @throws NullPointerException if {@code registry} is null
   */
  public CachedQueryExecutorBuilder meterRegistry(io.micrometer.core.instrument.MeterRegistry registry) {
    this.meterRegistry = Objects.requireNonNull(registry, "registry");
    return this;
  }

  /**
   * Sets how many distinct query labels get meters of their own (200 by default).
   *
   * @param maxQueries the bound; positive
   * @return this builder
   * @throws IllegalArgumentException if {@code maxQueries} is not positive
   */
  public CachedQueryExecutorBuilder maxMeteredQueries(int maxQueries) {
    if (maxQueries <= 0) {
      throw new IllegalArgumentException("maxMeteredQueries must be positive");
    }
    this.maxMeteredQueries = maxQueries;
    return this;
  }

  /**
   * Builds the executor.
   *
   * @return the executor
   */
  public CachedQueryExecutor build() {
    return new CachedQueryExecutor(this);
  }
}
