package dev.tiercache;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tiercache.codec.ValueCodecs;
import dev.tiercache.spi.L2Read;
import dev.tiercache.testkit.ForwardingL2Store;
import dev.tiercache.testkit.InMemoryBus;
import dev.tiercache.testkit.InMemoryL2Store;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Review (s14, round 5): Loads.loadMissing after 179c564, which re-reads the keys of a bulk load whose conditional
 * write-back the L2 refused, to keep them out of the L1 while the L2 holds a value.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class BulkRefusedReReadReviewTest {

  private static final String NAME = "bulk-refused-reread-review";
  private static final int KEYS = 50;

  private final InMemoryL2Store l2 = new InMemoryL2Store();
  private final InMemoryBus bus = new InMemoryBus();
  private final List<TieredCache<String, String>> caches = new ArrayList<>();

  /** Counts single-key reads. */
  private static final class CountingStore extends ForwardingL2Store {
    final AtomicInteger gets = new AtomicInteger();
    final AtomicInteger getAlls = new AtomicInteger();

    CountingStore(InMemoryL2Store delegate) {
      super(delegate);
    }

    @Override
    public CompletableFuture<L2Read> get(String cache, String key) {
      gets.incrementAndGet();
      return super.get(cache, key);
    }

    @Override
    public CompletableFuture<L2Read[]> getAll(String cache, String[] keys) {
      getAlls.incrementAndGet();
      return super.getAll(cache, keys);
    }
  }

  @AfterEach
  void close() {
    caches.forEach(TieredCache::close);
  }

  private TieredCache<String, String> node(dev.tiercache.spi.L2Store store) {
    TieredCache<String, String> cache =
        TieredCache.<String, String>builder(NAME).bus(bus).l2(store).valueCodec(ValueCodecs.string()).build();
    caches.add(cache);
    return cache;
  }

  /**
   * Breaks: DESIGN.md "bulk getAll(keys, bulkLoader) that costs one L2 round trip" (and invariant 3: a slow Redis
   * bounds a call by its timeout, not by a timeout per key). 179c564's heldByL2(Set) re-reads every refused key
   * with its own L2 get, one after the other: a getAll of N keys whose write-backs were refused costs N more
   * sequential round trips (N timeouts against a slow Redis, until the breaker opens) where one bulk read would do.
   *
   * <p>How: instance A (its store counts calls) runs getAll over 50 keys that miss the L2; its bulk loader, before
   * returning, has instance B put each key (so each conditional write-back of A's is refused and the L2 holds B's
   * value). Counted: A's single-key L2 gets during that getAll. Found 50 (one per key); expected at most one bulk
   * read for the re-check. Deterministic.
   */
  @Test
  void refusedBulkWriteBacksAreReReadInOneRoundTrip() {
    CountingStore counted = new CountingStore(l2);
    TieredCache<String, String> a = node(counted);
    TieredCache<String, String> b = node(l2);
    List<String> keys = new ArrayList<>();
    for (int i = 0; i < KEYS; i++) {
      keys.add("k" + i);
    }
    Map<String, String> got =
        a.getAll(
            keys,
            missing -> {
              Map<String, String> loaded = new HashMap<>();
              for (String k : missing) {
                b.put(k, "b-" + k);
                loaded.put(k, "a-" + k);
              }
              return loaded;
            });
    assertThat(got).hasSize(KEYS);
    int gets = counted.gets.get();
    int getAlls = counted.getAlls.get();
    assertThat(a.getIfPresent("k0")).as("A's L1 does not shadow B's value").isEqualTo("b-k0");
    assertThat(gets)
        .as("single-key L2 gets by A's getAll of %d keys with refused write-backs (bulk reads: %d)", KEYS, getAlls)
        .isLessThanOrEqualTo(1);
  }
}
