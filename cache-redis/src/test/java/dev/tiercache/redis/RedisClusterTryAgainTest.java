package dev.tiercache.redis;

import static dev.tiercache.redis.StoreKit.entry;
import static dev.tiercache.redis.StoreKit.join;
import static dev.tiercache.redis.StoreKit.uniqueName;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.tiercache.Invalidation;
import dev.tiercache.InvalidationPendingException;
import dev.tiercache.Tags;
import dev.tiercache.TieredCache;
import dev.tiercache.codec.ValueCodecs;
import dev.tiercache.redis.testing.RedisExtension;
import dev.tiercache.spi.L2Read;
import dev.tiercache.spi.L2Write;
import io.lettuce.core.RedisClient;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.SlotHash;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntSupplier;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * A bucket's slot migrated key by key ({@link SlotMigration}) while two tiers on separate clients use it: the writer
 * writes and invalidates, the reader reads and writes back. While the slot is half-moved, the source answers ASK for
 * a command whose keys it lacks and the target, after ASKING, runs a command whose keys it has all; a script that
 * runs there sees the bucket's other state keys as absent, not as elsewhere. Nothing may then pass an invalidation
 * that returned before the migration began.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class RedisClusterTryAgainTest {

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

  /** Moves the clock, the floors, gmax and the key's entry; the tag epochs (g, gx) stay on the source. */
  private static void moveAllButTheEpochs(SlotMigration migration, Bucket bucket, String key) {
    List<String> moving = bucket.meta("clock", "floor", "wfloor", "gmax", "maxttl");
    moving.add(bucket.entry(key));
    migration.move(moving);
    assertThat(migration.keysOnSource()).contains(bucket.meta + "g");
  }

  /**
   * Waits until {@code count} has grown by {@code writes}, or the writer ended: the migration advances with the
   * writer's traffic, not with a guessed pause.
   */
  private static void awaitWrites(int writes, IntSupplier count, Future<?> writer) {
    int seen = count.getAsInt();
    await().atMost(Duration.ofSeconds(10)).until(() -> count.getAsInt() >= seen + writes || writer.isDone());
  }

  /** The keys of one bucket of a cache, as strings. */
  private record Bucket(String meta, String entryPrefix, int slot) {
    static Bucket of(String cache, String key) {
      KeySpace space = new KeySpace(RedisTierOptions.DEFAULT_NAMESPACE, RedisTierOptions.DEFAULT_CLUSTER_BUCKETS);
      CacheKeyBytes.Bucket bytes = new CacheKeyBytes(space).of(cache)[space.bucketOf(key)];
      return new Bucket(new String(bytes.metaPrefix(), StandardCharsets.UTF_8),
          new String(bytes.entryPrefix(), StandardCharsets.UTF_8), SlotHash.getSlot(bytes.clock()));
    }

    List<String> meta(String... names) {
      List<String> keys = new ArrayList<>();
      for (String name : names) {
        keys.add(meta + name);
      }
      return keys;
    }

    String entry(String key) {
      return entryPrefix + key;
    }
  }

  @Test
  void aReadTheImportingNodeServesDoesNotPassATagEpochStillOnTheSource() throws Exception {
    String cache = uniqueName("tryagain-read");
    String key = "k";
    Bucket bucket = Bucket.of(cache, key);
    try (RedisTier writer = RedisTier.create(writerClient);
        RedisTier reader = RedisTier.create(readerClient).alwaysMgetFirst()) {
      join(writer.put(cache, key, entry("old", "t"), TTL));
      assertThat(text(join(reader.get(cache, key)))).isEqualTo("old");
      join(writer.invalidateTag(cache, "t"));
      assertThat(join(reader.get(cache, key)).isHit()).as("after the tag invalidation").isFalse();

      SlotMigration migration = SlotMigration.begin(admin, REDIS.uris().get(0), bucket.slot());
      try {
        moveAllButTheEpochs(migration, bucket, key);

        assertNotServed(reader.get(cache, key), "get while half-migrated");
        assertNotServed(reader.getAll(cache, List.of(key)).thenApply(m -> m.get(key)), "getAll while half-migrated");
      } finally {
        migration.finish();
      }
      assertThat(join(reader.get(cache, key)).isHit()).as("after the migration").isFalse();
    }
  }

  @Test
  void aWriteBackTheImportingNodeRunsIsRefusedByATagEpochStillOnTheSource() throws Exception {
    String cache = uniqueName("tryagain-write");
    String key = "k";
    Bucket bucket = Bucket.of(cache, key);
    try (RedisTier writer = RedisTier.create(writerClient);
        RedisTier reader = RedisTier.create(readerClient)) {
      join(writer.put(cache, key, entry("old", "t"), TTL));
      long read = join(reader.get(cache, key)).version(); // the read before a load of the old row
      join(writer.invalidateTag(cache, "t"));

      SlotMigration migration = SlotMigration.begin(admin, REDIS.uris().get(0), bucket.slot());
      try {
        moveAllButTheEpochs(migration, bucket, key);

        CompletableFuture<Collection<String>> late =
            reader.putIfCurrent(cache, Map.of(key, new L2Write(entry("old", "t"), read)), TTL);
        Collection<String> written = outcome(late);
        assertThat(written).as("a load that read before the tag invalidation, written back while half-migrated")
            .isNullOrEmpty();
      } finally {
        migration.finish();
      }
      assertThat(join(reader.get(cache, key)).isHit()).as("after the migration").isFalse();
    }
  }

  /**
   * Two caches on separate clients: A changes the database, then invalidates (by key, tag, prefix and pattern) and
   * puts while the bucket's slot is half-moved; B reads. Every call returns within the L2 timeout and a margin; what Redis
   * refused is reported pending and lands once the slot is stable (moved on, or moved back), after which neither B's
   * L1 nor the L2 holds an old value; the bucket's clock never goes back.
   */
  @ParameterizedTest(name = "moved {0}, then {1}")
  @CsvSource({"nothing, finish", "clock, finish", "entries, finish", "clock, abort", "entries, abort"})
  void invalidationsRedisRefusesWhileTheSlotMovesArePendingAndLandOnceItIsStable(String moved, String end)
      throws Exception {
    String cache = uniqueName("tryagain-cache");
    KeySpace space = new KeySpace(RedisTierOptions.DEFAULT_NAMESPACE, RedisTierOptions.DEFAULT_CLUSTER_BUCKETS);
    int b = space.bucketOf("k0");
    List<String> keys = new ArrayList<>(); // by key, by tag, by prefix, put, getAll by tag (two), by pattern
    for (String stem : List.of("k", "t", "p/", "w", "g", "h", "q/")) {
      for (int i = 0; ; i++) {
        if (space.bucketOf(stem + i) == b) {
          keys.add(stem + i);
          break;
        }
      }
    }
    String byKey = keys.get(0);
    String byTag = keys.get(1);
    String byPrefix = keys.get(2);
    String put = keys.get(3);
    List<String> bulk = keys.subList(4, 6);
    Bucket bucket = Bucket.of(cache, byKey);
    Map<String, String> db = new ConcurrentHashMap<>();
    keys.forEach(k -> db.put(k, "old " + k));

    try (RedisTier tierA = RedisTier.create(writerClient);
        RedisTier tierB = RedisTier.create(readerClient);
        TieredCache<String, String> a = cacheOn(cache, tierA);
        TieredCache<String, String> b2 = cacheOn(cache, tierB)) {
      for (String k : keys) {
        boolean untagged = k.equals(byKey) || k.equals(byPrefix) || k.startsWith("q/");
        a.put(k, db.get(k), untagged ? Tags.empty() : Tags.of("t"));
      }
      for (String k : List.of(byKey, byTag, byPrefix, put, keys.get(6))) {
        assertThat(b2.get(k, db::get)).isEqualTo("old " + k);
      }
      String clockBefore = clockOf(bucket);

      SlotMigration migration = SlotMigration.begin(admin, REDIS.uris().get(0), bucket.slot());
      boolean stable = false;
      try {
        switch (moved) {
          case "clock" -> migration.move(bucket.meta("clock"));
          case "entries" -> migration.move(keys.stream().map(bucket::entry).toList());
          default -> { }
        }
        keys.forEach(k -> db.put(k, "new " + k));
        List<Boolean> pending = new ArrayList<>();
        pending.add(bounded(() -> a.invalidate(Invalidation.key(byKey))));
        pending.add(bounded(() -> a.invalidate(Invalidation.tag("t"))));
        pending.add(bounded(() -> a.invalidate(Invalidation.prefix("p/"))));
        pending.add(bounded(() -> a.put(put, db.get(put))));
        pending.add(bounded(() -> a.invalidate(Invalidation.pattern("q/*"))));
        assertThat(pending).as("what Redis refused while the slot moves is reported pending").containsOnly(true);
        assertThat(a.status().pendingInvalidations()).isPositive();
        for (String k : keys) {
          assertThat(a.get(k, db::get)).as("A reads its own invalidation, " + k).isEqualTo("new " + k);
        }
        if (!moved.equals("nothing")) {
          // B has not read these: its read goes to the L2, whose MGET spans both nodes and is refused.
          Map<String, String> read = timed(() -> b2.getAll(bulk, missing -> {
            Map<String, String> loaded = new java.util.HashMap<>();
            missing.forEach(k -> loaded.put(k, db.get(k)));
            return loaded;
          }));
          assertThat(read).as("B's getAll while half-migrated")
              .containsExactlyInAnyOrderEntriesOf(Map.of(bulk.get(0), "new " + bulk.get(0), bulk.get(1),
                  "new " + bulk.get(1)));
        }
      } finally {
        if (end.equals("finish")) {
          migration.finish();
        } else {
          migration.abort();
        }
        stable = true;
      }
      assertThat(stable).isTrue();
      await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(20))
          .until(() -> a.status().pendingInvalidations() == 0);
      // Applied and announced: B's L1 drops what it held (within the delivery of one message), and the L2 answers
      // no key with its old value.
      await().atMost(Duration.ofSeconds(3)).pollInterval(Duration.ofMillis(20))
          .until(() -> keys.stream().allMatch(k -> ("new " + k).equals(b2.get(k, db::get))));
      for (String k : keys) {
        L2Read l2 = join(tierB.get(cache, k));
        assertThat(text(l2)).as("the L2's " + k + " after the slot is stable").isIn(null, "new " + k);
        assertThat(b2.get(k, db::get)).as("B's " + k).isEqualTo("new " + k);
      }
      assertThat(end.equals("finish") ? migration.keysOnSource() : migration.keysOnTarget())
          .as("nothing left behind on the node that gave the slot up").isEmpty();
      assertThat(Long.parseLong(clockOf(bucket))).as("the bucket's clock")
          .isGreaterThan(Long.parseLong(clockBefore));
    }
  }

  /**
   * A bucket whose slot moves refuses every script (TRYAGAIN) while Redis is healthy: those refusals do not open the
   * circuit breaker, which would stop every other bucket's reads and turn their invalidations pending too.
   */
  @Test
  void refusalsOfAMovingBucketLeaveTheOtherBucketsWorking() throws Exception {
    String cache = uniqueName("tryagain-breaker");
    KeySpace space = new KeySpace(RedisTierOptions.DEFAULT_NAMESPACE, RedisTierOptions.DEFAULT_CLUSTER_BUCKETS);
    String moving = "k0";
    String other = "k1";
    for (int i = 1; space.bucketOf(other) == space.bucketOf(moving); i++) {
      other = "k" + i;
    }
    Bucket bucket = Bucket.of(cache, moving);
    try (RedisTier tier = RedisTier.create(writerClient);
        TieredCache<String, String> a = cacheOn(cache, tier)) {
      a.put(moving, "old");
      a.put(other, "old");
      SlotMigration migration = SlotMigration.begin(admin, REDIS.uris().get(0), bucket.slot());
      try {
        for (int i = 0; i < 20; i++) {
          String key = moving;
          assertThat(bounded(() -> a.invalidate(Invalidation.key(key)))).as("refused, so pending").isTrue();
        }
        assertThat(a.status().l2Circuit()).as("the breaker after 20 refusals").isEqualToIgnoringCase("closed");
        String key = other;
        assertThat(bounded(() -> a.invalidate(Invalidation.key(key)))).as("another bucket's invalidation pending")
            .isFalse();
      } finally {
        migration.finish();
      }
      await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(20))
          .until(() -> a.status().pendingInvalidations() == 0);
    }
  }

  /**
   * The bucket's slot moves one key at a time (each {@code MIGRATE} of one key, then the slot is given to the target)
   * while A, on its own thread, changes the database and invalidates key after key (or puts), and B, on another,
   * reads through its cache and through the L2 alone. An L2 read B begins after one of A's changes returned never
   * answers that key with an older value; what was pending lands once the slot is stable, after which B serves only
   * the last values.
   */
  @Test
  void aSlotMovedKeyByKeyUnderTrafficServesNothingAReturnedInvalidationCovered() throws Exception {
    String cache = uniqueName("tryagain-traffic");
    List<String> keys = SlotMigration.keysInTheBucketOfK0(12);
    Bucket bucket = Bucket.of(cache, keys.get(0));
    Map<String, Integer> db = new ConcurrentHashMap<>();
    // The round of each key's last change that returned normally, and when (nanoTime).
    Map<String, long[]> settled = new ConcurrentHashMap<>();
    keys.forEach(k -> {
      db.put(k, 0);
      settled.put(k, new long[] {0, System.nanoTime()});
    });
    List<String> violations = java.util.Collections.synchronizedList(new ArrayList<>());
    java.util.concurrent.atomic.AtomicBoolean moving = new java.util.concurrent.atomic.AtomicBoolean(true);
    AtomicInteger returned = new AtomicInteger();
    AtomicInteger pendingCount = new AtomicInteger();

    try (RedisTier tierA = RedisTier.create(writerClient);
        RedisTier tierB = RedisTier.create(readerClient);
        TieredCache<String, String> a = cacheOn(cache, tierA);
        TieredCache<String, String> b2 = cacheOn(cache, tierB)) {
      java.util.function.Function<String, String> load = k -> k + "@" + db.get(k);
      for (String k : keys) {
        a.put(k, load.apply(k), Tags.of("t"));
        b2.get(k, load);
      }
      java.util.concurrent.ExecutorService threads = java.util.concurrent.Executors.newFixedThreadPool(2);
      try {
        Future<?> writer = threads.submit(() -> {
          for (int round = 1; round <= 400 && moving.get(); round++) {
            String k = keys.get(round % keys.size());
            db.put(k, round);
            boolean asPut = round % 3 == 0;
            try {
              timed(() -> {
                if (asPut) {
                  a.put(k, load.apply(k), Tags.of("t"));
                } else {
                  a.invalidate(Invalidation.key(k));
                }
                return null;
              });
              settled.put(k, new long[] {round, System.nanoTime()});
              returned.incrementAndGet();
            } catch (InvalidationPendingException e) {
              pendingCount.incrementAndGet();
            }
          }
        });
        Future<?> reader = threads.submit(() -> {
          for (int i = 0; i < 100_000 && moving.get(); i++) {
            String k = keys.get(i % keys.size());
            long[] before = settled.get(k);
            CompletableFuture<L2Read> read = tierB.get(cache, k);
            L2Read answer;
            try {
              answer = read.get(5, TimeUnit.SECONDS);
            } catch (ExecutionException e) {
              continue; // refused while the slot moves: B goes to the loader
            } catch (Exception e) {
              violations.add("L2 read of " + k + " hung or was interrupted: " + e);
              return;
            }
            String value = text(answer);
            if (value != null && Integer.parseInt(value.substring(value.indexOf('@') + 1)) < before[0]) {
              violations.add(k + ": the L2 answered " + value + " after round " + before[0] + " returned");
            }
            timed(() -> b2.get(k, load));
          }
        });
        SlotMigration migration = SlotMigration.begin(admin, REDIS.uris().get(0), bucket.slot());
        try {
          for (int step = 0; step < 200; step++) {
            List<String> left = migration.keysOnSource();
            if (left.isEmpty()) {
              break;
            }
            migration.move(List.of(left.get(0)));
            // One more attempt, returned or pending, between two steps.
            awaitWrites(1, () -> returned.get() + pendingCount.get(), writer);
          }
        } finally {
          migration.finish();
        }
        awaitWrites(3, returned::get, writer); // changes that return on the stable slot too
        moving.set(false);
        writer.get(30, TimeUnit.SECONDS);
        reader.get(30, TimeUnit.SECONDS);
      } finally {
        moving.set(false);
        threads.shutdownNow();
        assertThat(threads.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
      }
      assertThat(violations).isEmpty();
      assertThat(pendingCount.get()).as("changes refused while the slot moved").isPositive();
      assertThat(returned.get()).as("changes that returned").isPositive();
      await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(20))
          .until(() -> a.status().pendingInvalidations() == 0);
      await().atMost(Duration.ofSeconds(3)).pollInterval(Duration.ofMillis(20))
          .until(() -> keys.stream().allMatch(k -> load.apply(k).equals(b2.get(k, load))));
      for (String k : keys) {
        assertThat(text(join(tierB.get(cache, k)))).as("the L2's " + k).isIn(null, load.apply(k));
      }
    }
  }

  private static TieredCache<String, String> cacheOn(String name, RedisTier tier) {
    return TieredCache.<String, String>builder(name)
        .keyCodec(k -> k)
        .valueCodec(ValueCodecs.string())
        .l2(tier)
        .l2RetryInterval(Duration.ofMillis(100))
        .build();
  }

  /** The bucket's clock, read from whichever master answers for it (following a MOVED by hand). */
  private static String clockOf(Bucket bucket) {
    try (io.lettuce.core.cluster.api.StatefulRedisClusterConnection<String, String> connection =
        writerClient.connect()) {
      writerClient.refreshPartitions();
      return connection.sync().get(bucket.meta + "clock");
    }
  }

  /** Runs a change; true when it threw InvalidationPendingException, false when it returned. Fails if it hung. */
  private static boolean bounded(Runnable change) {
    try {
      timed(() -> {
        change.run();
        return null;
      });
      return false;
    } catch (InvalidationPendingException e) {
      return true;
    }
  }

  /** The call's answer; fails if it took longer than the L2 timeout (250 ms) and a generous margin. */
  private static <T> T timed(Supplier<T> call) {
    long start = System.nanoTime();
    try {
      return call.get();
    } finally {
      long tookMs = (System.nanoTime() - start) / 1_000_000;
      assertThat(tookMs).as("how long the call took (ms)").isLessThan(2_000);
    }
  }

  /** What a call answered, or null when it failed (a refusal the caller sees as an error). */
  private static <T> T outcome(CompletableFuture<T> call) throws InterruptedException {
    try {
      return call.get(10, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      return null;
    } catch (java.util.concurrent.TimeoutException e) {
      throw new AssertionError("the call hung", e);
    }
  }

  private static void assertNotServed(CompletableFuture<L2Read> read, String when) throws InterruptedException {
    L2Read answer = outcome(read);
    if (answer != null) {
      assertThat(answer.isHit() ? text(answer) : null).as(when).isNull();
    }
  }

  private static String text(L2Read read) {
    return read.isHit() ? new String(read.entry().value(), StandardCharsets.UTF_8) : null;
  }
}
