package dev.tiercache.redis;

import dev.tiercache.redis.testing.RedisExtension;
import dev.tiercache.spi.L2Store;
import dev.tiercache.testkit.L2StoreConformanceTest;
import io.lettuce.core.cluster.RedisClusterClient;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The core's L2 contract, run against a real three-master Redis Cluster, with each cache split into buckets that
 * land on different masters.
 */
class RedisClusterConformanceTest extends L2StoreConformanceTest {

  @RegisterExtension static final RedisExtension REDIS = RedisExtension.cluster(3);

  private static RedisClusterClient client;
  private static RedisTier tier;

  @BeforeAll
  static void connect() {
    client = RedisClusterClient.create(REDIS.uris());
    tier = RedisTier.create(client, RedisTierOptions.builder().buckets(8).build());
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
