package dev.tiercache.redis.history;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tiercache.redis.history.History.DbWrite;
import dev.tiercache.redis.history.Op.Kind;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The checker itself, on hand-made histories: what is stale must be flagged, what is not must not be. */
class HistoryCheckerTest {

  private static final Duration BOUND = Duration.ofMillis(500);
  private final HistoryChecker checker = new HistoryChecker(BOUND, Duration.ofSeconds(1));
  private final List<Op> ops = new ArrayList<>();
  private final List<DbWrite> writes = new ArrayList<>();

  private static long ms(long millis) {
    return Duration.ofMillis(millis).toNanos();
  }

  /** Key 0 goes to version 2 at 10 ms, then instance 0 invalidates it from 20 to 30 ms. */
  private void keyZeroWrittenAndInvalidatedOnInstanceZero() {
    writes.add(new DbWrite(0, 2, ms(10)));
    ops.add(Op.write(0, 0, ms(20), ms(30), 2, Kind.KEY, new int[] {0}, null));
  }

  private void read(int instance, int key, long startMs, long version) {
    ops.add(Op.read(instance, key, ms(startMs), ms(startMs + 1), version, null, null));
  }

  private final List<History.FaultWindow> faults = new ArrayList<>();

  private Report check() {
    return checker.check("hand-made", new History(3, 2, ops, writes, faults));
  }

  @Test
  void aCleanHistoryIsClean() {
    keyZeroWrittenAndInvalidatedOnInstanceZero();
    read(0, 0, 5, 1); // before the write
    read(0, 0, 25, 1); // concurrent with the invalidation: allowed
    read(0, 0, 31, 2);
    read(1, 0, 200, 1); // another instance, within the bound
    read(1, 0, 600, 2);
    read(2, 1, 900, 1); // another key, never written

    Report report = check();

    assertThat(report.staleSame()).isZero();
    assertThat(report.staleOther()).isZero();
    assertThat(report.stuck()).isZero();
    assertThat(report.worstAge()).isNull();
    assertThat(report.reads()).isEqualTo(6);
    assertThat(report.writes()).isEqualTo(1);
    assertThat(report.readExceptionCount()).isZero();
    assertThat(report.anomalyCount()).isZero();
  }

  @Test
  void anOlderVersionAfterTheInstancesOwnInvalidationIsStaleSame() {
    keyZeroWrittenAndInvalidatedOnInstanceZero();
    read(0, 0, 40, 1);

    Report report = check();

    assertThat(report.staleSame()).isEqualTo(1);
    assertThat(report.staleOther()).isZero();
    assertThat(report.worstAge()).isEqualTo(Duration.ofMillis(10));
    assertThat(report.staleByKind()).containsEntry(Kind.KEY, 1L);
    assertThat(report.examples()).hasSize(1);
  }

  @Test
  void anOlderVersionOnAnotherInstancePastTheBoundIsStaleOther() {
    keyZeroWrittenAndInvalidatedOnInstanceZero();
    read(1, 0, 529, 1); // 499 ms after: within the bound
    read(2, 0, 531, 1); // 501 ms after

    Report report = check();

    assertThat(report.staleSame()).isZero();
    assertThat(report.staleOther()).isEqualTo(1);
    assertThat(report.worstAge()).isEqualTo(Duration.ofMillis(501));
  }

  @Test
  void aWriteWhoseCacheCallThrewDoesNotCount() {
    writes.add(new DbWrite(0, 2, ms(10)));
    ops.add(Op.write(0, 0, ms(20), ms(30), 2, Kind.KEY, new int[] {0}, "InvalidationPendingException"));
    read(0, 0, 40, 1);
    read(1, 0, 900, 1);

    Report report = check();

    assertThat(report.staleSame()).isZero();
    assertThat(report.staleOther()).isZero();
    assertThat(report.writesThrew()).containsEntry(Kind.KEY, 1L);
  }

  @Test
  void writesThatThrowAfterTheFaultEndedShowHowLongHealingTook() {
    faults.add(new History.FaultWindow("frozen", ms(0), ms(100)));
    ops.add(Op.write(0, 0, ms(50), ms(60), 2, Kind.KEY, new int[] {0}, "InvalidationPendingException"));
    ops.add(Op.write(0, 0, ms(400), ms(410), 3, Kind.PUT, new int[] {0}, "InvalidationPendingException"));

    assertThat(check().threwAfterFault()).isEqualTo(Duration.ofMillis(300));
  }

