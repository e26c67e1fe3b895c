package dev.tiercache.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tiercache.Invalidation;
import dev.tiercache.TieredCache;
import dev.tiercache.codec.ValueCodecs;
import dev.tiercache.redis.testing.RedisExtension;
import dev.tiercache.testkit.ExpiryBacklog;
import io.lettuce.core.RedisClient;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.cumulative.CumulativeCounter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Review 13 of e631cdd on a real Redis: node B's L1 (with a TTL) holds many entries that all expired; node A
 * invalidates one key. B applies it on the thread that receives it (Lettuce's event loop, or the bus's delivery
 * thread), and since e631cdd Caffeine's upkeep runs there too: it expires the whole backlog on that thread, one
 * eviction-listener call each, while the bus's later messages and heartbeat echoes wait. The expiry belongs on the
 * pool, as it was before.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class RedisDeliveredExpiryStallTest {

  @RegisterExtension static final RedisExtension REDIS = RedisExtension.standalone();

  private static final int ENTRIES = 50_000;

  private final List<AutoCloseable> open = new ArrayList<>();

  /** Counts evictions per thread name (the L1's eviction listener counts cache.evictions). */
  private final Map<String, LongAdder> evictionsByThread = new ConcurrentHashMap<>();

  private final SimpleMeterRegistry registry = new SimpleMeterRegistry() {
    @Override
    protected Counter newCounter(Meter.Id id) {
      if (!id.getName().equals("cache.evictions")) {
        return super.newCounter(id);
      }
      return new CumulativeCounter(id) {
        @Override
        public void increment(double amount) {
          evictionsByThread.computeIfAbsent(Thread.currentThread().getName(), t -> new LongAdder()).increment();
          super.increment(amount);
        }
      };
    }
  };

  @AfterEach
  void close() throws Exception {
    for (int i = open.size() - 1; i >= 0; i--) {
      open.get(i).close();
    }
  }

  private TieredCache<String, String> node(String name, AtomicLong ticker) {
    RedisClient client = RedisClient.create(REDIS.uri());
    open.add(() -> client.shutdown(Duration.ZERO, Duration.ofSeconds(2)));
    RedisTier tier = RedisTier.create(client);
    open.add(tier::close);
    var builder = TieredCache.<String, String>builder(name)
        .keyCodec(k -> k)
        .l2(tier)
        .valueCodec(ValueCodecs.string());
    if (ticker != null) {
      builder.l1(l1 -> l1.maximumSize(1_000_000).expireAfterWrite(Duration.ofMinutes(1)))
          .ticker(ticker::get)
          .meterRegistry(registry);
    }
    TieredCache<String, String> cache = builder.build();
    open.add(cache::close);
    return cache;
  }

  @Test
  void anExpiredBacklogIsNotExpiredOnTheThreadThatDeliversAnotherNodesInvalidation() {
    String name = "stall-" + Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 1);
    AtomicLong now = new AtomicLong(1);
    TieredCache<String, String> b = node(name, now);
    TieredCache<String, String> a = node(name, null);
    ExpiryBacklog.fill(b, ENTRIES);
    assertThat(b.estimatedL1Size()).isEqualTo(ENTRIES);
    now.addAndGet(TimeUnit.MINUTES.toNanos(2));
    evictionsByThread.clear();

    a.invalidate(Invalidation.key("k7"));

    // Expired somewhere, at last (the removal schedules Caffeine's upkeep).
    Awaitility.await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(20))
        .until(() -> b.estimatedL1Size() < ENTRIES / 2);
    Map<String, Long> byThread = new HashMap<>();
    evictionsByThread.forEach((thread, count) -> byThread.put(thread, count.sum()));
    // The removed key itself had expired: Caffeine counts its removal as an eviction on the delivering thread.
    long offPool = byThread.entrySet().stream()
        .filter(e -> !e.getKey().startsWith("ForkJoinPool.commonPool"))
        .mapToLong(Map.Entry::getValue)
        .sum();
    assertThat(offPool)
        .as("evictions off the pool (evictions per thread: %s)", byThread)
        .isLessThanOrEqualTo(1);
  }
}
