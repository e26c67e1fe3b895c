package dev.tiercache.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tiercache.TieredCache;
import dev.tiercache.codec.ValueCodecs;
import dev.tiercache.redis.testing.RedisExtension;
import dev.tiercache.redis.testing.RedisNode;
import io.lettuce.core.KeyScanCursor;
import io.lettuce.core.RedisClient;
import io.lettuce.core.ScanArgs;
import io.lettuce.core.ScanCursor;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.cluster.RedisClusterClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * Issue 11 (Redis Cluster spread): one cache with the default Cluster buckets, written through a {@link TieredCache}
 * on a real loopback Redis Cluster, holds 1/masters +- 25 % of its keys on every master. Subclasses register the
 * cluster; the masters own equal slot ranges, as {@code redis-cli --cluster create} would make them.
 */
abstract class ClusterSpreadCheck {

  private static final int KEYS = 6_000;
  private static final int SCAN_COUNT = 1_000;
  private static final int MAX_SCAN_STEPS = 1_000;

  /** The cluster of the subclass, masters only. */
  abstract RedisExtension redis();

  @Test
  void everyMasterHoldsItsShareOfACachesKeys() {
    RedisExtension redis = redis();
    String name = "spread-" + Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 1);
    RedisClusterClient client = RedisClusterClient.create(redis.uris());
    client.setOptions(RedisTier.recommendedClusterClientOptions());
    try (RedisTier tier = RedisTier.create(client);
        TieredCache<String, String> cache =
            TieredCache.<String, String>builder(name)
                .keyCodec(k -> k)
                .l2(tier)
                .valueCodec(ValueCodecs.string())
                // A first script load on a cold cluster may be slow; a write that timed out would be missing.
                .l2Timeout(Duration.ofSeconds(5))
                .build()) {
      List<String> keys = new ArrayList<>();
      for (int i = 0; i < KEYS; i++) {
        keys.add("user:" + i);
        if (keys.size() == 500) {
          write(cache, keys);
          keys.clear();
        }
      }
      write(cache, keys);

      KeySpace space = new KeySpace(RedisTierOptions.DEFAULT_NAMESPACE, RedisTierOptions.DEFAULT_CLUSTER_BUCKETS);
      Map<String, Long> perMaster = entriesPerMaster(redis.nodes(), space.scanPattern(name));
      System.out.printf("%d keys of one cache, %d buckets, %d masters: %s%n",
          KEYS, RedisTierOptions.DEFAULT_CLUSTER_BUCKETS, perMaster.size(), perMaster.values());

      assertThat(perMaster.values().stream().mapToLong(Long::longValue).sum()).as("entries found").isEqualTo(KEYS);
      double share = (double) KEYS / redis.nodes().size();
      assertThat(perMaster).allSatisfy((master, entries) -> assertThat((double) entries)
          .as("entries on %s, of %d over %d masters", master, KEYS, perMaster.size())
          .isBetween(share * 0.75, share * 1.25));
    } finally {
      client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
  }

  private static void write(TieredCache<String, String> cache, List<String> keys) {
    Map<String, String> loaded =
        cache.getAll(keys, missing -> missing.stream().collect(Collectors.toMap(Function.identity(), k -> "v:" + k)));
    assertThat(loaded).hasSize(keys.size());
  }

  /** Counts each master's entry keys of the cache with a bounded SCAN on that node alone (never KEYS). */
  static Map<String, Long> entriesPerMaster(List<RedisNode> masters, String match) {
    Map<String, Long> perMaster = new LinkedHashMap<>();
    RedisClient direct = RedisClient.create();
    try {
      for (RedisNode master : masters) {
        try (StatefulRedisConnection<String, String> connection = direct.connect(master.uri())) {
          long entries = 0;
          ScanArgs args = ScanArgs.Builder.matches(match).limit(SCAN_COUNT);
          ScanCursor cursor = ScanCursor.INITIAL;
          for (int step = 0; !cursor.isFinished(); step++) {
            assertThat(step).as("SCAN steps on " + master).isLessThan(MAX_SCAN_STEPS);
            KeyScanCursor<String> page = connection.sync().scan(cursor, args);
            entries += page.getKeys().size();
            cursor = page;
          }
          perMaster.put(master.toString(), entries);
        }
      }
    } finally {
      direct.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
    return perMaster;
  }
}
