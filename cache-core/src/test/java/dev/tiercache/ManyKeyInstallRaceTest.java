package dev.tiercache;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tiercache.spi.L2Store;
import dev.tiercache.testkit.InMemoryL2Store;
import dev.tiercache.testkit.TestCodec;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.function.IntPredicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Real threads against the lock-free install check of invalidations that may cover many keys: tag, prefix, pattern,
 * everything and a custom strategy (whose matcher throws for some keys), racing loads (load-then-install) and L2 reads
 * (L2-read-then-L1-fill) of the keys they cover. Over a thousand patterns go by, so the start and end indexes fill up
 * and forget many times while installs and L1 hits read them. Every read must return at least the row's value as of
 * the newest invalidation that had returned when the read began (DESIGN.md invariant 1).
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class ManyKeyInstallRaceTest {

  private static final int KEYS = 8;
  private static final int INVALIDATIONS_PER_THREAD = 20_000;

  /** Covers keys ending with the argument; throws (so covers) for keys ending with "7". */
  static final InvalidationStrategy THROWING_SUFFIX =
      new InvalidationStrategy() {
        @Override
        public String name() {
          return "throwing-suffix";
        }

        @Override
        public EntryMatcher matcher(String argument) {
          return (key, tags) -> {
            if (key.endsWith("7")) {
              throw new IllegalStateException("matcher fails");
            }
            return key.endsWith(argument);
          };
        }

        @Override
        public CompletableFuture<Void> applyTo(L2Store store, String cache, String argument) {
          // Removes at least what the matcher covers (7 included).
          return store.invalidatePattern(cache, "*[" + argument + "7]");
        }
      };

  private final ExecutorService pool = Executors.newFixedThreadPool(6);

  @AfterEach
  void tearDown() {
    pool.shutdownNow();
  }

  private static String key(int row) {
    return "row:" + row;
  }

  private static Tags tags(int row) {
    return Tags.of("parity" + (row % 2));
  }

  @ParameterizedTest(name = "with an L2: {0}")
  @ValueSource(booleans = {false, true})
  void manyKeyInvalidationsThatReturnedAreNeverUndoneByRacingInstalls(boolean withL2) throws Exception {
    TieredCacheBuilder<String, String> builder =
        TieredCache.<String, String>builder("many-race-" + withL2)
            .keyCodec(k -> k)
            .invalidationStrategy(THROWING_SUFFIX);
    if (withL2) {
      builder.l2(new InMemoryL2Store()).valueCodec(TestCodec.STRING);
    }
    Rows rows = new Rows(KEYS);
    AtomicInteger invalidations = new AtomicInteger();
    AtomicInteger loads = new AtomicInteger();
    AtomicInteger reads = new AtomicInteger();
    List<String> violations = Collections.synchronizedList(new ArrayList<>());
    AtomicBoolean running = new AtomicBoolean(true);
    Function<String, String> loader =
        key -> {
          loads.incrementAndGet();
          long row = rows.current(Integer.parseInt(key.substring(4)));
          Thread.yield();
          return Long.toString(row);
        };
    try (TieredCache<String, String> cache = builder.build()) {
      CountDownLatch start = new CountDownLatch(1);
      List<Future<?>> invalidators = new ArrayList<>();
      for (int t = 0; t < 2; t++) {
        int thread = t;
        invalidators.add(pool.submit(() -> {
          Rows.await(start);
          for (int i = 0; i < INVALIDATIONS_PER_THREAD; i++) {
            Invalidation invalidation;
            IntPredicate covered;
            int parity = (i / 7 + thread) % 2;
            int digit = (i + thread) % KEYS;
            switch ((i + thread) % 6) {
              case 0 -> {
                invalidation = Invalidation.tag("parity" + parity);
                covered = row -> row % 2 == parity;
              }
              case 1 -> {
                invalidation = Invalidation.prefix("row:" + digit);
                covered = row -> row == digit;
              }
              case 2, 3 -> {
                // Distinct patterns, so the pattern scan fills and the indexes forget often.
                invalidation = Invalidation.pattern("row:[" + digit + "]" + "*".repeat(1 + i % 3));
                covered = row -> row == digit;
              }
              case 4 -> {
                invalidation = Invalidation.of(THROWING_SUFFIX, Integer.toString(digit));
                covered = row -> row == digit || row == 7;
              }
              default -> {
                invalidation = Invalidation.all();
                covered = row -> true;
              }
            }
            rows.change(covered, () -> cache.invalidate(invalidation));
            invalidations.incrementAndGet();
          }
        }));
      }
      List<Future<?>> readers = new ArrayList<>();
      for (int r = 0; r < 3; r++) {
        int reader = r;
        readers.add(pool.submit(() -> {
          Rows.await(start);
          for (int i = reader; running.get(); i++) {
            int row = (i * 3) % KEYS;
            long floor = rows.floor(row);
            String read = i % 4 == 0 ? cache.getIfPresent(key(row)) : cache.get(key(row), tags(row), loader);
            reads.incrementAndGet();
            if (read != null && Long.parseLong(read) < floor) {
              violations.add("read " + read + " of row " + row + " after an invalidation with floor " + floor);
            }
          }
        }));
      }
      start.countDown();
      for (Future<?> f : invalidators) {
        f.get(150, TimeUnit.SECONDS);
      }
      running.set(false);
      for (Future<?> f : readers) {
        f.get(30, TimeUnit.SECONDS);
      }
      assertThat(violations).as("reads that returned what a returned invalidation covered").isEmpty();
      assertThat(invalidations).hasValue(2 * INVALIDATIONS_PER_THREAD);
      assertThat(reads.get()).isPositive();
      assertThat(loads.get()).isPositive();
      for (int row = 0; row < KEYS; row++) {
        assertThat(cache.get(key(row), tags(row), loader)).isEqualTo(Long.toString(rows.current(row)));
      }
      int before = loads.get();
      for (int row = 0; row < KEYS; row++) {
        assertThat(cache.get(key(row), tags(row), loader)).isEqualTo(Long.toString(rows.current(row)));
      }
      assertThat(loads.get()).as("quiet: all served from the L1").isEqualTo(before);
    }
  }
}
