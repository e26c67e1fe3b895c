package dev.tiercache.query;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tiercache.TieredCache;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Review (s14, round 3): SqlText's key normalisation (282fac2 reworked which texts are "only trimmed" because
 * "databases disagree on where its literals end") does not know Oracle's alternative quoting {@code q'[...]'}
 * (also {@code q'{...}'}, {@code q'<...>'}, {@code Q'!...!'}, {@code nq'...'}), inside which a single quote does not
 * end the literal. SqlText takes {@code q'[it'} for a literal and collapses the whitespace after it, which Oracle
 * reads as part of the literal. The executor already targets Oracle elsewhere (DBMS_RANDOM, SYS_CONTEXT volatile).
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class QuoteKeyReviewTest {

  private final TieredCache<String, QueryResult> cache =
      TieredCache.<String, QueryResult>builder("quote-key-review").build();

  @AfterEach
  void close() {
    cache.close();
  }

  /**
   * Breaks: QueryKeys/SqlText: "normalising must never make two different statements one" (no two different queries
   * share a key). How: {@code ... WHERE name = q'[it's  x]'} (two spaces) and {@code q'[it's x]'} (one) are
   * different statements on Oracle (different literals) but get one key, so the second is served the first's
   * cached rows. JSqlParser parses both, so both are cached. Deterministic.
   *
   * <p>Once fixed: their keys differ (text with {@code q'}/{@code Q'} only trimmed, as with {@code $} or {@code \}).
   */
  @Test
  void oracleAlternativeQuotesDifferingOnlyInsideTheLiteralGetTwoKeys() {
    CachedQueryExecutor executor = CachedQueryExecutor.builder(cache).build();
    for (List<String> pair : List.of(
        List.of("SELECT id FROM users WHERE name = q'[it's  x]'", "SELECT id FROM users WHERE name = q'[it's x]'"),
        List.of("SELECT id FROM users WHERE name = Q'{a'  '}'", "SELECT id FROM users WHERE name = Q'{a' '}'"))) {
      assertThat(executor.keyOf(Query.sql(pair.get(0))))
          .as("keys of %s and %s", pair.get(0), pair.get(1))
          .isNotEqualTo(executor.keyOf(Query.sql(pair.get(1))));
    }
  }

  /**
   * Breaks: the same guarantee, with SQL Server's bracketed identifiers, which SqlText does not skip either: in
   * {@code SELECT [a'], '  ' AS [b'] FROM t} SQL Server reads the identifiers {@code [a']}, {@code [b']} and the
   * literal {@code '  '}; SqlText pairs the quotes the other way and collapses the literal's two spaces, so the
   * statement selecting {@code ' '} shares its key. Deterministic; a quote inside a bracketed name is rare.
   */
  @Test
  void bracketedIdentifiersHoldingAQuoteDoNotMergeTwoLiterals() {
    CachedQueryExecutor executor = CachedQueryExecutor.builder(cache).build();
    String two = "SELECT [a'], '  ' AS [b'] FROM t";
    String one = "SELECT [a'], ' ' AS [b'] FROM t";
    assertThat(executor.keyOf(Query.sql(two).tables("t")))
        .as("keys of %s and %s", two, one)
        .isNotEqualTo(executor.keyOf(Query.sql(one).tables("t")));
  }
}
