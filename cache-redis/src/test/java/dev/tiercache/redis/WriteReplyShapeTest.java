package dev.tiercache.redis;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The write script's reply (clock, time, positions written) decoded twice into one output, as a replay after a cut
 * reply leaves it (see RedisMgetReplayTest), must not be read as another key written or a refused write landed.
 */
class WriteReplyShapeTest {

  private static final long CLOCK = 1_700_000_000_000_000L;

  @Test
  void theScriptsOwnAnswersPass() {
    assertThatCode(() -> TierWrites.checkShape(List.of(CLOCK, CLOCK), 1)).doesNotThrowAnyException();
    assertThatCode(() -> TierWrites.checkShape(List.of(CLOCK, CLOCK, 1L), 1)).doesNotThrowAnyException();
    assertThatCode(() -> TierWrites.checkShape(List.of(CLOCK, CLOCK, 1L, 3L), 3)).doesNotThrowAnyException();
  }

  @Test
  void twoAnswersInOneListAreRefused() {
    // A refused write's partial answer, then the replayed run's "written".
    assertThatThrownBy(() -> TierWrites.checkShape(List.of(CLOCK, CLOCK, CLOCK + 1, CLOCK + 1, 1L), 1))
        .isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> TierWrites.checkShape(List.of(CLOCK, CLOCK + 1, CLOCK + 1), 1))
        .isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> TierWrites.checkShape(List.of(CLOCK, CLOCK, 2L, 1L), 3))
        .isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> TierWrites.checkShape(List.of(CLOCK), 1)).isInstanceOf(IllegalStateException.class);
  }
}