  @Test
  void aPrefixInvalidationSetsAFloorForEveryKeyItCovers() {
    writes.add(new DbWrite(1, 2, ms(5))); // key 1 written earlier, by some write whose cache call is not here
    writes.add(new DbWrite(0, 2, ms(10)));
    ops.add(Op.write(0, 0, ms(20), ms(30), 2, Kind.PREFIX, new int[] {0, 1}, null));
    read(0, 1, 40, 1);

    Report report = check();

    assertThat(report.staleSame()).isEqualTo(1);
    assertThat(report.staleByKind()).containsEntry(Kind.PREFIX, 1L);
  }

  @Test
  void aDatabaseWriteAfterTheInvalidationBeganDoesNotRaiseItsFloor() {
    keyZeroWrittenAndInvalidatedOnInstanceZero();
    writes.add(new DbWrite(0, 3, ms(25))); // a second writer, whose own invalidation has not completed
    read(0, 0, 40, 2);

    assertThat(check().staleSame()).isZero();
  }

  @Test
  void aPutSetsAFloorLikeAnInvalidation() {
    writes.add(new DbWrite(0, 2, ms(10)));
    ops.add(Op.write(1, 0, ms(20), ms(30), 2, Kind.PUT, new int[] {0}, null));
    read(1, 0, 40, 1);
    read(0, 0, 700, 1);

    Report report = check();

    assertThat(report.staleSame()).isEqualTo(1);
    assertThat(report.staleOther()).isEqualTo(1);
    assertThat(report.staleByKind()).containsEntry(Kind.PUT, 2L);
  }

  @Test
  void theEarliestViolatedWriteGivesTheAge() {
    keyZeroWrittenAndInvalidatedOnInstanceZero();
    writes.add(new DbWrite(0, 3, ms(100)));
    ops.add(Op.write(0, 0, ms(110), ms(120), 3, Kind.TAG, new int[] {0}, null));
    read(0, 0, 200, 1); // violates both; the first completed at 30 ms
    read(0, 0, 210, 2); // violates the second only

    Report report = check();

    assertThat(report.staleSame()).isEqualTo(2);
    assertThat(report.worstAge()).isEqualTo(Duration.ofMillis(170));
    assertThat(report.staleByKind()).containsEntry(Kind.KEY, 1L).containsEntry(Kind.TAG, 1L);
  }

  @Test
  void aVersionSupersededLongAgoIsStuckEvenWithoutAnInvalidation() {
    writes.add(new DbWrite(0, 2, ms(10)));
    read(1, 0, 1000, 1);
    read(1, 0, 1020, 1);

    Report report = check();

    assertThat(report.stuck()).isEqualTo(1);
    assertThat(report.staleSame() + report.staleOther()).isZero();
  }

  @Test
  void readExceptionsAndAnomaliesAreCountedNotChecked() {
    ops.add(Op.read(0, 0, ms(1), ms(300), 0, "RedisCommandTimeoutException", null));
    ops.add(Op.read(0, 0, ms(1), ms(2), 0, null, "another key's value"));
    read(0, 0, 3, 7); // never written

    Report report = check();

    assertThat(report.readExceptions()).containsEntry("RedisCommandTimeoutException", 1L);
    assertThat(report.anomalies()).containsEntry("another key's value", 1L).containsEntry("version never written", 1L);
    assertThat(report.readMax()).isEqualTo(Duration.ofMillis(299));
    assertThat(report.reads()).isZero();
  }

  @Test
  void theKeyspaceComputesCoverageFromTheStrings() {
    Keyspace keys = new Keyspace(30);
    assertThat(keys.covered(Kind.PREFIX, 2)).containsExactly(2, 7, 12, 17, 22, 27);
    assertThat(keys.covered(Kind.TAG, 3)).containsExactly(3, 10, 17, 24);
    assertThat(keys.covered(Kind.PATTERN, 17)).containsExactly(7, 17, 27);
    assertThat(keys.covered(Kind.KEY, 4)).containsExactly(4);
    assertThat(Keyspace.globMatches("a*b?c", "axxbyc")).isTrue();
    assertThat(Keyspace.globMatches("a*b?c", "abc")).isFalse();
  }
}
