package dev.tiercache.query;

import java.sql.ResultSet;
import java.sql.SQLException;

/**
 * Maps the current row of a {@link ResultSet} to a value, as JDBC code habitually does (the shape of Spring's
 * {@code RowMapper}, so a lambda written for one fits the other). It must copy what it needs out of the row: the
 * result set is closed once the query has been read, and values are cached and shared between callers, so rows must
 * be immutable (records of immutable values, strings, numbers, {@code java.time} values, enums, unmodifiable
 * collections); anything else is refused at cache time.
 *
 * @param <T> the row type
 */
@FunctionalInterface
public interface RowMapper<T> {

  /**
   * Maps the current row.
   *
   * @param rs the result set, positioned on the row; do not move it
   * @param rowNum the row's number, from 0
   * @return the row's value; may be null only for a scalar (a SQL {@code NULL})
   * @throws SQLException if reading a column fails
   */
  T mapRow(ResultSet rs, int rowNum) throws SQLException;

  /**
   * A mapper of the first column to a scalar type, through {@link ResultSet#getObject(int, Class)}: {@code
   * String}, {@code Long}, {@code Integer}, {@code BigDecimal}, {@code Boolean}, {@code java.time} types and the
   * like. SQL {@code NULL} maps to null.
   *
   * @param type the column's Java type
   * @param <T> the type
   * @return the mapper
   * @throws NullPointerException if {@code type} is null
   */
  static <T> RowMapper<T> scalar(Class<T> type) {
    java.util.Objects.requireNonNull(type, "type");
    return (rs, rowNum) -> rs.getObject(1, type);
  }

  /**
   * A mapper to a record, by column label: each record component takes the column of the same name, ignoring case
   * and underscores ({@code created_at} fills {@code createdAt}), through {@link ResultSet#getObject(String,
   * Class)}. A primitive component refuses SQL {@code NULL}.
   *
   * @param type the record class; it and its canonical constructor must be accessible
   * @param <T> the record type
   * @return the mapper
   * @throws NullPointerException if {@code type} is null
   * @throws IllegalArgumentException if {@code type} is not a record
   */
  static <T extends Record> RowMapper<T> record(Class<T> type) {
    return new RecordRowMapper<>(type);
  }
}
