package dev.tiercache.query;

import dev.tiercache.Tags;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.Function;
import javax.sql.DataSource;

/**
 * Where each JDBC call of the executor runs, and when its invalidations happen:
 * <ul>
 *   <li>inside the executor's own {@link CachedQueryExecutor#inTransaction}, on that transaction's connection
 *       (bound to the thread), invalidating after its commit;
 *   <li>inside a caller's transaction ({@link TransactionSync#isActive()}), on the connection the transaction-aware
 *       {@code DataSource} hands out, which is never committed, rolled back or reconfigured here, invalidating in
 *       {@link TransactionSync#afterCommit}; nothing on rollback;
 *   <li>otherwise on a connection of its own, committed here if the pool hands out manual-commit connections (and
 *       the builder said it does), invalidating once the write committed.
 * </ul>
 * Reads inside a transaction are never cached: they may see uncommitted rows.
 */
final class Transactions {

  private final DataSource dataSource;
  private final TransactionSync sync;
  private final boolean manualCommitPool;
  private final Consumer<Tags> invalidator;
  private final Function<Query, Tags> writeTags;
  private final ThreadLocal<ExecutorTransaction> bound = new ThreadLocal<>();

  Transactions(
      DataSource dataSource, TransactionSync sync, boolean manualCommitPool, Consumer<Tags> invalidator,
      Function<Query, Tags> writeTags) {
    this.dataSource = dataSource;
    this.sync = sync;
    this.manualCommitPool = manualCommitPool;
    this.invalidator = invalidator;
    this.writeTags = writeTags;
  }

  /** Tells whether the calling thread is inside a transaction (the executor's or a caller's). */
  boolean active() {
    return bound.get() != null || sync.isActive();
  }

  /** Runs a read inside the calling thread's transaction, or on a connection of its own; caches nothing. */
  <T> T readDirect(SqlWork<T> work) throws SQLException {
    ExecutorTransaction tx = bound.get();
    if (tx != null) {
      return tx.run(work);
    }
    try (Connection connection = requireDataSource().getConnection()) {
      return work.run(connection);
    }
  }

  /**
   * Runs a read for the cache on a connection of its own. If the connection is in manual-commit mode and the pool
   * is not known to hand those out, it may be a caller's transaction that no {@link TransactionSync} told about:
   * the rows are then returned through {@link Uncacheable}, and nothing is cached.
   */
  <T> List<T> readForCache(SqlWork<List<T>> work) throws SQLException {
    try (Connection connection = requireDataSource().getConnection()) {
      boolean trusted = manualCommitPool || connection.getAutoCommit();
      // READ UNCOMMITTED sees other transactions' rows before they commit, even in auto-commit mode: a row that a
      // rollback then takes back is never invalidated.
      boolean dirty = connection.getTransactionIsolation() == Connection.TRANSACTION_READ_UNCOMMITTED;
      List<T> rows = work.run(connection);
      if (!trusted) {
        throw new Uncacheable(rows, "the connection is in manual-commit mode outside a known transaction");
      }
      if (dirty) {
        throw new Uncacheable(rows, "the connection reads uncommitted rows (READ UNCOMMITTED)");
      }
      return rows;
    }
  }

  /** Runs a write where the calling thread's context says, and invalidates {@code tags} once it has committed. */
  <T> T write(Tags tags, SqlWork<T> work) throws SQLException {
    ExecutorTransaction tx = bound.get();
    if (tx != null) {
      // Recorded first: a statement that fails may have changed rows (a batch part way), which the commit keeps.
      tx.record(tags);
      return tx.run(work);
    }
    if (sync.isActive()) {
      try (Connection connection = requireDataSource().getConnection()) {
        // The data source is not transaction-aware: the write commits on its own, whatever the caller's transaction
        // does. Invalidated now, as well as after the caller's commit.
        return autoCommitted(connection, tags, work);
      } finally {
        // Registered even if the statement failed: the caller may still commit what came before it.
        sync.afterCommit(() -> invalidator.accept(tags));
      }
    }
    try (Connection connection = requireDataSource().getConnection()) {
      if (connection.getAutoCommit()) {
        return autoCommitted(connection, tags, work);
      }
      requireManualCommitPool();
      boolean commitAttempted = false;
      try {
        T result = work.run(connection);
        commitAttempted = true;
        connection.commit();
        return result;
      } catch (SQLException | RuntimeException e) {
        if (!commitAttempted) {
          Jdbc.rollback(connection, e);
        }
        throw e;
      } finally {
        if (commitAttempted) {
          invalidator.accept(tags); // a commit that reported an error may still have been applied
        }
      }
    }
  }

