package dev.tiercache.redis;

import static org.assertj.core.api.Assertions.assertThat;

import io.lettuce.core.cluster.SlotHash;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Issue 11 (Redis Cluster spread): a cache's bucket tags are chosen so bucket {@code i} of {@code N} sits in slot
 * range {@code [i * 16384 / N, (i + 1) * 16384 / N)}, and they never change for a given cache name and N: other JVMs
 * and later versions must find the same keys.
 */
class KeySpaceTest {

  /**
   * The tags of cache "users" with the default 48 Cluster buckets. If this fails, the key layout changed: every
   * deployed cache would lose its data and, worse, instances of two versions would not see each other's
   * invalidations. Change it only together with the README's upgrade note.
   */
  private static final List<String> USERS_48 = List.of(
      "users#0.30", "users#1.19", "users#2.61", "users#3.62", "users#4.3", "users#5.59", "users#6.61", "users#7.48",
      "users#8.163", "users#9.60", "users#10.19", "users#11.23", "users#12.16", "users#13.5", "users#14.21",
      "users#15.26", "users#16.49", "users#17.73", "users#18.10", "users#19.22", "users#20.63", "users#21.60",
      "users#22.3", "users#23.31", "users#24.60", "users#25.41", "users#26.1", "users#27.6", "users#28.169",
      "users#29.30", "users#30.13", "users#31.167", "users#32.132", "users#33.41", "users#34.40", "users#35.72",
      "users#36.43", "users#37.8", "users#38.45", "users#39.42", "users#40.61", "users#41.40", "users#42.70",
      "users#43.59", "users#44.0", "users#45.3", "users#46.27", "users#47.19");

  @Test
  void theTagsOfACacheAreGoldenValues() {
    List<String> tags = new ArrayList<>();
    for (int i = 0; i < 48; i++) {
      tags.add(KeySpace.tag("users", i, 48));
    }
    assertThat(tags).isEqualTo(USERS_48);
    assertThat(RedisTierOptions.DEFAULT_CLUSTER_BUCKETS).isEqualTo(48);
    KeySpace space = new KeySpace("tiercache", 48);
    assertThat(space.clock("users", 8)).isEqualTo("tiercache:{users#8.163}:m:clock");
    assertThat(space.entryPrefix("users", 44)).isEqualTo("tiercache:{users#44.0}:k:");
    assertThat(new KeySpace("tiercache", 1).entry("users", "u:1")).isEqualTo("tiercache:{users}:k:u:1");
  }

  @Test
  void everyBucketSitsInItsOwnSlotRange() {
    for (String cache : List.of("users", "a", "orders.v2", "ç-ü", "x".repeat(200))) {
      for (int buckets : new int[] {2, 3, 5, 16, 48, 64, 100, 1024}) {
        KeySpace space = new KeySpace("tiercache", buckets);
        for (int i = 0; i < buckets; i++) {
          String tag = KeySpace.tag(cache, i, buckets);
          int slot = SlotHash.getSlot(space.clock(cache, i));
          assertThat(slot)
              .as("bucket %d of %d of '%s' (tag %s)", i, buckets, cache, tag)
              .isGreaterThanOrEqualTo(i * 16_384 / buckets)
              .isLessThan((i + 1) * 16_384 / buckets);
          // Everything of a bucket is in one slot: its entries, its meta keys, its leases.
          assertThat(SlotHash.getSlot(space.entryPrefix(cache, i) + "some:key")).isEqualTo(slot);
          assertThat(SlotHash.getSlot(space.metaPrefix(cache, i) + "ts")).isEqualTo(slot);
        }
      }
    }
  }

  @Test
  void theSlotFunctionIsRedisClusters() {
    for (String key : List.of("", "a", "users#0.30", "123456789", "ünïcödé", "tiercache:bus:users")) {
      byte[] bytes = key.getBytes(StandardCharsets.UTF_8);
      assertThat(KeySpace.slot(bytes)).as(key).isEqualTo(SlotHash.getSlot(bytes));
    }
    // The reference value of CRC16/XMODEM, which Redis Cluster uses.
    assertThat(KeySpace.slot("123456789".getBytes(StandardCharsets.UTF_8))).isEqualTo(0x31C3 % 16_384);
  }

  @Test
  void aScanFindsOnlyEntryKeysOfTheCurrentLayout() {
    KeySpace space = new KeySpace("tiercache", 48);
    String entry = space.entry("users", "u:1");
    assertThat(space.keyOf("users", entry)).isEqualTo("u:1");
    assertThat(space.keyOf("users", "tiercache:{users#8.163}:k:x")).isEqualTo("x");
    assertThat(space.keyOf("users", "tiercache:{users#3}:k:old")).as("the previous layout").isNull();
    assertThat(space.keyOf("users", "tiercache:{users#3.0}:k:x")).as("not bucket 3's tag").isNull();
    assertThat(space.keyOf("users", "tiercache:{users#48.0}:k:x")).as("no bucket 48").isNull();
    assertThat(space.keyOf("users", "tiercache:{users#99999999999}:k:x")).isNull();
    assertThat(space.keyOf("users", space.clock("users", 1))).as("a meta key").isNull();
    assertThat(space.keyOf("user", entry)).as("another cache").isNull();
    assertThat(new KeySpace("tiercache", 1).keyOf("users", "tiercache:{users}:k:u:1")).isEqualTo("u:1");
  }

  @Test
  void keysSpreadEvenlyOverTheBuckets() {
    KeySpace space = new KeySpace("tiercache", 48);
    int[] perBucket = new int[48];
    for (int i = 0; i < 48_000; i++) {
      perBucket[space.bucketOf("key:" + i)]++;
    }
    for (int count : perBucket) {
      assertThat(count).isBetween(800, 1200);
    }
  }
}
