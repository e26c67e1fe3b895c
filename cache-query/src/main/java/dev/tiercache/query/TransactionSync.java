package dev.tiercache.query;

/**
 * How a {@link CachedQueryExecutor} joins a transaction it did not open: the caller's own, or a framework's (the
 * Spring integration implements it over Spring's transaction synchronization). While a transaction is active the
 * executor reads and writes through the connection the caller's transaction-aware {@code DataSource} hands out, never
 * commits it, does not cache what it reads (it may be uncommitted), and defers table invalidations to
 * {@link #afterCommit(Runnable)}: nothing is invalidated on rollback.
 *
 * <p>Implementations are thread-safe; both methods concern the calling thread's transaction.
 */
public interface TransactionSync {

  /**
   * Tells whether the calling thread is inside a transaction that will commit or roll back later.
   *
   * @return true inside a transaction
   */
  boolean isActive();

  /**
   * Runs {@code task} once the calling thread's transaction has committed, and never if it rolls back. Called only
   * while {@link #isActive()} is true.
   *
   * @param task what to run after the commit
   * @throws IllegalStateException if no transaction is active
   */
  void afterCommit(Runnable task);

  /**
   * The sync of code that manages no transactions of its own: never active.
   *
   * @return a sync that is never active
   */
  static TransactionSync none() {
    return NoTransactionSync.INSTANCE;
  }
}
