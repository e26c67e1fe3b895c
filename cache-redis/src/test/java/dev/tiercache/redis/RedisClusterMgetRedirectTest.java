package dev.tiercache.redis;

import static dev.tiercache.redis.StoreKit.entry;
import static dev.tiercache.redis.StoreKit.join;
import static dev.tiercache.redis.StoreKit.uniqueName;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tiercache.redis.testing.RedisExtension;
import dev.tiercache.spi.L2Read;
import io.lettuce.core.RedisClient;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.SlotHash;
import java.nio.charset.StandardCharsets;
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
 * Review 15: a read's {@code MGET} (written by {@link MgetArgs}, which Lettuce encodes again for every redirection)
 * while its bucket's slot moves to another master and the client's topology is stale (Lettuce's default options
 * reload nothing on their own): the source answers {@code ASK} while the slot migrates and {@code MOVED} once it
 * moved, Lettuce sends the same command to the target (after {@code ASKING} for an ASK), and every key still reads
 * as its own entry.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class RedisClusterMgetRedirectTest {

  @RegisterExtension static final RedisExtension REDIS = RedisExtension.cluster(3);

  private static final Duration TTL = Duration.ofMinutes(5);

  private static RedisClusterClient writerClient;
  private static RedisClusterClient readerClient;
  private static RedisClient admin;

  @BeforeAll
  static void connect() {
    writerClient = RedisClusterClient.create(REDIS.uris());
    readerClient = RedisClusterClient.create(REDIS.uris());
    admin = RedisClient.create();
  }

  @AfterAll
  static void disconnect() {
    readerClient.shutdown();
    writerClient.shutdown();
    admin.shutdown();
  }

  @Test
  void readsOfABucketWhoseSlotMovesAnswerEachKeyWithItsOwnValueThroughAskAndMoved() throws Exception {
    String cache = uniqueName("redirect");
    KeySpace space = new KeySpace(RedisTierOptions.DEFAULT_NAMESPACE, RedisTierOptions.DEFAULT_CLUSTER_BUCKETS);
    int bucket = space.bucketOf("k0");
    List<String> keys = new ArrayList<>(SlotMigration.keysInTheBucketOfK0(12));
    // Non-ASCII keys too: the same bytes must go to the target.
    for (String odd : List.of("ü-1", "日本-2", "😀-3", "x".repeat(200))) {
      for (int i = 0; ; i++) {
        if (space.bucketOf(odd + i) == bucket) {
          keys.add(odd + i);
          break;
        }
      }
    }
    byte[] clock = new CacheKeyBytes(space).of(cache)[bucket].clock();
    int slot = SlotHash.getSlot(clock);

    try (RedisTier writer = RedisTier.create(writerClient);
        RedisTier reader = RedisTier.create(readerClient).alwaysMgetFirst()) {
      join(writer.put(cache, keys.get(0), entry("seed"), TTL));
      join(reader.get(cache, keys.get(0))); // seeds gmax and floor: the entries below are settled by the MGET
      for (String key : keys) {
        join(writer.put(cache, key, entry("value of " + key), TTL));
      }
      assertOwnValues(join(reader.getAll(cache, keys)), keys, "before the move");
      // Lettuce's partitions now name the source for the slot; nothing reloads them (default options).

      SlotMigration migration = SlotMigration.begin(admin, REDIS.uris().get(0), slot);
      String sourceNode = migration.sourceId;
      List<String> inSlot = migration.keysOnSource();
      assertThat(inSlot).isNotEmpty();
      migration.move(inSlot);

      // Migrating: the source has none of the keys and answers ASK; the target serves them after ASKING.
      String clockKey = new String(clock, StandardCharsets.UTF_8);
      assertThatThrownBy(() -> migration.onSource(c -> c.mget(clockKey)))
          .hasMessageStartingWith("ASK " + slot);
      assertOwnValues(join(reader.getAll(cache, keys)), keys, "while migrating (ASK)");
      for (String key : keys) {
        assertOwnValue(join(reader.get(cache, key)), key, "get while migrating (ASK)");
      }

      migration.finish();

      // Moved: the source answers MOVED, Lettuce sends the same command to the target.
      assertThatThrownBy(() -> migration.onSource(c -> c.mget(clockKey)))
          .hasMessageStartingWith("MOVED " + slot);
      assertOwnValues(join(reader.getAll(cache, keys)), keys, "after the move (MOVED)");
      for (String key : keys) {
        assertOwnValue(join(reader.get(cache, key)), key, "get after the move (MOVED)");
      }
      // The reader still routes the slot to the source: every read above was redirected.
      assertThat(readerClient.getPartitions().getPartitionBySlot(slot).getNodeId()).isEqualTo(sourceNode);
    }
  }

  private static void assertOwnValues(Map<String, L2Read> reads, List<String> keys, String when) {
    assertThat(reads.keySet()).as(when).containsExactlyInAnyOrderElementsOf(keys);
    for (String key : keys) {
      assertOwnValue(reads.get(key), key, when);
    }
  }

  private static void assertOwnValue(L2Read read, String key, String when) {
    assertThat(read.isHit()).as(key + " " + when).isTrue();
    assertThat(new String(read.entry().value(), StandardCharsets.UTF_8)).as(key + " " + when)
        .isEqualTo("value of " + key);
  }
}
