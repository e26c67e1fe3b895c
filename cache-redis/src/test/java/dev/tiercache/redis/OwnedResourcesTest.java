package dev.tiercache.redis;

import static org.assertj.core.api.Assertions.assertThat;

import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.DefaultClientResources;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The client resources a tier creates for itself ({@link RedisTier#create(io.lettuce.core.RedisURI)}). */
class OwnedResourcesTest {

  @Test
  void recordNoCommandLatencyWhereLettuceWouldByDefault() throws Exception {
    ClientResources lettuceDefault = DefaultClientResources.create();
    ClientResources owned = RedisTier.ownedResources();
    try {
      // Micrometer (optional for users, on this test class path) brings LatencyUtils and HdrHistogram: Lettuce then
      // records every command by default.
      assertThat(lettuceDefault.commandLatencyRecorder().isEnabled()).isTrue();
      assertThat(owned.commandLatencyRecorder().isEnabled()).isFalse();
      assertThat(owned.reconnectDelay().createDelay(1).toMillis()).isLessThanOrEqualTo(1_000);
    } finally {
      lettuceDefault.shutdown(0, 2, TimeUnit.SECONDS).get(10, TimeUnit.SECONDS);
      owned.shutdown(0, 2, TimeUnit.SECONDS).get(10, TimeUnit.SECONDS);
    }
  }
}
