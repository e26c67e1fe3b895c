package dev.tiercache.query;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;

/**
 * What a {@link CachedQueryExecutor} stores in its {@link dev.tiercache.TieredCache} for one query: the rows, in an
 * unmodifiable list (which may hold nulls: a scalar query's SQL {@code NULL}), and the time after which they must
 * not be served when the query has a TTL of its own. Every executor over a cache stores this one type, so one cache
 * holds the results of every query, whatever their row types; {@link QueryResultCodec} encodes it for the L2.
 */
public final class QueryResult {

  /** {@link #expiresAtMillis()} of a result that only the cache's own TTL expires. */
  public static final long NEVER = Long.MAX_VALUE;

  /** {@link #loadedAtMillis()} of a result whose load time is not known: a query with a TTL reloads it. */
  public static final long UNKNOWN = Long.MIN_VALUE;

  private final List<Object> rows;
  private final long loadedAtMillis;
  private final long expiresAtMillis;

  /**
   * Creates a result whose load time is not known ({@link #UNKNOWN}); the rows are copied.
   *
   * @param rows the rows (nulls allowed)
   * @param expiresAtMillis epoch milliseconds after which the result is not served, or {@link #NEVER}
   * @throws NullPointerException if {@code rows} is null
   */
  public QueryResult(List<?> rows, long expiresAtMillis) {
    this(rows, UNKNOWN, expiresAtMillis);
  }

  /**
   * Creates a result; the rows are copied.
   *
   * @param rows the rows (nulls allowed)
   * @param loadedAtMillis epoch milliseconds when the rows were read from the database, or {@link #UNKNOWN}: a
   *     query with a TTL is served the result only within its TTL of this time
   * @param expiresAtMillis epoch milliseconds after which the result is not served to any query, or {@link #NEVER}
   * @throws NullPointerException if {@code rows} is null
   */
  public QueryResult(List<?> rows, long loadedAtMillis, long expiresAtMillis) {
    this.rows = Collections.unmodifiableList(new ArrayList<>(Objects.requireNonNull(rows, "rows")));
    this.loadedAtMillis = loadedAtMillis;
    this.expiresAtMillis = expiresAtMillis;
  }

  /**
   * Returns the rows.
   *
   * @return an unmodifiable list
   */
  public List<Object> rows() {
    return rows;
  }

  /**
   * Returns when the rows were read from the database: epoch milliseconds, or {@link #UNKNOWN}.
   *
   * @return the load time
   */
  public long loadedAtMillis() {
    return loadedAtMillis;
  }

  /**
   * Returns when the result stops being served: epoch milliseconds, or {@link #NEVER}. It is the TTL of the query
   * that loaded it; a query with a TTL of its own is also served it only within that TTL of {@link #loadedAtMillis}.
   *
   * @return the expiry
   */
  public long expiresAtMillis() {
    return expiresAtMillis;
  }

  /**
   * Whether the result must not be served to a query with {@code ttl} (null: none): past its own expiry, or, for a
   * query with a TTL, loaded longer ago than that TTL (or at an unknown time), whichever query cached it.
   */
  boolean expired(long nowMillis, Duration ttl) {
    if (expiresAtMillis != NEVER && nowMillis >= expiresAtMillis) {
      return true;
    }
    return ttl != null && (loadedAtMillis == UNKNOWN || nowMillis - loadedAtMillis >= ttl.toMillis());
  }

  /** Shows the size only: rows are data, and are never logged. */
  @Override
  public String toString() {
    return "QueryResult[" + rows.size() + " row(s)]";
  }
}
