package dev.tiercache.query;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tiercache.TieredCache;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.sql.Time;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.LocalTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Random;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Cache keys: fixed across JVMs and executors, and never shared by two different queries. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class QueryKeyTest {

  enum Color { RED, GREEN }

  enum Shade { RED }

  private final List<TieredCache<?, ?>> caches = new ArrayList<>();

  @AfterEach
  void close() {
    caches.forEach(TieredCache::close);
  }

  private CachedQueryExecutor executor() {
    TieredCache<String, QueryResult> cache = TieredCache.<String, QueryResult>builder("keys").build();
    caches.add(cache);
    return CachedQueryExecutor.builder(cache).build();
  }

  @Test
  void knownAnswersNeverChange() {
    // These strings are committed: a change of JVM, charset, zone, map order or encoding that altered them
    // would make nodes of different versions miss each other's entries, and fails here first. Both were also
    // computed outside Java, from the encoding as documented in QueryKeys: SHA-256 over length-prefixed UTF-16BE
    // strings "tiercache-query/1", "single", kind, text, the sorted tags, then each parameter's type and value.
    CachedQueryExecutor executor = executor();
    assertThat(executor.keyOf(Query.sql("SELECT * FROM users WHERE id = ? AND name = ?", 42L, "Zoë")))
        .isEqualTo("q:e6459d4ca90d2b3358026b715d4d5f46e530a68ed3343c310077969bad6f279d");
    assertThat(
            executor.keyOf(
                Query.named(
                        "report.daily",
                        null, 7, (short) 3, (byte) -1, true, 2.5d, new BigDecimal("10.50"), "東京 🎉",
                        UUID.fromString("123e4567-e89b-12d3-a456-426614174000"), LocalDate.of(2024, 2, 29),
                        LocalDateTime.of(2024, 2, 29, 23, 59, 1), Instant.ofEpochSecond(1_700_000_000L),
                        new byte[] {0, 1, (byte) 0xff}, Color.GREEN)
                    .tables("orders")
                    .tags("tenant:7")))
        .isEqualTo("q:a1ac337f1bcb7e460ee5a1c6c9e11c6e7acfe6df9e46a048c0b3f06ddf2ec137");
  }

  @Test
  void keysAreTheSameInAFreshExecutorAndForEqualButDistinctValues() {
    Query a = Query.sql("SELECT * FROM t WHERE a = ? AND b = ? AND c = ?", new byte[] {1, 2}, new BigDecimal("1.0"),
        Timestamp.valueOf("2024-01-01 10:00:00.123456789"));
    Query b = Query.sql("SELECT * FROM t WHERE a = ? AND b = ? AND c = ?", new byte[] {1, 2}, new BigDecimal("1.0"),
        Timestamp.valueOf("2024-01-01 10:00:00.123456789"));
    assertThat(executor().keyOf(a)).isEqualTo(executor().keyOf(b)).matches("q:[0-9a-f]{64}");
  }

  @Test
  void sqlWhitespaceOutsideQuotesDoesNotMatterButInsideItDoes() {
    CachedQueryExecutor executor = executor();
    String key = executor.keyOf(Query.sql("SELECT * FROM users WHERE name = ?", "x"));
    assertThat(executor.keyOf(Query.sql("  SELECT *  FROM\tusers   WHERE name = ?  ", "x"))).isEqualTo(key);
    assertThat(executor.keyOf(Query.sql("SELECT * FROM users WHERE name = ?", "y"))).isNotEqualTo(key);
    assertThat(executor.keyOf(Query.sql("SELECT * FROM users WHERE name = 'a  b'")))
        .isNotEqualTo(executor.keyOf(Query.sql("SELECT * FROM users WHERE name = 'a b'")));
    // A line comment ends at the line break: the line break is kept, so these stay different.
    assertThat(SqlText.normalise("SELECT a -- x\n, b FROM t"))
        .isNotEqualTo(SqlText.normalise("SELECT a -- x , b FROM t"));
    // A quote inside a comment must not make the normaliser collapse a literal's spaces.
    assertThat(SqlText.normalise("-- it's\nSELECT 'x  y' FROM t"))
        .isNotEqualTo(SqlText.normalise("-- it's\nSELECT 'x y' FROM t"));
    assertThat(SqlText.normalise("SELECT $$a  b$$")).isNotEqualTo(SqlText.normalise("SELECT $$a b$$"));
    assertThat(SqlText.normalise("SELECT\u001Ca")).isNotEqualTo(SqlText.normalise("SELECT a"));
  }

  @Test
  void everyParameterTypeGivesItsOwnKey() {
    CachedQueryExecutor executor = executor();
    List<Object> values =
        Arrays.asList(
            null, "null", "", "1", 1, 1L, (short) 1, (byte) 1, 1.0d, 1.0f, new BigDecimal("1"), new BigDecimal("1.0"),
            BigInteger.ONE, '1', true, "true", new byte[] {1}, new byte[] {}, new byte[] {0x31},
            UUID.fromString("00000000-0000-0000-0000-000000000001"), Color.RED, Shade.RED, "RED",
            LocalDate.of(2024, 1, 1), "2024-01-01", java.sql.Date.valueOf("2024-01-01"),
            LocalDateTime.of(2024, 1, 1, 0, 0), Timestamp.valueOf("2024-01-01 00:00:00"),
            Timestamp.valueOf("2024-01-01 00:00:00.000000001"), new java.util.Date(0), Instant.EPOCH,
            OffsetDateTime.of(2024, 1, 1, 0, 0, 0, 0, ZoneOffset.UTC), LocalTime.NOON, Time.valueOf("12:00:00"),
            Duration.ZERO, -0.0d, 0.0d, Double.NaN, "\uD800", "?", "\uFFFD");
    Map<String, Object> byKey = new HashMap<>();
    for (Object value : values) {
      String key = executor.keyOf(Query.named("q", value));
      Object previous = byKey.put(key, value);
      assertThat(previous).as("key of %s already used by %s", describe(value), describe(previous)).isNull();
    }
    assertThat(byKey).hasSize(values.size());
  }

  @Test
  void unsupportedParameterTypesAreRejectedWhenTheQueryIsMade() {
    assertThatThrownBy(() -> Query.sql("SELECT * FROM t WHERE a = ? AND b = ?", 1, new Object()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("parameter 2 has type java.lang.Object")
        .hasMessageContaining("JVM-independent");
    assertThatThrownBy(() -> Query.named("q", List.of(1))).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> Query.named("q", new StringBuilder("x"))).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> Query.named("q", (Object[]) null)).isInstanceOf(NullPointerException.class);
    assertThatThrownBy(() -> Query.named(" ")).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> Query.sql("")).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void aQueryKeepsItsOwnCopyOfMutableParameters() {
    CachedQueryExecutor executor = executor();
    byte[] bytes = {1, 2, 3};
    Timestamp ts = Timestamp.valueOf("2024-01-01 00:00:00");
    Query query = Query.named("q", bytes, ts);
    String before = executor.keyOf(query);
    bytes[0] = 9;
    ts.setTime(0);
    assertThat(executor.keyOf(query)).isEqualTo(before);
  }

  /**
   * A property test over many seeded, bounded combinations: two (query, parameters, tags) that differ get
   * different keys, and equal ones get the same key, in this executor and in a fresh one. The value pools are
   * built to tempt a weak encoding: separators inside strings, numbers that print alike, empty values, parameters
   * that could slide into the query text.
   */
  @Test
  void differentQueriesNeverShareAKeyAndEqualOnesAlwaysDo() {
    Random random = new Random(20240229L);
    String[] texts = {"q", "q:", "q|1", "", "SELECT * FROM t WHERE a = ?", "SELECT * FROM t WHERE a = ? AND b = ?",
        "SELECT * FROM u WHERE a = ?", "report", "report1", ":", "|"};
    Object[] pool = {null, "", "a", "a:", ":a", "a|b", "|", "1", 1, 1L, (short) 1, (byte) 1, 1.0, 1.0f,
        new BigDecimal("1.00"), new BigDecimal("1"), 10, "10", 0, -1, true, false, "true", 'a', "q", "q:",
        new byte[0], new byte[] {97}, new byte[] {0}, Color.RED, Shade.RED, "RED", LocalDate.of(2020, 1, 1),
        "2020-01-01", UUID.fromString("00000000-0000-0000-0000-000000000000"), "\u0000", "\u0000\u0000", "é", "e\u0301"};
    String[][] tableSets = {{}, {"t"}, {"u"}, {"t", "u"}};
    String[] extraTags = {null, "tenant:1", "tenant:2"};
    CachedQueryExecutor first = executor();
    CachedQueryExecutor second = executor();
    Map<String, List<Object>> identityByKey = new HashMap<>();
    Set<List<Object>> identities = new HashSet<>();
    for (int i = 0; i < 20_000; i++) {
      boolean sql = random.nextBoolean();
      String text = texts[random.nextInt(texts.length)];
      if (sql != text.startsWith("SELECT") || text.isEmpty()) {
        text = sql ? "SELECT * FROM t WHERE a = ?" : "q";
      }
      Object[] params = new Object[random.nextInt(4)];
      for (int p = 0; p < params.length; p++) {
        params[p] = pool[random.nextInt(pool.length)];
      }
      Query query = sql ? Query.sql(text, params) : Query.named(text, params);
      String[] tables = tableSets[random.nextInt(tableSets.length)];
      if (tables.length > 0) {
        query = query.tables(tables);
      }
      String extra = extraTags[random.nextInt(extraTags.length)];
      if (extra != null) {
        query = query.tags(extra);
      }
      List<Object> identity = identity(sql, text, params, first.tagsOf(query).asSet());
      identities.add(identity);
      String key = first.keyOf(query);
      assertThat(second.keyOf(query)).isEqualTo(key);
      List<Object> previous = identityByKey.putIfAbsent(key, identity);
      if (previous != null) {
        assertThat(previous).as("two different queries share key %s", key).isEqualTo(identity);
      }
    }
    assertThat(identityByKey).hasSameSizeAs(identities);
    assertThat(identities.size()).as("the generator explores many distinct queries").isGreaterThan(5_000);
  }

  /** Equality of queries as the test sees it: kind, text, tags, and each parameter's class and value. */
  private static List<Object> identity(boolean sql, String text, Object[] params, Set<String> tags) {
    List<Object> identity = new ArrayList<>();
    identity.add(sql);
    identity.add(text);
    identity.add(new HashSet<>(tags));
    for (Object p : params) {
      identity.add(p == null ? "<null>" : p.getClass());
      identity.add(p instanceof byte[] b ? Arrays.toString(b) : p);
    }
    return identity;
  }

  private static String describe(Object value) {
    if (value == null) {
      return "null";
    }
    return value.getClass().getSimpleName() + " " + (value instanceof byte[] b ? Arrays.toString(b) : Objects.toString(value));
  }
}
