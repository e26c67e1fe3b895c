package dev.tiercache.query;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Review (s14, round 5): {@code ResultGuard.sameMembers} after 179c564 (hash lookup, then a scan of the whole copy
 * for a member whose copy hashes apart).
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class SetScanFallbackReviewTest {

  private static final int SIZE = 20_000;

  /** A measure, as {@code rs.getDouble} returns it. */
  record Measure(long id, double value) {}

  /** A row with a set of measures (an aggregated series). */
  record Series(long id, Set<Measure> measures) {}

  private static Series series(double value) {
    Set<Measure> measures = new HashSet<>();
    for (int i = 0; i < SIZE; i++) {
      measures.add(new Measure(i, value));
    }
    return new Series(1, Set.copyOf(measures));
  }

  /**
   * Encodes, or lets the codec refuse: since the fix, a set with more than 64 members whose copies hash apart counts
   * as changed and is refused (CodecException), in linear time; what this test bounds is the time either way.
   */
  private static long encodeMillis(QueryResultCodec codec, Series row) {
    long start = System.nanoTime();
    try {
      codec.encode(new QueryResult(List.of(row), Long.MAX_VALUE));
    } catch (dev.tiercache.codec.CodecException refused) {
      assertThat(refused).hasMessageContaining("do not come back from JSON as they went in");
    }
    return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
  }

  /**
   * Breaks: 179c564's own reason for the hash lookup ("a scan of every member for every member was quadratic: 4 s
   * for 20,000") and invariant 3 (the cache never makes the application less available than the database): the
   * scan fallback is the same quadratic scan, taken for every member whose copy hashes apart, i.e. every record
   * holding a -0.0 (the case the fallback exists for: ROUND of small negatives, a zero balance stored as -0.0).
   *
   * <p>How: encodes (JSON codec, read-back check) one row holding a set of 20,000 records {@code (id, value)}, once
   * with every value 1.0 (hash path), once with every value -0.0 (JSON gives 0.0 back: each record's hash differs,
   * so each member scans the copy). Expected: the -0.0 set checked in at most 2 s and within 20 times the 1.0 one.
   * Found: 14.0 s against 0.29 s (quadratic); deterministic in kind, the margin is about 2.4 times the bound.
   */
  @Test
  void aLargeSetOfNegativeZeroRecordsIsCheckedInLinearTime() {
    QueryResultCodec codec = QueryResultCodec.json(new ObjectMapper(), Series.class);
    Series plain = series(1.0);
    Series negativeZero = series(-0.0);
    encodeMillis(codec, plain); // warm-up
    long plainMillis = encodeMillis(codec, plain);
    long zeroMillis = encodeMillis(codec, negativeZero);
    assertThat(zeroMillis)
        .as("ms to encode %d members holding -0.0 (%d ms holding 1.0)", SIZE, plainMillis)
        .isLessThanOrEqualTo(Math.max(2_000, 20 * plainMillis));
  }
}
