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
}
