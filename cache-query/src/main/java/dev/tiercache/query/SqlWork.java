package dev.tiercache.query;

import java.sql.Connection;
import java.sql.SQLException;

/** JDBC work on a connection that the caller of {@link Transactions} provides and releases. */
@FunctionalInterface
interface SqlWork<T> {
  T run(Connection connection) throws SQLException;
}
