package dev.tiercache.redis;

import static org.assertj.core.api.Assertions.assertThat;

import io.lettuce.core.cluster.SlotHash;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Issue 11 (Redis Cluster spread): a cache's bucket tags are chosen so bucket {@code i} of {@code N} sits in the
 * middle half of slot range {@code [i * 16384 / N, (i + 1) * 16384 / N)}, and they never change for a given cache
 * name and N: other JVMs and later versions must find the same keys.
 */
class KeySpaceTest {

  /**
   * The tags of cache "users" with the default 48 Cluster buckets. If this fails, the key layout changed: every
   * deployed cache would lose its data and, worse, instances of two versions would not see each other's
   * invalidations. Change it only together with the README's upgrade note.
   */
  private static final List<String> USERS_48 = List.of(
      "users#0.34", "users#1.19", "users#2.248", "users#3.66", "users#4.7", "users#5.59", "users#6.65", "users#7.48",
      "users#8.167", "users#9.60", "users#10.19", "users#11.23", "users#12.131", "users#13.5", "users#14.21",
      "users#15.124", "users#16.49", "users#17.73", "users#18.333", "users#19.26", "users#20.67", "users#21.173",
      "users#22.18", "users#23.35", "users#24.99", "users#25.41", "users#26.35", "users#27.141", "users#28.334",
      "users#29.30", "users#30.17", "users#31.170", "users#32.136", "users#33.41", "users#34.44", "users#35.123",
      "users#36.43", "users#37.8", "users#38.49", "users#39.42", "users#40.61", "users#41.157", "users#42.70",
      "users#43.245", "users#44.0", "users#45.3", "users#46.30", "users#47.162");

  @Test
  void theTagsOfACacheAreGoldenValues() {
    List<String> tags = new ArrayList<>();
    for (int i = 0; i < 48; i++) {
      tags.add(KeySpace.tag("users", i, 48));
    }
    assertThat(tags).isEqualTo(USERS_48);
    assertThat(RedisTierOptions.DEFAULT_CLUSTER_BUCKETS).isEqualTo(48);
    KeySpace space = new KeySpace("tiercache", 48);
    assertThat(space.clock("users", 8)).isEqualTo("tiercache:{users#8.167}:m:clock");
    assertThat(space.entryPrefix("users", 44)).isEqualTo("tiercache:{users#44.0}:k:");
    assertThat(new KeySpace("tiercache", 1).entry("users", "u:1")).isEqualTo("tiercache:{users}:k:u:1");
  }

  @Test
  void everyBucketSitsInTheMiddleOfItsOwnSlotRange() {
    for (String cache : List.of("users", "a", "orders.v2", "ç-ü", "x".repeat(200))) {
      for (int buckets : new int[] {2, 3, 5, 16, 48, 64, 100, 1024}) {
        KeySpace space = new KeySpace("tiercache", buckets);
        for (int i = 0; i < buckets; i++) {
          String tag = KeySpace.tag(cache, i, buckets);
          int slot = SlotHash.getSlot(space.clock(cache, i));
          int start = i * 16_384 / buckets;
          int end = (i + 1) * 16_384 / buckets;
          assertThat(slot)
              .as("bucket %d of %d of '%s' (tag %s): in the middle half of its range", i, buckets, cache, tag)
              .isGreaterThanOrEqualTo(start + (end - start) / 4)
              .isLessThan(end - (end - start) / 4);
          // Everything of a bucket is in one slot: its entries, its meta keys, its leases.
          assertThat(SlotHash.getSlot(space.entryPrefix(cache, i) + "some:key")).isEqualTo(slot);
          assertThat(SlotHash.getSlot(space.metaPrefix(cache, i) + "ts")).isEqualTo(slot);
        }
      }
    }
  }

  @Test
  void mastersThatSplitTheSlotsEvenlyHoldEvenSharesOfTheBuckets() {
    for (String cache : List.of("users", "orders", "spread-1f2e3d")) {
      // 48 buckets on 6 masters: 8 each, however the slots were rounded (ours, and redis-cli --cluster create's).
      assertThat(bucketsPerMaster(cache, 48, redisCliSplit(6))).containsOnly(8);
      assertThat(bucketsPerMaster(cache, 48, evenSplit(6))).containsOnly(8);
      assertThat(bucketsPerMaster(cache, 48, redisCliSplit(3))).containsOnly(16);
      // Masters that do not divide the buckets: a partial range at each end, so less than two buckets from even.
      for (int masters : new int[] {5, 7, 9, 10}) {
        double even = 48.0 / masters;
        assertThat(bucketsPerMaster(cache, 48, redisCliSplit(masters)))
            .as("%d masters", masters)
            .allSatisfy(n -> assertThat(Math.abs(n - even)).isLessThan(2));
      }
    }
  }

  /** The first slot of each master, as the fixture slices them. */
  private static int[] evenSplit(int masters) {
    int[] first = new int[masters];
    for (int m = 0; m < masters; m++) {
      first[m] = m * 16_384 / masters;
    }
    return first;
  }

  /** The first slot of each master, as redis-cli --cluster create slices them (rounding a running float sum). */
  private static int[] redisCliSplit(int masters) {
    int[] first = new int[masters];
    double perMaster = 16_384.0 / masters;
    double cursor = 0;
    int next = 0;
    for (int m = 0; m < masters; m++) {
      first[m] = next;
      next = (int) Math.round(cursor + perMaster - 1) + 1;
      cursor += perMaster;
    }
    return first;
  }

  private static List<Integer> bucketsPerMaster(String cache, int buckets, int[] firstSlots) {
    int[] count = new int[firstSlots.length];
    for (int i = 0; i < buckets; i++) {
      int slot = KeySpace.slot(KeySpace.tag(cache, i, buckets).getBytes(StandardCharsets.UTF_8));
      int master = firstSlots.length - 1;
      while (firstSlots[master] > slot) {
        master--;
      }
      count[master]++;
    }
    return Arrays.stream(count).boxed().toList();
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
    assertThat(space.keyOf("users", "tiercache:{users#8.167}:k:x")).isEqualTo("x");
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
