package dev.tiercache.redis;

import static dev.tiercache.redis.StoreKit.entry;
import static dev.tiercache.redis.StoreKit.join;
import static dev.tiercache.redis.StoreKit.uniqueName;
import static org.assertj.core.api.Assertions.assertThat;

import dev.tiercache.TieredCache;
import dev.tiercache.codec.ValueCodecs;
import dev.tiercache.redis.testing.RedisExtension;
import dev.tiercache.spi.L2Read;
import io.lettuce.core.cluster.RedisClusterClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Review of the MGET read path on a Redis Cluster of three masters and the default 48 buckets: each bucket's MGET is
 * routed to the master of its slot (Lettuce's dispatch, by the first key), and getAll over all buckets, some settled
 * by their MGET and some by the script, answers per key what the script alone answers.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class RedisClusterMgetReadTest {

  @RegisterExtension static final RedisExtension REDIS = RedisExtension.cluster(3);

  private static final Duration TTL = Duration.ofMinutes(5);

  private static RedisClusterClient client;
  private static RedisTier writer;
  private static RedisTier reader;

  @BeforeAll
  static void connect() {
    client = RedisClusterClient.create(REDIS.uris());
    writer = RedisTier.create(client);
    reader = RedisTier.create(client).alwaysMgetFirst();
  }

  @AfterAll
  static void disconnect() {
    reader.close();
    writer.close();
    client.shutdown();
  }

  @Test
  void getAllOverEveryBucketOfEveryMasterAnswersWhatTheScriptAnswers() {
    String cache = uniqueName("cluster-mget");
    List<String> keys = new ArrayList<>();
    for (int i = 0; i < 200; i++) {
      keys.add("k" + i);
      join(writer.put(cache, "k" + i, entry("v" + i, i % 2 == 0 ? "even" : "odd"), TTL));
    }
    join(writer.invalidateTag(cache, "even"));
    join(writer.invalidatePrefix(cache, "k1"));
    for (int i = 0; i < 200; i += 3) {
      join(writer.put(cache, "k" + i, entry("w" + i, "even"), TTL));
    }

    Map<String, L2Read> all = join(reader.getAll(cache, keys));

    assertThat(all.keySet()).containsExactlyElementsOf(keys);
    int hits = 0;
    for (String key : keys) {
      int i = Integer.parseInt(key.substring(1));
      boolean expected = i % 3 == 0 || (i % 2 == 1 && !key.startsWith("k1"));
      assertThat(all.get(key).isHit()).as(key).isEqualTo(expected);
      assertThat(all.get(key).isHit()).as(key + " by the script")
          .isEqualTo(join(reader.getByScript(cache, key)).isHit());
      assertThat(join(reader.get(cache, key)).isHit()).as(key + " alone").isEqualTo(expected);
      hits += expected ? 1 : 0;
    }
    assertThat(hits).isGreaterThan(60);
  }

  /**
   * The cache reads a batch by position, the tier groups positions by bucket and issues one MGET per bucket: every
   * value must come back at its own key, whatever the order given, with a key given twice, and with keys the L2
   * misses spread over the buckets.
   */
  @Test
  void aCacheGetAllOverEveryBucketAnswersEachKeyWithItsOwnValue() {
    String cache = uniqueName("cluster-cache-getall");
    try (TieredCache<String, String> writes =
            TieredCache.<String, String>builder(cache).l2(writer).valueCodec(ValueCodecs.string()).build();
        TieredCache<String, String> reads =
            TieredCache.<String, String>builder(cache)
                .l1(l1 -> l1.maximumSize(0))
                .l2(reader)
                .valueCodec(ValueCodecs.string())
                .build()) {
      List<String> keys = new ArrayList<>();
      for (int i = 0; i < 300; i++) {
        keys.add("u" + i);
        if (i % 5 != 0) {
          writes.put("u" + i, "v" + i);
        }
      }
      java.util.Collections.shuffle(keys, new java.util.Random(7));
      keys.add(keys.get(3));
      List<java.util.Set<String>> asked = new ArrayList<>();

      Map<String, String> all = reads.getAll(keys, missing -> {
        asked.add(java.util.Set.copyOf(missing));
        Map<String, String> loaded = new java.util.HashMap<>();
        missing.forEach(k -> loaded.put(k, "loaded " + k));
        return loaded;
      });

      assertThat(all.keySet()).containsExactlyElementsOf(keys.subList(0, 300));
      all.forEach((k, v) -> {
        int i = Integer.parseInt(k.substring(1));
        assertThat(v).as(k).isEqualTo(i % 5 == 0 ? "loaded " + k : "v" + i);
      });
      assertThat(asked).hasSize(1);
      assertThat(asked.get(0)).hasSize(60).allMatch(k -> Integer.parseInt(k.substring(1)) % 5 == 0);
    }
  }
}
