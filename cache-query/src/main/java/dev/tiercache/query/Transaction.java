package dev.tiercache.query;

import java.sql.Connection;
import java.util.List;

/**
 * One database transaction run by {@link CachedQueryExecutor#inTransaction}. Writes made through it (or through the
 * executor's own methods on the same thread) are recorded, and their tables invalidated in the cache once the
 * transaction commits; nothing is invalidated if it rolls back. Reads through it see the transaction's own
 * uncommitted writes, so they bypass the cache: they are neither served from it nor stored in it. A transaction is
 * confined to the thread running the callback and is unusable after it.
 */
public interface Transaction {

  /**
   * Runs an INSERT, UPDATE, DELETE, MERGE or TRUNCATE in the transaction and records the tables it writes.
   *
   * @param sql the statement, with {@code ?} parameters
   * @param params the parameters (see {@link Query} for the supported types)
   * @return the update count
   * @throws IllegalArgumentException if the written tables cannot be found in the SQL (nothing was run); pass them
   *     with {@link #update(Query)} and {@link Query#tables(String...)}
   * @throws UncheckedSQLException if the database fails
   * @throws IllegalStateException if the transaction has ended, or this is not its thread
   */
  int update(String sql, Object... params);

  /**
   * Runs a write given as a {@link Query} (to name its tables or extra tags) and records what it invalidates.
   *
   * @param write a SQL query; its tables (parsed or explicit), the tables declared to change with them, and its
   *     extra tags are invalidated after the commit
   * @return the update count
   * @throws IllegalArgumentException if {@code write} is not SQL, or its written tables cannot be found
   * @throws UncheckedSQLException if the database fails
   * @throws IllegalStateException if the transaction has ended, or this is not its thread
   */
  int update(Query write);

  /**
   * Reads rows in the transaction, bypassing the cache.
   *
   * @param sql the query, with {@code ?} parameters
   * @param mapper maps each row
   * @param params the parameters
   * @param <T> the row type
   * @return the rows, in an unmodifiable list
   * @throws UncheckedSQLException if the database fails
   * @throws IllegalStateException if the transaction has ended, or this is not its thread
   */
  <T> List<T> queryList(String sql, RowMapper<T> mapper, Object... params);

  /**
   * Returns the transaction's connection, for JDBC work the executor has no method for. Do not commit, roll back,
   * close it or change its auto-commit mode; call {@link #invalidateOnCommit} for the tables written through it.
   *
   * @return the connection
   * @throws IllegalStateException if the transaction has ended, or this is not its thread
   */
  Connection connection();

  /**
   * Records tables written outside {@link #update}, to be invalidated when the transaction commits.
   *
   * @param tables table names, possibly qualified or quoted (they are normalised)
   * @throws IllegalArgumentException if a name is blank
   * @throws IllegalStateException if the transaction has ended, or this is not its thread
   */
  void invalidateOnCommit(String... tables);
}
