package dev.tiercache;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tiercache.testkit.InMemoryL2Store;
import dev.tiercache.testkit.TestCodec;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Timeout;

/**
 * Real threads against the striped write path of the {@link InvalidationLog}: exact-key writes ({@code put},
 * {@code invalidateKey}) take only their key's stripe, and installs check invalidations of many keys (tags here)
 * without a lock. Readers load from a "database" whose rows writers bump before they write or invalidate; a write
 * that returned must never be undone by a load that read the row before it (load-then-put), nor by a read of the
 * L2 that raced it (L2-read-then-L1-fill): every read returns at least the row's value as of the newest write that
 * had returned when the read began (DESIGN.md invariant 1).
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class StripedWriteRaceTest {

  /** Rows 0 to 5 are written by two writers, each owning every other row (so puts of one row are not concurrent). */
  private static final int WRITTEN_ROWS = 6;
  /** Rows 6 to 8 change only by the tag invalidator's hand, which bumps them and then invalidates the tag. */
  private static final int KEYS = 9;
  private static final int WRITES_PER_WRITER = 4_000;
  private static final int TAG_INVALIDATIONS = 400;
  private static final String TAG = "all-rows";

  private final ExecutorService pool = Executors.newFixedThreadPool(6);

  @AfterEach
  void tearDown() {
    pool.shutdownNow();
  }

  @ParameterizedTest(name = "with an L2: {0}")
  @ValueSource(booleans = {false, true})
  void writesThatReturnedAreNeverUndoneByRacingLoads(boolean withL2) throws Exception {
    TieredCacheBuilder<String, String> builder =
        TieredCache.<String, String>builder("striped-race-" + withL2).keyCodec(k -> k);
    if (withL2) {
      builder.l2(new InMemoryL2Store()).valueCodec(TestCodec.STRING);
    }
    Rows rows = new Rows(KEYS);
    // The newest value of each row that a write (put, invalidateKey or tag invalidation) made visible and returned.
    AtomicInteger writes = new AtomicInteger();
    AtomicInteger tagInvalidations = new AtomicInteger();
    AtomicInteger loads = new AtomicInteger();
    AtomicInteger reads = new AtomicInteger();
    List<String> violations = java.util.Collections.synchronizedList(new ArrayList<>());
    AtomicBoolean writing = new AtomicBoolean(true);
    Function<String, String> loader =
        key -> {
          loads.incrementAndGet();
          long row = rows.current(index(key));
          // Widens the window between reading the row and installing it, for writers to slip into.
          Thread.yield();
          return Long.toString(row);
        };
    try (TieredCache<String, String> cache = builder.build()) {
      CountDownLatch start = new CountDownLatch(1);
      List<Future<?>> writers = new ArrayList<>();
      for (int w = 0; w < 2; w++) {
        int writer = w;
        writers.add(pool.submit(() -> {
          Rows.await(start);
          for (int i = 0; i < WRITES_PER_WRITER; i++) {
            int row = (i * 2 + writer) % WRITTEN_ROWS;
            String key = "row:" + row;
            long value = rows.bump(row);
            if ((i + writer) % 2 == 0) {
              cache.put(key, Long.toString(value), Tags.of(TAG));
            } else {
              cache.invalidateKey(key);
            }
            rows.settled(row, value);
            writes.incrementAndGet();
            long seen = Long.parseLong(cache.get(key, Tags.of(TAG), loader));
            if (seen < value) {
              violations.add("writer read " + seen + " of " + key + " after writing " + value);
            }
          }
        }));
      }
      writers.add(pool.submit(() -> {
        Rows.await(start);
        for (int i = 0; i < TAG_INVALIDATIONS; i++) {
          // Every entry carries the tag, so this also races the writers' installs; it bumps only its own rows.
          rows.change(row -> row >= WRITTEN_ROWS, () -> cache.invalidate(Invalidation.tag(TAG)));
          tagInvalidations.incrementAndGet();
        }
      }));
      List<Future<?>> readers = new ArrayList<>();
      for (int r = 0; r < 3; r++) {
        int reader = r;
        readers.add(pool.submit(() -> {
          Rows.await(start);
          for (int i = reader; writing.get(); i++) {
            int row = i % KEYS;
            long floor = rows.floor(row);
            String read =
                i % 3 == 0 ? cache.getIfPresent("row:" + row) : cache.get("row:" + row, Tags.of(TAG), loader);
            Long seen = read == null ? null : Long.parseLong(read);
            reads.incrementAndGet();
            if (seen != null && seen < floor) {
              violations.add("reader read " + seen + " of row:" + row + " after a write of " + floor + " returned");
            }
          }
        }));
      }
      start.countDown();
      for (Future<?> writer : writers) {
        writer.get(90, TimeUnit.SECONDS);
      }
      writing.set(false);
      for (Future<?> reader : readers) {
        reader.get(30, TimeUnit.SECONDS);
      }

      assertThat(violations).as("reads that returned what a returned write covered").isEmpty();
      assertThat(writes).hasValue(2 * WRITES_PER_WRITER);
      assertThat(tagInvalidations).hasValue(TAG_INVALIDATIONS);
      assertThat(reads.get()).isPositive();
      assertThat(loads.get()).as("tag invalidations and invalidateKey forced reloads").isPositive();
      // Quiet now: every row reads as the database holds it, from the L1 or by one more load.
      for (int row = 0; row < KEYS; row++) {
        assertThat(cache.get("row:" + row, Tags.of(TAG), loader)).as("row %d", row).isEqualTo(Long.toString(rows.current(row)));
      }
      int before = loads.get();
      for (int row = 0; row < KEYS; row++) {
        assertThat(cache.getIfPresent("row:" + row)).as("row %d stays in the L1", row).isEqualTo(Long.toString(rows.current(row)));
      }
      assertThat(loads.get()).isEqualTo(before);
    }
  }

  private static int index(String key) {
    return Integer.parseInt(key.substring("row:".length()));
  }
}
