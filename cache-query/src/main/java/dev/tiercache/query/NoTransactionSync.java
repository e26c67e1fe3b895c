package dev.tiercache.query;

/** The {@link TransactionSync#none()} sync: every statement stands alone. */
enum NoTransactionSync implements TransactionSync {
  INSTANCE;

  @Override
  public boolean isActive() {
    return false;
  }

  @Override
  public void afterCommit(Runnable task) {
    throw new IllegalStateException("no transaction is active");
  }
}
