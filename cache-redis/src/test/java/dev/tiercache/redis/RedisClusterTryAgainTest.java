package dev.tiercache.redis;

import static dev.tiercache.redis.StoreKit.entry;
import static dev.tiercache.redis.StoreKit.join;
import static dev.tiercache.redis.StoreKit.uniqueName;
import static org.assertj.core.api.Assertions.assertThat;

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
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

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
        // The clock, the floors, gmax and the entry move; the tag epochs (g, gx) stay on the source.
        List<String> moving = bucket.meta("clock", "floor", "wfloor", "gmax", "maxttl");
        moving.add(bucket.entry(key));
        migration.move(moving);
        assertThat(migration.keysOnSource()).contains(bucket.meta + "g");

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
        List<String> moving = bucket.meta("clock", "floor", "wfloor", "gmax", "maxttl");
        moving.add(bucket.entry(key));
        migration.move(moving);
        assertThat(migration.keysOnSource()).contains(bucket.meta + "g");

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
