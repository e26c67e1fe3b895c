package dev.tiercache.redis;

import static dev.tiercache.redis.StoreKit.entry;
import static dev.tiercache.redis.StoreKit.join;
import static dev.tiercache.redis.StoreKit.uniqueName;
import static org.assertj.core.api.Assertions.assertThat;

import dev.tiercache.redis.testing.RedisExtension;
import dev.tiercache.spi.L2Entry;
import dev.tiercache.spi.L2Read;
import dev.tiercache.spi.L2Write;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Review s8-review2: one exhausted bucket on a Redis Cluster of three masters (48 buckets, each on its own slot):
 * a getAll over every bucket misses exactly the exhausted bucket's keys on the MGET path and the script alike, a
 * write-back over every bucket lands everywhere but there, a tag invalidation over every bucket covers both, and the
 * other buckets' clocks stay healthy.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class RedisClusterExhaustedBucketTest {

  @RegisterExtension static final RedisExtension REDIS = RedisExtension.cluster(3);

  private static final Duration TTL = Duration.ofMinutes(5);
  private static final long LARGEST = SeenVersions.MAX_VERSION;

  private static RedisClusterClient client;
  private static StatefulRedisClusterConnection<String, String> plain;
  private static RedisTier writer;
  private static RedisTier reader;

  @BeforeAll
  static void connect() {
    client = RedisClusterClient.create(REDIS.uris());
    plain = client.connect();
    writer = RedisTier.create(client);
    reader = RedisTier.create(client).alwaysMgetFirst();
  }

  @AfterAll
  static void disconnect() {
    reader.close();
    writer.close();
    plain.close();
    client.shutdown();
  }

  private static String text(L2Read read) {
    return read.entry() == null ? null : new String(read.entry().value(), StandardCharsets.UTF_8);
  }

  @Test
  void oneExhaustedBucketAmongHealthyOnes() {
    String cache = uniqueName("cluster-end");
    KeySpace keys = new KeySpace("tiercache", RedisTierOptions.DEFAULT_CLUSTER_BUCKETS);
    List<String> all = new ArrayList<>();
    for (int i = 0; i < 200; i++) {
      all.add("k" + i);
      join(writer.put(cache, "k" + i, entry("v" + i, "t"), TTL));
    }
    int ended = keys.bucketOf("k0");
    plain.sync().set(keys.clock(cache, ended), Long.toString(LARGEST));

    Map<String, L2Read> first = join(reader.getAll(cache, all));
    int inEnded = 0;
    for (String key : all) {
      boolean exhausted = keys.bucketOf(key) == ended;
      inEnded += exhausted ? 1 : 0;
      assertThat(first.get(key).isHit()).as("%s (bucket %d)", key, keys.bucketOf(key)).isEqualTo(!exhausted);
      assertThat(join(reader.getByScript(cache, key)).isHit()).as("%s by the script", key).isEqualTo(!exhausted);
      if (exhausted) {
        assertThat(first.get(key).version()).isEqualTo(LARGEST);
      }
    }
    assertThat(inEnded).isPositive();

    join(writer.invalidateTag(cache, "t"));
    Map<String, L2Read> second = join(reader.getAll(cache, all));
    assertThat(second.values()).allSatisfy(read -> assertThat(read.isHit()).isFalse());

    Map<String, L2Write> back = new HashMap<>();
    for (String key : all) {
      back.put(key, new L2Write(entry("w" + key.substring(1)), second.get(key).version()));
    }
    List<String> written = new ArrayList<>(join(writer.putIfCurrent(cache, back, TTL)));
    assertThat(written).allSatisfy(k -> assertThat(keys.bucketOf(k)).isNotEqualTo(ended));
    assertThat(written).hasSize(all.size() - inEnded);

    Map<String, L2Read> third = join(reader.getAll(cache, all));
    for (String key : all) {
      boolean exhausted = keys.bucketOf(key) == ended;
      assertThat(text(third.get(key))).as(key).isEqualTo(exhausted ? null : "w" + key.substring(1));
    }
    for (int b = 0; b < keys.buckets(); b++) {
      String clock = plain.sync().get(keys.clock(cache, b));
      if (b == ended) {
        assertThat(clock).isEqualTo(Long.toString(LARGEST));
      } else if (clock != null) {
        assertThat(Long.parseLong(clock)).as("bucket %d", b).isLessThan(LARGEST - 1_000_000);
      }
    }
  }
}
