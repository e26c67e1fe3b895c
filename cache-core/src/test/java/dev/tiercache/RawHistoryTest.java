package dev.tiercache;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tiercache.testkit.InMemoryBus;
import dev.tiercache.testkit.InMemoryL2Store;
import dev.tiercache.testkit.TestCodec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A randomized history over the L1 paths where values are kept raw (untagged; no expiry, or a TTL that Caffeine
 * judges) and written by the one-step local put: many fresh caches, so that every one races its first invalidations
 * that may cover many keys against puts, loads and reads; writes of every kind (put, key, prefix, pattern, all) on a
 * versioned "database" whose rows are written under a row lock, as an application must. A read that begins after a
 * write of a row returned never returns an older version of it (DESIGN.md invariant 1, and the README's
 * read-your-invalidation for put).
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class RawHistoryTest {

  private static final int KEYS = 6;
  private static final int CACHES = 150;
  private static final int OPS = 400;

  /** TWO_NODES: writes on one instance, reads on another over one L2 and one bus, which delivers as it publishes. */
  enum Mode { L1_ONLY, L1_WITH_BUS, L1_L2_AND_BUS, ACCESS_EXPIRY, TWO_NODES, TTL_L1_ONLY, TTL_L1_L2_AND_BUS }

  private final ExecutorService pool = Executors.newFixedThreadPool(4);

  @AfterEach
  void tearDown() {
    pool.shutdownNow();
  }

  private static TieredCache<String, String> cache(Mode mode, String name, InMemoryL2Store store, InMemoryBus bus) {
    TieredCacheBuilder<String, String> builder = TieredCache.<String, String>builder(name).keyCodec(k -> k);
    switch (mode) {
      case TWO_NODES -> builder.l1(l1 -> l1.maximumSize(10_000)).l2(store).bus(bus).valueCodec(TestCodec.STRING);
      case L1_ONLY -> builder.l1(l1 -> l1.maximumSize(10_000));
      case L1_WITH_BUS -> builder.l1(l1 -> l1.maximumSize(10_000)).bus(new InMemoryBus());
      case L1_L2_AND_BUS -> builder.l1(l1 -> l1.maximumSize(10_000)).l2(new InMemoryL2Store()).bus(new InMemoryBus())
          .valueCodec(TestCodec.STRING);
      case ACCESS_EXPIRY -> builder.l1(l1 -> l1.maximumSize(10_000).expireAfterAccess(Duration.ofMinutes(5)));
      // Raw values with a TTL that Caffeine judges (L1Tier#rawExpiry), wrapped by reads once a prefix or all began.
      case TTL_L1_ONLY -> builder.l1(l1 -> l1.maximumSize(10_000).expireAfterWrite(Duration.ofMinutes(5)));
      case TTL_L1_L2_AND_BUS -> builder.l1(l1 -> l1.maximumSize(10_000).expireAfterWrite(Duration.ofMinutes(5)))
          .l2(new InMemoryL2Store()).bus(new InMemoryBus()).valueCodec(TestCodec.STRING);
      default -> throw new IllegalArgumentException();
    }
    return builder.build();
  }

  private static long version(String value) {
    return Long.parseLong(value.substring(value.indexOf('@') + 1));
  }

  @ParameterizedTest
  @EnumSource(Mode.class)
  void noReadReturnsARowOlderThanAWriteThatReturnedBeforeItBegan(Mode mode) throws Exception {
    List<String> violations = Collections.synchronizedList(new ArrayList<>());
    for (int c = 0; c < CACHES && violations.isEmpty(); c++) {
      Rows rows = new Rows(KEYS);
      ReentrantLock[] locks = new ReentrantLock[KEYS];
      for (int i = 0; i < KEYS; i++) {
        locks[i] = new ReentrantLock();
      }
      Function<String, String> loader = key -> {
        int row = Integer.parseInt(key.substring(2));
        return key + "@" + rows.current(row);
      };
      InMemoryL2Store store = new InMemoryL2Store();
      InMemoryBus bus = new InMemoryBus();
      String name = "raw-history-" + mode + "-" + c;
      try (TieredCache<String, String> cache = cache(mode, name, store, bus);
          TieredCache<String, String> reader = mode == Mode.TWO_NODES ? cache(mode, name, store, bus) : cache) {
        for (int row = 0; row < KEYS; row += 2) {
          cache.put("k:" + row, "k:" + row + "@" + rows.current(row));
        }
        CountDownLatch start = new CountDownLatch(1);
        AtomicBoolean writing = new AtomicBoolean(true);
        List<Future<?>> readers = new ArrayList<>();
        for (int r = 0; r < 2; r++) {
          readers.add(pool.submit(() -> {
            Rows.await(start);
            ThreadLocalRandom random = ThreadLocalRandom.current();
            while (writing.get()) {
              int row = random.nextInt(KEYS);
              String key = "k:" + row;
              long floor = rows.floor(row);
              int how = random.nextInt(4);
              String read = switch (how) {
                case 0 -> reader.getIfPresent(key);
                case 1 -> reader.getAll(List.of(key, "k:" + ((row + 1) % KEYS)), keys -> {
                  Map<String, String> loaded = new java.util.HashMap<>();
                  keys.forEach(k -> loaded.put(k, loader.apply(k)));
                  return loaded;
                }).get(key);
                default -> reader.get(key, loader);
              };
              if (read != null && version(read) < floor) {
                violations.add(how + ": read " + read + " after a write of version " + floor + " returned");
              }
            }
          }));
        }
        List<Future<?>> writers = new ArrayList<>();
        for (int w = 0; w < 2; w++) {
          writers.add(pool.submit(() -> {
            Rows.await(start);
            ThreadLocalRandom random = ThreadLocalRandom.current();
            for (int op = 0; op < OPS; op++) {
              int row = random.nextInt(KEYS);
              int kind = random.nextInt(6);
              if (kind <= 1) {
                locks[row].lock();
                try {
                  long version = rows.bump(row);
                  cache.put("k:" + row, "k:" + row + "@" + version);
                  rows.settled(row, version);
                } finally {
                  locks[row].unlock();
                }
                continue;
              }
              Invalidation invalidation = switch (kind) {
                case 2 -> Invalidation.key("k:" + row);
                case 3 -> Invalidation.prefix("k:");
                case 4 -> Invalidation.pattern("k:" + row + "*");
                default -> Invalidation.all();
              };
              boolean many = kind == 3 || kind == 5;
              for (int i = 0; i < KEYS; i++) {
                if (many || i == row) {
                  locks[i].lock();
                }
              }
              try {
                rows.change(i -> many || i == row, () -> cache.invalidate(invalidation));
              } finally {
                for (int i = 0; i < KEYS; i++) {
                  if (many || i == row) {
                    locks[i].unlock();
                  }
                }
              }
            }
          }));
        }
        start.countDown();
        for (Future<?> writer : writers) {
          writer.get(60, TimeUnit.SECONDS);
        }
        writing.set(false);
        for (Future<?> running : readers) {
          running.get(60, TimeUnit.SECONDS);
        }
        for (int row = 0; row < KEYS; row++) {
          String read = reader.getIfPresent("k:" + row);
          if (read != null && version(read) < rows.floor(row)) {
            violations.add("quiet read " + read + " below " + rows.floor(row));
          }
        }
      }
    }
    assertThat(violations).isEmpty();
  }
}
