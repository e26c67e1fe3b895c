package dev.tiercache.query;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import dev.tiercache.TieredCache;
import dev.tiercache.testkit.InMemoryL2Store;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Review (s14, round 3): the round-trip check of {@link QueryResultCodec} (eebc057: "reads back what it writes and
 * refuses a result that would come back different ... rows with fixed types come back equal") attacked with row
 * types whose declared types are concrete.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class QueryCodecReviewTest {

  /** A row with a concrete java.time component: PostgreSQL timestamptz / H2 TIMESTAMP WITH TIME ZONE. */
  record Event(long id, OffsetDateTime at) {}

  /** A row with a set of member names, as the mapper builds it ({@code Set.copyOf}). */
  record Group(long id, Set<String> members) {}

  /** A row with a double, as {@code rs.getDouble} returns it. */
  record Measure(long id, double value) {}

  private static TestDatabase db;

  private final List<TieredCache<?, ?>> caches = new ArrayList<>();
  private final InMemoryL2Store l2 = new InMemoryL2Store();
  private String name;

  @BeforeAll
  static void database() {
    db = TestDatabase.create();
    db.exec("CREATE TABLE events (id BIGINT PRIMARY KEY, at TIMESTAMP WITH TIME ZONE NOT NULL)");
  }

  @AfterAll
  static void dropDatabase() {
    db.close();
  }

  @BeforeEach
  void setUp() {
    db.exec("DELETE FROM events", "INSERT INTO events VALUES (1, TIMESTAMP WITH TIME ZONE '2026-12-02 09:30:00+02:00')");
    name = "codec-review-" + Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 1);
  }

  @AfterEach
  void closeCaches() {
    caches.forEach(TieredCache::close);
  }

  /** The mapper QueryResultCodec's own javadoc shows: {@code new ObjectMapper().registerModule(new JavaTimeModule())}. */
  private CachedQueryExecutor node() {
    TieredCache<String, QueryResult> c =
        TieredCache.<String, QueryResult>builder(name)
            .l2(l2)
            .valueCodec(QueryResultCodec.json(new ObjectMapper().registerModule(new JavaTimeModule()), Event.class,
                Group.class))
            .build();
    caches.add(c);
    return CachedQueryExecutor.builder(c).dataSource(db.dataSource()).build();
  }

  /**
   * Breaks: "rows with fixed types come back equal" / the codec refuses only "a value's class ... not fixed by its
   * declared type"; and invariant 3 (the cache never makes the application less available than the database).
   *
   * <p>How: a record with a concrete {@code OffsetDateTime} component, read from a TIMESTAMP WITH TIME ZONE column
   * stored at +02:00, with the very mapper the codec's javadoc recommends. Jackson's JavaTimeModule adjusts a decoded
   * OffsetDateTime to the context time zone (UTC: {@code ADJUST_DATES_TO_CONTEXT_TIME_ZONE} is on by default), so the
   * read-back is 07:30Z, not {@code equals} to 09:30+02:00; the codec, which already tunes its mapper copy for exact
   * decimals, leaves this on. Every such read now throws IllegalArgumentException on every call (it was cached
   * before eebc057), with a message blaming "a component declared Object or generic", which this is not.
   *
   * <p>Once fixed: the query is cached, and another node is served the row with its offset.
   */
  @Test
  void aRowWithAConcreteOffsetDateTimeIsCachedAndComesBackWithItsOffset() {
    String sql = "SELECT id, at FROM events WHERE id = 1";
    RowMapper<Event> mapper = (rs, n) -> new Event(rs.getLong(1), rs.getObject(2, OffsetDateTime.class));
    Event expected = new Event(1, OffsetDateTime.of(2026, 12, 2, 9, 30, 0, 0, ZoneOffset.ofHours(2)));

    assertThat(node().queryList(sql, mapper)).containsExactly(expected);
    assertThat(node().queryList(sql, (rs, n) -> {
      throw new AssertionError("the other node is served from the L2");
    })).containsExactly(expected);
  }

  /**
   * Breaks: nothing documented, but the check costs every load of a row holding a set time quadratic in its size
   * ({@code ResultGuard.sameMembers}: for each member, a scan of the copy from its start, even when both iterate in
   * the same order). A single row with a 20 000-member set (an aggregated membership list) takes seconds of CPU to
   * encode, on every miss, where writing the JSON takes milliseconds. Judged pathological but of limited realism
   * (rows rarely hold sets of tens of thousands); bounded here at 1 s for a 20 000-member set (about 4 s now; 40 000 took 17 s).
   */
  @Test
  void encodingARowWithALargeSetIsNotQuadratic() {
    QueryResultCodec codec = QueryResultCodec.json(new ObjectMapper(), Group.class);
    Set<String> members = new HashSet<>();
    for (int i = 0; i < 20_000; i++) {
      members.add("member-" + i);
    }
    QueryResult result = new QueryResult(List.of(new Group(1, Set.copyOf(members))), Long.MAX_VALUE);
    long start = System.nanoTime();
    byte[] bytes = codec.encode(result);
    long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
    assertThat(bytes.length).isPositive();
    assertThat(millis).as("ms to encode one row with a 20 000-member set").isLessThan(1_000);
  }

  /**
   * Breaks: "rows with fixed types come back equal" (eebc057), and invariant 3: a {@code double} component holding
   * {@code -0.0} -- what {@code ROUND(-0.4)} or {@code -1 * 0.0} returns in double precision -- makes the read throw.
   *
   * <p>How: the codec's mapper reads floats as BigDecimal ({@code USE_BIG_DECIMAL_FOR_FLOATS}, for exact decimals),
   * and BigDecimal has no negative zero, so {@code -0.0} comes back {@code 0.0}; {@code Double.equals} tells them
   * apart and the round-trip check refuses the row: {@code queryList} throws IllegalArgumentException on every call,
   * blaming "a component declared Object or generic". (A final class with a primitive {@code double} field is not
   * compared at all, ResultGuard skips primitive fields, so there the sign is lost silently on other nodes.)
   *
   * <p>Once fixed: {@code -0.0} comes back {@code -0.0} (or the result is cached some other exact way).
   */
  @Test
  void aDoubleComponentHoldingNegativeZeroIsNotRefused() {
    QueryResultCodec codec = QueryResultCodec.json(new ObjectMapper(), Measure.class);
    QueryResult result = new QueryResult(List.of(new Measure(1, -0.0)), Long.MAX_VALUE);
    Throwable thrown = org.assertj.core.api.Assertions.catchThrowable(() -> codec.encode(result));
    assertThat(thrown).as("encoding a row with -0.0").isNull();
    assertThat(((Measure) codec.decode(codec.encode(result)).rows().get(0)).value())
        .as("decoded").isEqualTo(-0.0);
  }
}
