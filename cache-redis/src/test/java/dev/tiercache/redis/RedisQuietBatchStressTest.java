package dev.tiercache.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tiercache.Invalidation;
import dev.tiercache.Tags;
import dev.tiercache.TieredCache;
import dev.tiercache.codec.ValueCodecs;
import dev.tiercache.redis.testing.RedisExtension;
import io.lettuce.core.RedisClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Review 13 of add6668: {@code getAll} through an L1 that keeps nothing checks its L2 hits with one
 * {@code InvalidationLog.quietSince} for the batch. Real threads on a real Redis: one writer puts every key and then
 * invalidates them (key by key, tag, prefix, pattern, everything, asynchronously), and readers check each getAll
 * against what had returned before it began (DESIGN.md invariant 1): no value written before a put of its key or an
 * invalidation covering it that returned before the read began.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class RedisQuietBatchStressTest {

  @RegisterExtension static final RedisExtension REDIS = RedisExtension.standalone();

  private static final int KEYS = 8;
  private static final int ROUNDS = 3_000;
  private static final long MAX_NANOS = TimeUnit.SECONDS.toNanos(20);

  private final ExecutorService pool = Executors.newCachedThreadPool();
  private RedisClient client;
  private RedisTier tier;
  private TieredCache<String, String> cache;

  @AfterEach
  void close() throws Exception {
    pool.shutdownNow();
    pool.awaitTermination(10, TimeUnit.SECONDS);
    if (cache != null) {
      cache.close();
    }
    if (tier != null) {
      tier.close();
    }
    if (client != null) {
      client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
  }

  @Test
  void aGetAllBegunAfterAnInvalidationOrPutReturnedNeverReturnsWhatItCovered() throws Exception {
    client = RedisClient.create(REDIS.uri());
    tier = RedisTier.create(client);
    String name = "quiet-" + Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 1);
    cache = TieredCache.<String, String>builder(name)
        .keyCodec(k -> k)
        .l1(l1 -> l1.maximumSize(0))
        .l2(tier)
        .valueCodec(ValueCodecs.string())
        .l2Timeout(Duration.ofSeconds(5))
        .build();
    List<String> keys = new ArrayList<>();
    for (int k = 0; k < KEYS; k++) {
      keys.add("u:" + k);
    }
    List<Consumer<TieredCache<String, String>>> invalidations = List.of(
        c -> keys.forEach(k -> c.invalidate(Invalidation.key(k))),
        c -> c.invalidate(Invalidation.tag("t")),
        c -> c.invalidate(Invalidation.prefix("u:")),
        c -> c.invalidate(Invalidation.pattern("u:*")),
        c -> c.invalidate(Invalidation.all()),
        c -> c.invalidateAsync(Invalidation.tag("t")).join());

    // Round n writes "w<n>" to every key, then invalidates them all: invalidated = n once that returned.
    AtomicInteger invalidated = new AtomicInteger();
    AtomicIntegerArray put = new AtomicIntegerArray(KEYS);
    AtomicBoolean stop = new AtomicBoolean();
    ConcurrentLinkedQueue<String> violations = new ConcurrentLinkedQueue<>();
    AtomicLong writtenHits = new AtomicLong();
    AtomicLong reads = new AtomicLong();
    long deadline = System.nanoTime() + MAX_NANOS;

    Future<?> writer = pool.submit(() -> {
      try {
        for (int n = 1; n <= ROUNDS && System.nanoTime() < deadline && violations.isEmpty(); n++) {
          for (int k = 0; k < KEYS; k++) {
            cache.put(keys.get(k), "w" + n, Tags.of("t"));
            put.set(k, n);
          }
          invalidations.get(n % invalidations.size()).accept(cache);
          invalidated.set(n);
        }
      } finally {
        stop.set(true);
      }
    });
    List<Future<?>> readers = new ArrayList<>();
    for (int r = 0; r < 2; r++) {
      readers.add(pool.submit(() -> {
        AtomicInteger loaded = new AtomicInteger();
        for (int i = 0; i < 1_000_000 && !stop.get() && System.nanoTime() < deadline; i++) {
          int before = invalidated.get();
          int[] putBefore = new int[KEYS];
          for (int k = 0; k < KEYS; k++) {
            putBefore[k] = put.get(k);
          }
          Map<String, String> got = cache.getAll(keys, wanted -> {
            Map<String, String> m = new HashMap<>();
            wanted.forEach(k -> m.put(k, "L" + loaded.incrementAndGet()));
            return m;
          });
          reads.incrementAndGet();
          for (int k = 0; k < KEYS; k++) {
            String v = got.get(keys.get(k));
            if (v != null && v.startsWith("w")) {
              writtenHits.incrementAndGet();
              int n = Integer.parseInt(v.substring(1));
              if (n <= before || n < putBefore[k]) {
                violations.add(keys.get(k) + "=" + v + " read after round " + before + "'s invalidation and put "
                    + putBefore[k] + " returned");
              }
            }
          }
        }
      }));
    }
    writer.get(60, TimeUnit.SECONDS);
    for (Future<?> reader : readers) {
      reader.get(60, TimeUnit.SECONDS);
    }
    assertThat(violations).as("stale values read (of %d getAlls)", reads.get()).isEmpty();
    assertThat(reads.get()).as("the readers ran").isPositive();
    assertThat(writtenHits.get()).as("the L2 served written values (the batch check ran on hits)").isPositive();
  }
}
