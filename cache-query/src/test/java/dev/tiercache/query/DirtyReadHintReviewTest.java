package dev.tiercache.query;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tiercache.TieredCache;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Review (s14, round 3): eebc057 stopped caching reads on a READ UNCOMMITTED connection ("a rolled-back row was
 * served until the TTL"), but the same dirty read is asked for per table by SQL Server's table hints
 * {@code WITH (NOLOCK)} / {@code WITH (READUNCOMMITTED)} (the executor already reads SQL Server's locking hints
 * UPDLOCK, HOLDLOCK, ... in {@code SqlText.looksLocking}), on a connection of any isolation level.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class DirtyReadHintReviewTest {

  private TieredCache<String, QueryResult> cache;
  private CachedQueryExecutor executor;

  @BeforeEach
  void setUp() {
    cache = TieredCache.<String, QueryResult>builder(
        "dirty-hint-" + Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 1)).build();
    executor = CachedQueryExecutor.builder(cache).build();
  }

  @AfterEach
  void close() {
    cache.close();
  }

  /**
   * Breaks: "A read on a READ UNCOMMITTED connection is not cached" in substance: a read that asks for uncommitted
   * rows must not be cached, or a row that a rollback takes back is served until the TTL, with no write to
   * invalidate it.
   *
   * <p>How: {@code execute(Query.sql("SELECT ... FROM users WITH (NOLOCK) ..."), loader)} -- the loader standing in
   * for the SQL Server driver, which no test here can start -- is cached (the key holds it afterwards); so is
   * {@code WITH (READUNCOMMITTED)}. Deterministic; the harm itself (a rolled-back row served) needs SQL Server.
   *
   * <p>Once fixed: such reads are read past the cache, as a locking read is.
   */
  @Test
  void aReadWithADirtyReadTableHintIsNotCached() {
    for (String hint : List.of("NOLOCK", "READUNCOMMITTED")) {
      Query query = Query.sql("SELECT name FROM users WITH (" + hint + ") WHERE id = 1");
      List<String> rows = executor.execute(query, () -> List.of("uncommitted-name"));
      assertThat(rows).containsExactly("uncommitted-name");
      // The cache holds nothing at all (keyOf cannot name the key of READUNCOMMITTED, which JSqlParser cannot read).
      assertThat(cache.estimatedL1Size()).as("entries cached by a read WITH (%s)", hint).isZero();
    }
  }
}
