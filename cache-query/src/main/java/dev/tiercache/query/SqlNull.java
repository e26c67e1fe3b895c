package dev.tiercache.query;

/**
 * A SQL {@code NULL} parameter of a given JDBC type, for drivers that need to know the type of a null (PostgreSQL
 * does for some columns): {@code Query.sql("UPDATE t SET n = ? WHERE id = ?", SqlNull.of(Types.INTEGER), 7)}. A
 * plain {@code null} parameter is bound with {@link java.sql.Types#NULL}. Two {@code SqlNull}s of different types
 * give the same rows, but different cache keys.
 *
 * @param sqlType the {@link java.sql.Types} constant passed to {@link java.sql.PreparedStatement#setNull(int, int)}
 */
public record SqlNull(int sqlType) {

  /**
   * Returns a typed null.
   *
   * @param sqlType a {@link java.sql.Types} constant
   * @return the typed null
   */
  public static SqlNull of(int sqlType) {
    return new SqlNull(sqlType);
  }
}
