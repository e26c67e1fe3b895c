package dev.tiercache.query;

import java.sql.ResultSet;
import java.sql.SQLException;

/**
 * Maps the current row of a {@link ResultSet} to a value. It must copy what it needs out of the row: the result
 * set is closed once the query has been read, and values are cached, so returning the result set, a stream, a
 * {@code Blob} or a {@code Clob} is rejected.
 *
 * @param <R> the row type; should be immutable (a record, for example), since one instance is shared by readers
 */
@FunctionalInterface
public interface RowMapper<R> {

  /**
   * Maps the current row.
   *
   * @param row the result set, positioned on the row; do not move it
   * @return the row's value; never null
   * @throws SQLException if reading a column fails
   */
  R map(ResultSet row) throws SQLException;
}
