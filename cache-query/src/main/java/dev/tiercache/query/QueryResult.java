package dev.tiercache.query;

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

  private final List<Object> rows;
  private final long expiresAtMillis;

  /**
   * Creates a result; the rows are copied.
   *
   * @param rows the rows (nulls allowed)
   * @param expiresAtMillis epoch milliseconds after which the result is not served, or {@link #NEVER}
   * @throws NullPointerException if {@code rows} is null
   */
  public QueryResult(List<?> rows, long expiresAtMillis) {
    this.rows = Collections.unmodifiableList(new ArrayList<>(Objects.requireNonNull(rows, "rows")));
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
   * Returns when the result stops being served: epoch milliseconds, or {@link #NEVER}.
   *
   * @return the expiry
   */
  public long expiresAtMillis() {
    return expiresAtMillis;
  }

  boolean expired(long nowMillis) {
    return expiresAtMillis != NEVER && nowMillis >= expiresAtMillis;
  }

  /** Shows the size only: rows are data, and are never logged. */
  @Override
  public String toString() {
    return "QueryResult[" + rows.size() + " row(s)]";
  }
}
