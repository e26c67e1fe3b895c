package dev.tiercache.query;

import java.sql.SQLException;

/**
 * The work of one {@link CachedQueryExecutor#inTransaction transaction}.
 *
 * @param <T> what the work returns
 */
@FunctionalInterface
public interface TransactionCallback<T> {

  /**
   * Does the work. Returning commits the transaction; throwing rolls it back.
   *
   * @param tx the transaction
   * @return the result handed back by {@code inTransaction}
   * @throws SQLException to roll back because of a database error (other exceptions roll back too)
   */
  T run(Transaction tx) throws SQLException;
}
