package dev.tiercache.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tiercache.InvalidationPendingException;
import dev.tiercache.TieredCache;
import dev.tiercache.codec.ValueCodecs;
import dev.tiercache.redis.testing.RedisExtension;
import io.lettuce.core.RedisClient;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Writers' inline upkeep (49c5f01) under the key's lock and stripe, while Lettuce's event loop delivers the other
 * instance's invalidations of the same keys (taking their stripes and running the upkeep inline too), in two instances
 * whose tiny L1s evict on almost every write: every thread finishes a fixed amount of work (no deadlock), and after
 * the last write each key reads the value its last write left in the L2.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class RedisWriterUpkeepDeliveryTest {

  @RegisterExtension static final RedisExtension REDIS = RedisExtension.standalone();

  private static final int KEYS = 64;
  private static final int OPS = 1_500;

  @Test
  void writersAndDeliveredInvalidationsOfTwoInstancesNeverBlockEachOther() throws Exception {
    String name = StoreKit.uniqueName("upkeepdelivery");
    List<RedisClient> clients = List.of(RedisClient.create(REDIS.uri()), RedisClient.create(REDIS.uri()));
    List<RedisTier> tiers = new ArrayList<>();
    List<TieredCache<String, String>> caches = new ArrayList<>();
    try {
      for (RedisClient client : clients) {
        RedisTier tier = RedisTier.create(client);
        tiers.add(tier);
        caches.add(TieredCache.<String, String>builder(name).keyCodec(k -> k).l2(tier)
            .valueCodec(ValueCodecs.string()).l1(l1 -> l1.maximumSize(4)).build());
      }
      AtomicReference<Throwable> failure = new AtomicReference<>();
      CountDownLatch finished = new CountDownLatch(8);
      List<Thread> threads = new ArrayList<>();
      for (int t = 0; t < 8; t++) {
        TieredCache<String, String> cache = caches.get(t % 2);
        Thread thread = new Thread(() -> {
          try {
            ThreadLocalRandom random = ThreadLocalRandom.current();
            for (int i = 0; i < OPS; i++) {
              String key = "k" + random.nextInt(KEYS);
              try {
                switch (random.nextInt(4)) {
                  case 0 -> cache.invalidateKey(key);
                  case 1 -> cache.getIfPresent(key);
                  case 2 -> cache.get(key, k -> "loaded");
                  default -> cache.put(key, "w");
                }
              } catch (InvalidationPendingException e) {
                // Redis slow under the load: the write is retried by the cache.
              }
            }
          } catch (Throwable e) {
            failure.compareAndSet(null, e);
          } finally {
            finished.countDown();
          }
        }, "upkeep-delivery-" + t);
        thread.start();
        threads.add(thread);
      }
      boolean done = finished.await(90, TimeUnit.SECONDS);
      if (!done) {
        StringBuilder dump = new StringBuilder();
        for (ThreadInfo info : ManagementFactory.getThreadMXBean().dumpAllThreads(true, true)) {
          dump.append(info);
        }
        System.out.println(dump);
      }
      assertThat(done).as("every thread finished its work").isTrue();
      assertThat(failure.get()).isNull();
      for (int k = 0; k < KEYS; k++) {
        caches.get(0).put("k" + k, "last");
      }
      for (int k = 0; k < KEYS; k++) {
        assertThat(caches.get(0).getIfPresent("k" + k)).isEqualTo("last");
      }
    } finally {
      caches.forEach(TieredCache::close);
      tiers.forEach(RedisTier::close);
      clients.forEach(c -> c.shutdown(Duration.ZERO, Duration.ofSeconds(2)));
    }
  }
}
