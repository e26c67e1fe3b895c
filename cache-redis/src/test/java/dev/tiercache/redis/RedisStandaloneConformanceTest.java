package dev.tiercache.redis;

import dev.tiercache.redis.testing.RedisExtension;
import dev.tiercache.spi.L2Store;
import dev.tiercache.testkit.L2StoreConformanceTest;
import io.lettuce.core.RedisClient;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The core's L2 contract, run against a real standalone Redis. */
class RedisStandaloneConformanceTest extends L2StoreConformanceTest {

  @RegisterExtension static final RedisExtension REDIS = RedisExtension.standalone();

  private static RedisClient client;
  private static RedisTier tier;

  @BeforeAll
  static void connect() {
    client = RedisClient.create(REDIS.uri());
    tier = RedisTier.create(client);
  }

  @AfterAll
  static void disconnect() {
    tier.close();
    client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
  }

  @Override
  protected L2Store store() {
    return tier;
  }
}
