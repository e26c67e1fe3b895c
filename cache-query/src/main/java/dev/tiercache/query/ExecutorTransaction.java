package dev.tiercache.query;

import dev.tiercache.Tags;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * The {@link Transaction} handed to {@link CachedQueryExecutor#inTransaction}'s work: one connection, bound to the
 * thread that runs the work, and the tags its writes will invalidate after the commit. The executor's own methods
 * called on that thread run here too.
 */
final class ExecutorTransaction implements Transaction {

  private final Connection connection;
  private final Transactions transactions;
  private final Thread owner = Thread.currentThread();
  private final Set<String> invalidated = Collections.synchronizedSet(new LinkedHashSet<>());
  private volatile boolean open = true;

  ExecutorTransaction(Connection connection, Transactions transactions) {
    this.connection = connection;
    this.transactions = transactions;
  }

  <T> T run(SqlWork<T> work) throws SQLException {
    requireOpen();
    return work.run(connection);
  }

  void record(Tags tags) {
    tags.forEach(invalidated::add);
  }

  Tags recorded() {
    synchronized (invalidated) {
      return Tags.of(new ArrayList<>(invalidated));
    }
  }

  void end() {
    open = false;
  }

  @Override
  public int update(String sql, Object... params) {
    return update(Query.sql(sql, params));
  }

  @Override
  public int update(Query write) {
    Objects.requireNonNull(write, "write");
    CachedQueryExecutor.requireSql(write);
    Tags tags = transactions.writeTags(write);
    try {
      // Recorded first, as Transactions.write does: a statement that fails may have changed rows the commit keeps.
      record(tags);
      return run(c -> Jdbc.update(c, write));
    } catch (SQLException e) {
      throw new UncheckedSQLException("update '" + write.label() + "' failed", e);
    }
  }

  @Override
  public <T> List<T> queryList(String sql, RowMapper<T> mapper, Object... params) {
    Objects.requireNonNull(mapper, "mapper");
    Query query = Query.sql(sql, params);
    try {
      return Collections.unmodifiableList(new ArrayList<>(run(c -> Jdbc.select(c, query, mapper, 0))));
    } catch (SQLException e) {
      throw new UncheckedSQLException("query '" + query.label() + "' failed", e);
    }
  }

  @Override
  public Connection connection() {
    requireOpen();
    return connection;
  }

  @Override
  public void invalidateOnCommit(String... tables) {
    requireOpen();
    Objects.requireNonNull(tables, "tables");
    // Query.tables normalises each name once ("my.table" is my.table; normalised twice it would be table).
    record(transactions.writeTags(Query.named("invalidateOnCommit").tables(tables)));
  }

  private void requireOpen() {
    if (!open) {
      throw new IllegalStateException("the transaction has ended: use it only inside the inTransaction callback");
    }
    if (Thread.currentThread() != owner) {
      throw new IllegalStateException("a transaction belongs to the thread that runs the inTransaction callback");
    }
  }
}
