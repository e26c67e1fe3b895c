package dev.tiercache.redis;

import static org.assertj.core.api.Assertions.assertThat;

import io.lettuce.core.ClientOptions;
import io.lettuce.core.protocol.CommandType;
import org.junit.jupiter.api.Test;

/** A tier tells when its client would replay its scripts after a reconnect (see RedisMgetReplayTest for why). */
class ReplayWarningTest {

  @Test
  void lettucesDefaultOptionsReplayAndTheRecommendedOnesDoNot() {
    assertThat(RedisTier.warnIfReplaying(ClientOptions.create())).isTrue();
    assertThat(RedisTier.warnIfReplaying(RedisTier.recommendedClientOptions())).isFalse();
    assertThat(RedisTier.warnIfReplaying(RedisTier.recommendedClusterClientOptions())).isFalse();
  }

  @Test
  void aFilterThatStillReplaysScriptsIsReported() {
    ClientOptions onlyWrites = ClientOptions.builder().replayFilter(c -> c.getType() == CommandType.SET).build();
    assertThat(RedisTier.warnIfReplaying(onlyWrites)).isTrue();
  }

  /**
   * Review 16: the probe command handed to the filter has no arguments and no output, so a filter that reads either
   * (a legitimate one, e.g. replay only small commands) threw a NullPointerException out of RedisTier.create.
   */
  @Test
  void aFilterThatReadsTheCommandsArgumentsOrOutputDoesNotFailTheTier() {
    ClientOptions bySize = ClientOptions.builder().replayFilter(c -> c.getArgs().count() > 100).build();
    assertThat(RedisTier.warnIfReplaying(bySize)).isTrue();
    ClientOptions byOutput =
        ClientOptions.builder().replayFilter(c -> c.getOutput().getClass().getSimpleName().isEmpty()).build();
    assertThat(RedisTier.warnIfReplaying(byOutput)).isTrue();
  }

  /**
   * Review 16: a filter that drops EVALSHA alone still replays EVAL, which the tier sends when the server does not know
   * a script: right after a Redis restart, when connections close and commands are in flight.
   */
  @Test
  void aFilterThatDropsOnlyEvalshaStillReplaysTheEvalFallbackAndIsReported() {
    ClientOptions onlyEvalsha = ClientOptions.builder().replayFilter(c -> c.getType() == CommandType.EVALSHA).build();
    assertThat(RedisTier.warnIfReplaying(onlyEvalsha)).isTrue();
  }
}
