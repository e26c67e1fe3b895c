package dev.tiercache.query;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tiercache.TieredCache;
import java.math.BigDecimal;
import java.sql.Time;
import java.sql.Timestamp;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every common JDBC parameter type, bound by the executor on a real database: each finds its row, each value has
 * its own cache entry, and the same value is served from the cache the second time.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class ParameterTypesTest {

  enum Color { RED, GREEN }

  private static TestDatabase db;
  private static TestDatabase.CountingDataSource counting;
  private static TieredCache<String, QueryResult> cache;
  private static CachedQueryExecutor executor;

  /** Column, the value row 1 holds, the value row 2 holds. */
  static Stream<Arguments> columns() {
    return Stream.of(
        Arguments.of("c_int", 7, 8),
        Arguments.of("c_long", 7_000_000_000L, 7_000_000_001L),
        Arguments.of("c_short", (short) 300, (short) -300),
        Arguments.of("c_byte", (byte) 12, (byte) -12),
        Arguments.of("c_dec", new BigDecimal("12345.678900"), new BigDecimal("-0.000001")),
        Arguments.of("c_double", 1.5d, -2.25d),
        Arguments.of("c_bool", true, false),
        Arguments.of("c_text", "Zoë 東京 🎉", "plain"),
        Arguments.of("c_date", java.sql.Date.valueOf("2024-02-29"), java.sql.Date.valueOf("1999-12-31")),
        Arguments.of("c_date", LocalDate.of(2024, 2, 29), LocalDate.of(1999, 12, 31)),
        Arguments.of("c_time", Time.valueOf("10:15:30"), Time.valueOf("23:59:59")),
        Arguments.of("c_ts", Timestamp.valueOf("2024-02-29 10:15:30.123456"), Timestamp.valueOf("2000-01-01 00:00:00")),
        Arguments.of("c_ldt", LocalDateTime.of(2024, 2, 29, 10, 15, 30, 123_456_000), LocalDateTime.of(2000, 1, 1, 0, 0)),
        Arguments.of("c_instant", Instant.parse("2024-02-29T10:15:30.123456Z"), Instant.parse("2000-01-01T00:00:00Z")),
        Arguments.of("c_uuid", UUID.fromString("123e4567-e89b-12d3-a456-426614174000"), new UUID(0, 2)),
        Arguments.of("c_bytes", new byte[] {0, 1, 2, (byte) 0xff}, new byte[] {9}),
        Arguments.of("c_enum", Color.GREEN, Color.RED));
  }

  @BeforeAll
  static void database() {
    db = TestDatabase.create();
    db.exec(
        "CREATE TABLE typed (id INT PRIMARY KEY, c_int INT, c_long BIGINT, c_short SMALLINT, c_byte SMALLINT,"
            + " c_dec NUMERIC(20, 6), c_double DOUBLE PRECISION, c_bool BOOLEAN, c_text VARCHAR(200), c_date DATE,"
            + " c_time TIME, c_ts TIMESTAMP, c_ldt TIMESTAMP, c_instant TIMESTAMP WITH TIME ZONE, c_uuid UUID,"
            + " c_bytes " + db.binaryType() + ", c_enum VARCHAR(20), c_null VARCHAR(10))");
    counting = db.countingDataSource();
    cache = TieredCache.<String, QueryResult>builder("types").build();
    executor = CachedQueryExecutor.builder(cache).dataSource(counting.proxy).build();
    // The rows are written through the executor too: binding on the write path.
    insert(1, true);
    insert(2, false);
  }

  private static void insert(int id, boolean first) {
    List<Object> params = new ArrayList<>();
    params.add(id);
    columns().forEach(a -> {
      if (!a.get()[0].equals("c_date") || params.stream().noneMatch(p -> p instanceof java.sql.Date)) {
        params.add(a.get()[first ? 1 : 2]);
      }
    });
    params.add(first ? null : "set");
    assertThat(executor.update(
            "INSERT INTO typed (id, c_int, c_long, c_short, c_byte, c_dec, c_double, c_bool, c_text, c_date, c_time,"
                + " c_ts, c_ldt, c_instant, c_uuid, c_bytes, c_enum, c_null)"
                + " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            params.toArray()))
        .isEqualTo(1);
  }

  @AfterAll
  static void close() {
    cache.close();
    db.close();
  }

  private static List<Integer> idsWhere(String column, Object value) {
    return executor.queryList("SELECT id FROM typed WHERE " + column + " = ? ORDER BY id", (rs, n) -> rs.getInt(1), value);
  }

  @ParameterizedTest(name = "{0} = {1}")
  @MethodSource("columns")
  void eachTypeFindsItsRowAndIsCachedByValue(String column, Object value, Object other) {
    assertThat(idsWhere(column, value)).containsExactly(1);
    assertThat(idsWhere(column, other)).containsExactly(2);
    int connections = counting.connections();
    assertThat(idsWhere(column, value)).containsExactly(1);
    assertThat(idsWhere(column, copyOf(value))).containsExactly(1);
    assertThat(counting.connections()).as("served from the cache").isEqualTo(connections);
  }

  @Test
  void nullIsBoundAsSqlNull() {
    String sql = "SELECT id FROM typed WHERE c_null IS NOT DISTINCT FROM ? ORDER BY id";
    assertThat(executor.queryList(sql, (rs, n) -> rs.getInt(1), (Object) null)).containsExactly(1);
    assertThat(executor.queryList(sql, (rs, n) -> rs.getInt(1), "set")).containsExactly(2);
    assertThat(executor.queryList(sql, (rs, n) -> rs.getInt(1), "null")).isEmpty();
  }

  @Test
  void allTypesTogetherInOneStatement() {
    List<Object> params = new ArrayList<>();
    StringBuilder where = new StringBuilder("SELECT id FROM typed WHERE c_null IS NULL");
    columns().forEach(a -> {
      where.append(" AND ").append(a.get()[0]).append(" = ?");
      params.add(a.get()[1]);
    });
    assertThat(executor.queryList(where.toString(), (rs, n) -> rs.getInt(1), params.toArray())).containsExactly(1);
  }

  /** An equal value that is a different object, so a key built from identity would miss. */
  private static Object copyOf(Object value) {
    if (value instanceof byte[] b) {
      return Arrays.copyOf(b, b.length);
    }
    if (value instanceof Timestamp t) {
      Timestamp copy = new Timestamp(t.getTime());
      copy.setNanos(t.getNanos());
      return copy;
    }
    if (value instanceof java.sql.Date d) {
      return new java.sql.Date(d.getTime());
    }
    if (value instanceof Time t) {
      return new Time(t.getTime());
    }
    if (value instanceof BigDecimal d) {
      return new BigDecimal(d.unscaledValue(), d.scale());
    }
    if (value instanceof String s) {
      return new String(s.toCharArray());
    }
    return value;
  }
}
