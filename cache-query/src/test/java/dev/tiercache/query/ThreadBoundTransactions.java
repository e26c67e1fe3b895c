package dev.tiercache.query;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import javax.sql.DataSource;

/**
 * A minimal transaction manager over a real database, shaped like Spring's: {@link #begin()} binds a manual-commit
 * connection to the thread, {@link #dataSource()} is transaction-aware (inside a transaction it hands out that
 * connection, whose {@code close()} only releases the handle, as {@code TransactionAwareDataSourceProxy} does), and
 * {@link #sync()} is the {@link TransactionSync} over it. Commits and rollbacks it did not make are counted.
 */
final class ThreadBoundTransactions {

  private final DataSource target;
  private final ThreadLocal<Connection> bound = new ThreadLocal<>();
  private final ThreadLocal<List<Runnable>> afterCommit = new ThreadLocal<>();
  final AtomicInteger foreignCommits = new AtomicInteger();
  final AtomicInteger foreignRollbacks = new AtomicInteger();

  ThreadBoundTransactions(DataSource target) {
    this.target = target;
  }

  void begin() throws SQLException {
    Connection c = target.getConnection();
    c.setAutoCommit(false);
    bound.set(c);
    afterCommit.set(new ArrayList<>());
  }

  void commit() throws SQLException {
    Connection c = bound.get();
    List<Runnable> tasks = afterCommit.get();
    try {
      c.commit();
    } finally {
      end(c);
    }
    tasks.forEach(Runnable::run);
  }

  void rollback() throws SQLException {
    Connection c = bound.get();
    try {
      c.rollback();
    } finally {
      end(c);
    }
  }

  private void end(Connection c) throws SQLException {
    bound.remove();
    afterCommit.remove();
    c.close();
  }

  TransactionSync sync() {
    return new TransactionSync() {
      @Override
      public boolean isActive() {
        return bound.get() != null;
      }

      @Override
      public void afterCommit(Runnable task) {
        List<Runnable> tasks = afterCommit.get();
        if (tasks == null) {
          throw new IllegalStateException("no transaction is active");
        }
        tasks.add(task);
      }
    };
  }

  DataSource dataSource() {
    return (DataSource)
        Proxy.newProxyInstance(
            DataSource.class.getClassLoader(),
            new Class<?>[] {DataSource.class},
            (p, method, args) -> {
              Connection c = bound.get();
              if (method.getName().equals("getConnection") && c != null) {
                return handle(c);
              }
              try {
                return method.invoke(target, args);
              } catch (InvocationTargetException e) {
                throw e.getCause();
              }
            });
  }

  private Connection handle(Connection c) {
    return (Connection)
        Proxy.newProxyInstance(
            Connection.class.getClassLoader(),
            new Class<?>[] {Connection.class},
            (p, method, args) -> {
              switch (method.getName()) {
                case "close":
                  return null; // releases the handle; the transaction keeps the connection
                case "commit":
                  foreignCommits.incrementAndGet();
                  break;
                case "rollback":
                  foreignRollbacks.incrementAndGet();
                  break;
                default:
                  break;
              }
              try {
                return method.invoke(c, args);
              } catch (InvocationTargetException e) {
                throw e.getCause();
              }
            });
  }
}
