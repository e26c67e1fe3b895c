package dev.tiercache.spring;

import dev.tiercache.query.TransactionSync;
import org.springframework.transaction.support.TransactionSynchronization;
import org.springframework.transaction.support.TransactionSynchronizationManager;

/**
 * Joins a {@code CachedQueryExecutor} to Spring-managed transactions: inside {@code @Transactional} (or a
 * {@code TransactionTemplate}) it is active, and its after-commit tasks are Spring transaction synchronizations that
 * run after a commit and never after a rollback. Pair it with a transaction-aware {@code DataSource}
 * ({@code TransactionAwareDataSourceProxy}) so the executor uses the transaction's connection.
 */
public final class SpringTransactionSync implements TransactionSync {

  private static final SpringTransactionSync INSTANCE = new SpringTransactionSync();

  private SpringTransactionSync() {}

  /**
   * Returns the sync; it holds no state (Spring keeps it per thread).
   *
   * @return the sync
   */
  public static SpringTransactionSync instance() {
    return INSTANCE;
  }

  /**
   * Tells whether the calling thread runs inside a Spring transaction that accepts synchronizations.
   *
   * @return true inside an actual transaction with synchronization on
   */
  @Override
  public boolean isActive() {
    return TransactionSynchronizationManager.isSynchronizationActive()
        && TransactionSynchronizationManager.isActualTransactionActive();
  }

  /**
   * Runs {@code task} after the calling thread's transaction commits, never after a rollback.
   *
   * @param task what to run
   * @throws IllegalStateException if no transaction is active
   */
  @Override
  public void afterCommit(Runnable task) {
    if (!isActive()) {
      throw new IllegalStateException("no Spring transaction is active");
    }
    TransactionSynchronizationManager.registerSynchronization(
        new TransactionSynchronization() {
          @Override
          public void afterCommit() {
            task.run();
          }
        });
  }

  @Override
  public String toString() {
    return "SpringTransactionSync";
  }
}
