package dev.tiercache.query;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;

/** The JDBC calls of the executor, on a connection someone else opened and will release. */
final class Jdbc {

  private Jdbc() {}

  /** Reads rows; with {@code maxRows > 0}, at most that many. */
  static <T> List<T> select(Connection connection, Query query, RowMapper<? extends T> mapper, int maxRows)
      throws SQLException {
    try (PreparedStatement statement = connection.prepareStatement(query.name())) {
      if (maxRows > 0) {
        statement.setMaxRows(maxRows);
      }
      bind(statement, query.params());
      try (ResultSet rs = statement.executeQuery()) {
        return mapRows(rs, mapper);
      }
    }
  }

  private static <T> List<T> mapRows(ResultSet rs, RowMapper<? extends T> mapper) throws SQLException {
    List<T> rows = new ArrayList<>();
    int rowNum = 0;
    while (rs.next()) {
      rows.add(mapper.mapRow(rs, rowNum++));
    }
    return rows;
  }

  static int update(Connection connection, Query write) throws SQLException {
    try (PreparedStatement statement = connection.prepareStatement(write.name())) {
      bind(statement, write.params());
      return statement.executeUpdate();
    }
  }

  /** Runs one statement per parameter list, as one JDBC batch. */
  static int[] batch(Connection connection, String sql, List<Query> rows) throws SQLException {
    try (PreparedStatement statement = connection.prepareStatement(sql)) {
      for (Query row : rows) {
        bind(statement, row.params());
        statement.addBatch();
      }
      return statement.executeBatch();
    }
  }

  /** Runs a write and maps the keys the database generated (of {@code keyColumns}, or the driver's choice). */
  static <K> List<K> updateReturningKeys(
      Connection connection, Query write, String[] keyColumns, RowMapper<? extends K> keyMapper) throws SQLException {
    try (PreparedStatement statement =
        keyColumns.length == 0
            ? connection.prepareStatement(write.name(), Statement.RETURN_GENERATED_KEYS)
            : connection.prepareStatement(write.name(), keyColumns)) {
      bind(statement, write.params());
      statement.executeUpdate();
      try (ResultSet keys = statement.getGeneratedKeys()) {
        return mapRows(keys, keyMapper);
      }
    }
  }

  static void bind(PreparedStatement statement, List<Object> params) throws SQLException {
    for (int i = 0; i < params.size(); i++) {
      Object p = params.get(i);
      int index = i + 1;
      if (p == null) {
        statement.setNull(index, Types.NULL);
      } else if (p instanceof SqlNull n) {
        statement.setNull(index, n.sqlType());
      } else if (p instanceof Enum<?> e) {
        statement.setString(index, e.name());
      } else if (p instanceof Character c) {
        statement.setString(index, c.toString());
      } else if (p instanceof byte[] b) {
        statement.setBytes(index, b);
      } else if (p instanceof BigInteger b) {
        statement.setBigDecimal(index, new BigDecimal(b));
      } else if (p instanceof Instant t) {
        // Not every driver takes an Instant (JDBC 4.2 maps OffsetDateTime): bind the same instant in UTC.
        statement.setObject(index, t.atOffset(ZoneOffset.UTC));
      } else if (p instanceof java.util.Date d && !(p instanceof java.sql.Date || p instanceof java.sql.Time
          || p instanceof java.sql.Timestamp)) {
        statement.setTimestamp(index, new java.sql.Timestamp(d.getTime()));
      } else {
        statement.setObject(index, p);
      }
    }
  }

  static void rollback(Connection connection, Throwable cause) {
    try {
      connection.rollback();
    } catch (SQLException | RuntimeException e) {
      cause.addSuppressed(e);
    }
  }
}
