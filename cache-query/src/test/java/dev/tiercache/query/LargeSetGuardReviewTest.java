package dev.tiercache.query;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tiercache.codec.CodecException;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Review (s14, round 4): {@code ResultGuard.sameMembers}' hash path for sets of more than 32 members (3c1067c:
 * "compares sets of more than 32 members by hash"), against what the small-set path decides for the same members.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class LargeSetGuardReviewTest {

  /** A measure, as {@code rs.getDouble} returns it. */
  record Measure(long id, double value) {}

  /** A row with a set of measures (an aggregated series). */
  record Series(long id, Set<Measure> measures) {}

  /** A line whose identity is its id (equals and hashCode by id, as entities commonly are). */
  record Line(long id, Number amount) {
    @Override
    public boolean equals(Object o) {
      return o instanceof Line other && other.id == id;
    }

    @Override
    public int hashCode() {
      return Long.hashCode(id);
    }
  }

  /** A row with a set of lines. */
  record Order(long id, Set<Line> lines) {}

  private static Series series(int size) {
    Set<Measure> measures = new HashSet<>();
    for (int i = 0; i < size; i++) {
      measures.add(new Measure(i, i == 0 ? -0.0 : i));
    }
    return new Series(1, Set.copyOf(measures));
  }

  private static Order order(int size) {
    Set<Line> lines = new HashSet<>();
    for (int i = 0; i < size; i++) {
      lines.add(new Line(i, (long) i)); // a Long: JSON gives it back as an Integer
    }
    return new Order(1, Set.copyOf(lines));
  }

  /**
   * Breaks: "ResultGuard.sameValue counts -0.0 as 0.0" (3c1067c) and invariant 3 (the cache never makes the
   * application less available than the database), for sets of more than 32 members.
   *
   * <p>How: a row holding a set of records with a {@code double} component, one of them {@code -0.0} (ROUND(-0.4)).
   * JSON gives it back as {@code 0.0}. With 10 members the small-set path compares members with sameValue and
   * accepts the row; with 40 the hash path compares with {@code Set.equals}, i.e. the records' {@code equals}
   * ({@code Double.compare}: -0.0 != 0.0), and the codec throws CodecException "do not come back from JSON as they
   * went in": the same query fails on every call once the series grows past 32 measures.
   */
  @Test
  void aLargeSetHoldingNegativeZeroIsAcceptedAsASmallOneIs() {
    QueryResultCodec codec = QueryResultCodec.json(new ObjectMapper(), Series.class);
    assertThat(catchThrowable(() -> codec.encode(new QueryResult(List.of(series(10)), Long.MAX_VALUE))))
        .as("10 members, one -0.0 (the small-set path)")
        .isNull();
    assertThat(catchThrowable(() -> codec.encode(new QueryResult(List.of(series(40)), Long.MAX_VALUE))))
        .as("40 members, one -0.0 (the hash path)")
        .isNull();
  }

  /**
   * Breaks: the codec's read-back check ("refuses a result that another node would read back as something else: ...
   * a Long there comes back an Integer"; every node must be served what was cached), for sets of more than 32
   * members.
   *
   * <p>How: a row holding a set of records whose equals/hashCode are by id and whose {@code Number amount} holds
   * Longs. With 10 members the codec refuses the row (sameValue compares components: Long vs Integer). With 40 the
   * hash path asks only {@code a.equals(b)} (by id) and that the members' classes match (Line, Line), and accepts it:
   * the bytes go to the L2 and another node is served Integers where the loading node had Longs
   * ({@code (Long) line.amount()} throws ClassCastException there).
   */
  @Test
  void aLargeSetWhoseMembersComeBackChangedIsRefusedAsASmallOneIs() {
    QueryResultCodec codec = QueryResultCodec.json(new ObjectMapper(), Order.class);
    assertThat(catchThrowable(() -> codec.encode(new QueryResult(List.of(order(10)), Long.MAX_VALUE))))
        .as("10 members (the small-set path)")
        .isInstanceOf(CodecException.class);
    Throwable large = catchThrowable(() -> codec.encode(new QueryResult(List.of(order(40)), Long.MAX_VALUE)));
    if (large == null) {
      Order back = (Order) codec.decode(codec.encode(new QueryResult(List.of(order(40)), Long.MAX_VALUE))).rows()
          .get(0);
      Object amount = back.lines().iterator().next().amount();
      assertThat(amount)
          .as("40 members were accepted; what another node is served in place of a Long")
          .isInstanceOf(Long.class);
    }
  }
}
