package dev.tiercache.redis;

import dev.tiercache.redis.testing.RedisExtension;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/** {@link ClusterSpreadCheck} on six masters, the target. */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class RedisClusterSixMasterSpreadTest extends ClusterSpreadCheck {

  @RegisterExtension static final RedisExtension REDIS = RedisExtension.cluster(6);

  @Override
  RedisExtension redis() {
    return REDIS;
  }
}
