package dev.tiercache.query;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tiercache.TieredCache;
import dev.tiercache.testkit.InMemoryL2Store;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Review (s14): what the read methods promise about the rows they return holds for a miss but not for a hit. The
 * checks of {@code queryOne}/{@code queryForObject} and the per-query TTL are applied only when the result is loaded,
 * and the immutability of rows is checked only on the loading node, so a cache hit (of a result another call site or
 * another node cached) breaks them.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class ResultContractReviewTest {

  /** A row with a nested collection: immutable as the mapper builds it ({@code List.of}). */
  record Labelled(long id, List<String> labels) {}

  /** A generic row: the column values as JDBC returns them ({@code getObject}), in an immutable list. */
  record Values(List<Object> values) {}

  private static TestDatabase db;

  private final List<TieredCache<?, ?>> caches = new ArrayList<>();
  private final InMemoryL2Store l2 = new InMemoryL2Store();
  private String name;
  private CachedQueryExecutor executor;

  @BeforeAll
  static void database() {
    db = TestDatabase.create();
    db.exec("CREATE TABLE users (id BIGINT PRIMARY KEY, name VARCHAR(100) NOT NULL)");
  }

  @AfterAll
  static void dropDatabase() {
    db.close();
  }

  @BeforeEach
  void setUp() {
    db.exec("DELETE FROM users", "INSERT INTO users VALUES (1, 'alice'), (2, 'bob')");
    name = "contract-" + Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 1);
    executor = CachedQueryExecutor.builder(newCache()).dataSource(db.dataSource()).build();
  }

  @AfterEach
  void closeCaches() {
    caches.forEach(TieredCache::close);
  }

  /** A cache on the shared in-memory L2: a second one is another node reading what the first stored. */
  private TieredCache<String, QueryResult> newCache() {
    TieredCache<String, QueryResult> c =
        TieredCache.<String, QueryResult>builder(name)
            .l2(l2)
            .valueCodec(QueryResultCodec.json(new ObjectMapper(), Labelled.class, Values.class))
            .build();
    caches.add(c);
    return c;
  }

  /**
   * {@code queryOne} promises {@code IllegalStateException} "if the query finds more than one row", and its key is
   * shared with {@code queryList} of the same SQL (documented). The "at most one row" check runs only inside the
   * loader: once {@code queryList} has cached two rows, {@code queryOne} of the same SQL is a hit and silently returns
   * the first row instead of refusing.
   */
  @Test
  void queryOneRefusesSeveralRowsAlsoWhenTheyComeFromTheCache() {
    String sql = "SELECT name FROM users ORDER BY id";
    RowMapper<String> name = (rs, n) -> rs.getString(1);
    assertThat(executor.queryList(sql, name)).containsExactly("alice", "bob");

    assertThatThrownBy(() -> executor.queryOne(sql, name))
        .as("queryOne of a query that finds two rows, served from the cache")
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("at most one row");
  }

  /**
   * {@code queryForObject} promises {@code IllegalStateException} "if the query finds no row". When the empty result
   * comes from the cache (cached by {@code queryOne}, which caches absence), the check is skipped and {@code
   * rows.get(0)} throws {@code IndexOutOfBoundsException} instead.
   */
  @Test
  void queryForObjectRefusesNoRowAlsoWhenTheEmptyResultComesFromTheCache() {
    String sql = "SELECT name FROM users WHERE id = ?";
    assertThat(executor.queryOne(sql, (rs, n) -> rs.getString(1), 99L)).isEmpty();

    assertThatThrownBy(() -> executor.queryForObject(sql, String.class, 99L))
        .as("queryForObject of a query that finds no row, served from the cache")
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("exactly one row");
  }

  /**
   * {@link Query#ttl}: "a copy whose cached result is served for at most {@code ttl} after it was loaded". The TTL
   * is not part of the key (documented), and the expiry is stored with the result when it is loaded; so if the same
   * SQL was first cached by a call without a TTL, the TTL'd call is served that result however old it is. Here a
   * query with a 100 ms TTL is served a result loaded more than 200 ms earlier, which misses a write made since by
   * another program (the case a TTL is there for: nothing announces that write).
   */
  @Test
  void aQueryTtlBoundsTheAgeOfWhatItIsServedEvenIfTheResultWasCachedWithoutOne() throws Exception {
    String sql = "SELECT name FROM users WHERE id = 1";
    RowMapper<String> name = (rs, n) -> rs.getString(1);
    assertThat(executor.queryList(sql, name)).containsExactly("alice");
    long loadedAt = System.nanoTime();

    db.exec("UPDATE users SET name = 'alicia' WHERE id = 1"); // another program: only a TTL bounds this staleness
    Duration ttl = Duration.ofMillis(100);
    // Bounded wait until the cached result is older than the TTL (no guess: we measure it).
    while (System.nanoTime() - loadedAt <= 2 * ttl.toNanos()) {
      TimeUnit.MILLISECONDS.sleep(20);
    }

    assertThat(executor.queryList(Query.sql(sql).ttl(ttl), name))
        .as("a query with a 100 ms TTL, whose cached result was loaded more than 200 ms ago")
        .containsExactly("alicia");
  }

  /**
   * README "What is read without the cache" / {@link Query#ttl}: a TTL is the opt-in to cache a read that calls a
   * volatile function, and "such a result is then at most ttl old". Two call sites of the same volatile SQL with
   * different TTLs share one key, and the result carries the TTL of the call that loaded it: the call with a 100 ms
   * TTL is served the random value cached by the call with a one-hour TTL, long past 100 ms.
   */
  @Test
  void aVolatileReadIsAtMostItsOwnTtlOldWhateverTtlAnotherCallCachedItWith() throws Exception {
    Query random = Query.sql("SELECT " + (db.isPostgres() ? "random()" : "RAND()") + " FROM users WHERE id = 1");
    RowMapper<Double> value = RowMapper.scalar(Double.class);
    Double cachedForAnHour = executor.queryList(random.ttl(Duration.ofHours(1)), value).get(0);
    long loadedAt = System.nanoTime();
    Duration ttl = Duration.ofMillis(100);
    while (System.nanoTime() - loadedAt <= 2 * ttl.toNanos()) { // bounded: until that result is older than 100 ms
      TimeUnit.MILLISECONDS.sleep(20);
    }

    assertThat(executor.queryList(random.ttl(ttl), value).get(0))
        .as("a RAND() read with a 100 ms TTL, more than 200 ms after another call cached it for an hour")
        .isNotEqualTo(cachedForAnHour);
  }

  /**
   * README "What is cached": every row, "and everything inside it", is an immutable value, refused otherwise, so
   * that one caller cannot change what the next one is served; {@code resultsAreImmutableCopiesInEveryTier} covers
   * the list itself. The check runs on the loading node only: another node decodes the row from the L2 with Jackson,
   * which builds the record's {@code List} component as a mutable {@code ArrayList}, and fills its L1 with it. A
   * caller on that node can then add to the list, and the next caller on that node is served the changed row.
   */
  @Test
  void rowsReadFromTheL2AreAsImmutableAsTheRowsThatWereLoaded() {
    String sql = "SELECT id, name FROM users WHERE id = 1";
    RowMapper<Labelled> mapper = (rs, n) -> new Labelled(rs.getLong(1), List.of(rs.getString(2)));
    assertThat(executor.queryList(sql, mapper)).containsExactly(new Labelled(1, List.of("alice")));

    CachedQueryExecutor otherNode = CachedQueryExecutor.builder(newCache()).dataSource(db.dataSource()).build();
    List<Labelled> fromL2 = otherNode.queryList(sql, mapper);
    assertThat(fromL2).containsExactly(new Labelled(1, List.of("alice")));
    try {
      fromL2.get(0).labels().add("injected by one caller");
    } catch (UnsupportedOperationException expected) {
      // what should happen: the nested list is as immutable as the loaded one
    }

    assertThat(otherNode.queryList(sql, mapper))
        .as("what the next caller on the other node is served")
        .containsExactly(new Labelled(1, List.of("alice")));
  }

  /**
   * README "What is cached": a record's components are checked, and {@code Object} values inside it are accepted when
   * their runtime class is immutable (here {@code Long} and {@code Double}, what H2 returns for BIGINT and DOUBLE).
   * QueryResultCodec records the class of each row but not of the values inside it: Jackson decoded an {@code
   * Object} component from its JSON shape, so another node (served from the L2) got an {@code Integer} for the
   * {@code Long} and a {@code BigDecimal} for the {@code Double}: the same query returned different rows depending
   * on the tier that served it. The codec now reads back what it writes and refuses a result that would come back
   * different, so the read is refused on the node that loads (as a result the codec cannot encode is, README "What is
   * refused"), the message says why, and no node is ever served the changed rows.
   */
  @Test
  void rowsThatWouldComeBackFromTheL2AsOtherClassesAreRefusedWhereTheyAreLoaded() {
    db.exec("CREATE TABLE IF NOT EXISTS scores (id BIGINT PRIMARY KEY, score DOUBLE PRECISION NOT NULL)",
        "DELETE FROM scores", "INSERT INTO scores VALUES (1, 2.5)");
    String sql = "SELECT id, score FROM scores WHERE id = 1";
    RowMapper<Values> generic = (rs, n) -> new Values(List.of(rs.getObject(1), rs.getObject(2)));

    assertThatThrownBy(() -> executor.queryList(sql, generic))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(Values.class.getName())
        .hasMessageContaining("do not come back from JSON as they went in");
    assertThat(l2.get(name, executor.keyOf(Query.sql(sql))).join().isHit()).as("nothing written to the L2").isFalse();

    RowMapper<Labelled> typed = (rs, n) -> new Labelled(rs.getLong(1), List.of(Double.toString(rs.getDouble(2))));
    String typedSql = "SELECT id, score FROM scores WHERE id = 1 AND id > 0";
    List<Labelled> loaded = executor.queryList(typedSql, typed);
    CachedQueryExecutor otherNode = CachedQueryExecutor.builder(newCache()).dataSource(db.dataSource()).build();
    assertThat(otherNode.queryList(typedSql, (rs, n) -> {
      throw new AssertionError("the other node is served from the L2");
    })).as("rows whose declared types fix their classes come back equal").isEqualTo(loaded);
  }
}