  /**
   * Runs {@code work} on {@code connection} and, if the connection is in auto-commit mode, invalidates {@code tags}
   * after it, whatever it did: each statement committed as it ran, so a work that failed part way (a batch whose
   * third element failed, a key mapper that threw after its INSERT) may have committed rows all the same.
   */
  private <T> T autoCommitted(Connection connection, Tags tags, SqlWork<T> work) throws SQLException {
    if (!connection.getAutoCommit()) {
      return work.run(connection);
    }
    T result;
    try {
      result = work.run(connection);
    } catch (SQLException | RuntimeException | Error failed) {
      try {
        invalidator.accept(tags);
      } catch (RuntimeException alsoFailed) {
        // The statement's own failure is what the caller must see (Redis down must not hide a duplicate key).
        failed.addSuppressed(alsoFailed);
      }
      throw failed;
    }
    invalidator.accept(tags);
    return result;
  }

  /** Runs {@code work} in a transaction: the calling thread's if there is one, else a new one of its own. */
  <T> T inTransaction(TransactionCallback<T> work) throws SQLException {
    ExecutorTransaction outer = bound.get();
    if (outer != null) {
      return work.run(outer);
    }
    if (sync.isActive()) {
      ExecutorTransaction tx;
      try (Connection connection = requireDataSource().getConnection()) {
        // As in write: a data source that is not transaction-aware hands out an auto-commit connection, on which
        // every statement of the work commits on its own, whatever the caller's transaction does.
        boolean outside = connection.getAutoCommit();
        tx = new ExecutorTransaction(connection, this);
        bound.set(tx);
        try {
          return work.run(tx);
        } finally {
          bound.remove();
          tx.end();
          Tags written = tx.recorded();
          if (!written.isEmpty()) {
            if (outside) {
              invalidator.accept(written);
            }
            sync.afterCommit(() -> invalidator.accept(written));
          }
        }
      }
    }
    try (Connection connection = requireDataSource().getConnection()) {
      boolean autoCommit = connection.getAutoCommit();
      if (!autoCommit) {
        requireManualCommitPool();
      } else {
        connection.setAutoCommit(false);
      }
      ExecutorTransaction tx = new ExecutorTransaction(connection, this);
      boolean commitAttempted = false;
      bound.set(tx);
      try {
        T result;
        try {
          result = work.run(tx);
        } catch (Throwable t) {
          tx.end();
          Jdbc.rollback(connection, t);
          throw t;
        }
        tx.end();
        commitAttempted = true;
        connection.commit();
        return result;
      } finally {
        bound.remove();
        if (commitAttempted) {
          invalidator.accept(tx.recorded()); // also if the commit failed: its outcome is unknown
        }
        if (autoCommit) {
          restoreAutoCommit(connection);
        }
      }
    }
  }

  /** The tags a write invalidates: its tables, the tables declared to change with them, and its extra tags. */
  Tags writeTags(Query write) {
    return writeTags.apply(write);
  }

  DataSource requireDataSource() {
    if (dataSource == null) {
      throw new IllegalStateException(
          "this executor has no DataSource: call CachedQueryExecutor.builder(cache).dataSource(...) to use the JDBC"
              + " methods");
    }
    return dataSource;
  }

  private void requireManualCommitPool() {
    if (!manualCommitPool) {
      throw new IllegalStateException(
          "the DataSource handed out a connection in manual-commit mode outside any transaction the executor knows:"
              + " if it is a caller's transaction (a transaction-aware DataSource), give the executor its"
              + " transactionSync(...); if the pool hands out manual-commit connections, set manualCommitPool(true)."
              + " Nothing was run");
    }
  }

  private static void restoreAutoCommit(Connection connection) {
    try {
      connection.setAutoCommit(true);
    } catch (SQLException ignored) {
      // The connection is being closed; a pool resets or discards it.
    }
  }
}
