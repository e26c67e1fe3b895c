package dev.tiercache;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tiercache.spi.L2Store;
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
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * An L1 with no expiry keeps an untagged value raw (no entry around it) until the first invalidation that may cover
 * many keys begins; a raw value stands for an entry checked through 0, so every read after that checks it against all
 * such invalidations before serving it, and wraps it once it passed.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class RawValueTest {

  private static final int KEYS = 4;

  private final ExecutorService pool = Executors.newFixedThreadPool(3);

  @AfterEach
  void tearDown() {
    pool.shutdownNow();
  }

  private static TieredCache<String, String> cache(String name) {
    return TieredCache.<String, String>builder(name).keyCodec(k -> k).l1(l1 -> l1.maximumSize(10_000)).build();
  }

  @Test
  void aRawValueIsCheckedAgainstTheFirstManyKeyInvalidationsAndSurvivesWhatDoesNotCoverIt() {
    AtomicInteger loads = new AtomicInteger();
    Function<String, String> loader = k -> {
      loads.incrementAndGet();
      return "loaded-" + k;
    };
    try (TieredCache<String, String> cache = cache("raw-first")) {
      cache.put("a:1", "put-a1");
      assertThat(cache.get("b:1", loader)).isEqualTo("loaded-b:1");
      cache.invalidate(Invalidation.prefix("a:"));
      assertThat(cache.getIfPresent("a:1")).as("covered by the prefix").isNull();
      assertThat(cache.getIfPresent("b:1")).as("not covered").isEqualTo("loaded-b:1");
      cache.invalidate(Invalidation.pattern("b:*"));
      assertThat(cache.getIfPresent("b:1")).as("wrapped, then covered by a later pattern").isNull();
      cache.put("a:1", "put-again");
      cache.invalidate(Invalidation.tag("t"));
      assertThat(cache.getIfPresent("a:1")).as("an untagged value outlives a tag").isEqualTo("put-again");
      cache.invalidate(Invalidation.all());
      assertThat(cache.getIfPresent("a:1")).isNull();
      assertThat(loads).hasValue(1);
    }
  }

  /**
   * Equal to every other instance, as an entity compared by id is to its newer versions, and, more lenient than any
   * real equals, to the cache's own entries: so that Caffeine's equals-based replace would overwrite whatever a put
   * wrote meanwhile (the wrap must compare identity).
   */
  record Lenient(String version) {
    @Override
    public boolean equals(Object other) {
      return other instanceof Lenient || other instanceof L1Entry;
    }

    @Override
    public int hashCode() {
      return 0;
    }
  }

  @Test
  void aReadThatWrapsARawValueNeverOverwritesAValueWrittenMeanwhile() throws Exception {
    try (TieredCache<String, Lenient> cache = TieredCache.<String, Lenient>builder("raw-wrap").keyCodec(k -> k)
        .invalidationStrategy(LockFreeInstallWindowTest.GATE).build()) {
      cache.put("k", new Lenient("old"));
      // The first invalidation that may cover many keys: a read of the raw value now checks it, and parks in the check.
      cache.invalidate(Invalidation.of(LockFreeInstallWindowTest.GATE, "other"));
      LockFreeInstallWindowTest.inCheck = new CountDownLatch(1);
      LockFreeInstallWindowTest.proceed = new CountDownLatch(1);
      Future<Lenient> read = pool.submit(() -> {
        LockFreeInstallWindowTest.TARGET.set(Thread.currentThread());
        return cache.getIfPresent("k");
      });
      try {
        assertThat(LockFreeInstallWindowTest.inCheck.await(20, TimeUnit.SECONDS)).as("the read reached its check").isTrue();
        cache.put("k", new Lenient("new"));
      } finally {
        LockFreeInstallWindowTest.proceed.countDown();
      }
      assertThat(read.get(20, TimeUnit.SECONDS).version()).as("a read overlapping the put").isIn("old", "new");
      assertThat(cache.getIfPresent("k").version()).as("after the put returned").isEqualTo("new");
    } finally {
      LockFreeInstallWindowTest.TARGET.set(null);
    }
  }

  /** An entity whose equals casts, as many do: it throws when the cache compares it with anything but its kind. */
  record Account(long id, String version) {
    @Override
    public boolean equals(Object other) {
      return id == ((Account) other).id;
    }

    @Override
    public int hashCode() {
      return Long.hashCode(id);
    }
  }

  static final AtomicReference<Thread> READER = new AtomicReference<>();
  static volatile CountDownLatch readerInCheck = new CountDownLatch(0);
  static volatile CountDownLatch released = new CountDownLatch(0);

  /**
   * Covers the key it names; holds every thread but the test's own inside the match until released (the background
   * sweep too, so that it leaves the covered value in place), and says when the reader got there.
   */
  static final InvalidationStrategy HOLD = new InvalidationStrategy() {
    @Override
    public String name() {
      return "hold";
    }

    @Override
    public EntryMatcher matcher(String argument) {
      return (key, tags) -> {
        if (Thread.currentThread() == READER.get()) {
          readerInCheck.countDown();
        }
        if (READER.get() != null && !Thread.currentThread().getName().equals("main")) {
          Rows.await(released);
        }
        return key.equals(argument);
      };
    }

    @Override
    public CompletableFuture<Void> applyTo(L2Store store, String cache, String argument) {
      return store.invalidatePattern(cache, Glob.escape(argument));
    }
  };

  /**
   * A read finds a raw value covered while a put replaces it: the read must remove only that very value, without
   * asking the user's equals (which may throw, or call the newer value equal and so remove what the put wrote).
   */
  @Test
  void aReadThatFindsARawValueCoveredNeverCallsTheValuesEquals() throws Exception {
    readerInCheck = new CountDownLatch(1);
    released = new CountDownLatch(1);
    try (TieredCache<String, Account> cache = TieredCache.<String, Account>builder("raw-equals").keyCodec(k -> k)
        .invalidationStrategy(HOLD).build()) {
      cache.put("k", new Account(1, "old"));
      Future<Account> read;
      try {
        READER.set(new Thread(() -> {}));
        // Covers the raw value; the sweep that would remove it is held in its match.
        cache.invalidate(Invalidation.of(HOLD, "k"));
        read = pool.submit(() -> {
          READER.set(Thread.currentThread());
          return cache.getIfPresent("k");
        });
        assertThat(readerInCheck.await(20, TimeUnit.SECONDS)).as("the read reached its check").isTrue();
        cache.put("k", new Account(1, "new"));
      } finally {
        released.countDown();
      }
      assertThat(read.get(20, TimeUnit.SECONDS)).as("the covered value is a miss").isNull();
      assertThat(cache.getIfPresent("k")).as("what the put wrote").extracting(Account::version).isEqualTo("new");
    } finally {
      READER.set(null);
    }
  }

  @Test
  void rawValuesReadAfterTheIndexForgotAreReloadedNeverServedUnchecked() {
    try (TieredCache<String, String> cache = cache("raw-forgotten")) {
      for (int i = 0; i < 10; i++) {
        cache.put("k" + i, "v" + i);
      }
      // More patterns than the start index scans: it forgets, and what it cannot tell any more counts as covered.
      for (int i = 0; i <= InvalidationIndex.MAX_SCANNED; i++) {
        cache.invalidate(Invalidation.pattern("other:" + i + ":*"));
      }
      AtomicInteger loads = new AtomicInteger();
      for (int i = 0; i < 10; i++) {
        assertThat(cache.get("k" + i, k -> {
          loads.incrementAndGet();
          return "reloaded";
        })).isEqualTo("reloaded");
      }
      assertThat(loads).hasValue(10);
      for (int i = 0; i < 10; i++) {
        assertThat(cache.getIfPresent("k" + i)).as("kept after the reload").isEqualTo("reloaded");
      }
    }
  }

  /**
   * Loads of untagged values race the first prefix invalidations of a fresh cache (half its keys put before), over and
   * over: the installs that read no invalidation yet store raw values while the invalidation begins. A read that begins after an
   * invalidation returned never gets a value it covered.
   */
  @Test
  void rawInstallsRacingTheFirstManyKeyInvalidationNeverServeWhatItCovered() throws Exception {
    int caches = 300;
    List<String> violations = Collections.synchronizedList(new ArrayList<>());
    AtomicInteger invalidations = new AtomicInteger();
    for (int c = 0; c < caches; c++) {
      Rows rows = new Rows(KEYS);
      Function<String, String> loader = key -> {
        long row = rows.current(Integer.parseInt(key.substring(2)));
        Thread.yield();
        return Long.toString(row);
      };
      try (TieredCache<String, String> cache = cache("raw-race-" + c)) {
        for (int row = 0; row < KEYS; row += 2) {
          // Raw from the start; the other keys become raw values by the loads that race the first invalidation.
          cache.put("k:" + row, Long.toString(rows.current(row)));
        }
        CountDownLatch start = new CountDownLatch(1);
        AtomicBoolean invalidating = new AtomicBoolean(true);
        List<Future<?>> readers = new ArrayList<>();
        for (int r = 0; r < 2; r++) {
          int first = r;
          readers.add(pool.submit(() -> readWhile(invalidating, start, first, cache, rows, loader, violations)));
        }
        Future<?> invalidator = pool.submit(() -> {
          Rows.await(start);
          for (int i = 0; i < 3; i++) {
            rows.change(row -> true, () -> cache.invalidate(Invalidation.prefix("k:")));
            invalidations.incrementAndGet();
          }
        });
        start.countDown();
        invalidator.get(30, TimeUnit.SECONDS);
        invalidating.set(false);
        for (Future<?> reader : readers) {
          reader.get(30, TimeUnit.SECONDS);
        }
        for (int row = 0; row < KEYS; row++) {
          String read = cache.getIfPresent("k:" + row);
          if (read != null && Long.parseLong(read) < rows.floor(row)) {
            violations.add("quiet read " + read + " of k:" + row + " below " + rows.floor(row));
          }
        }
      }
    }
    assertThat(violations).isEmpty();
    assertThat(invalidations).hasValue(3 * caches);
  }

  /** Reads every key in turn, by getIfPresent or by get, while {@code going}; records reads below a row's floor. */
  private static void readWhile(AtomicBoolean going, CountDownLatch start, int first, TieredCache<String, String> cache,
      Rows rows, Function<String, String> loader, List<String> violations) {
    Rows.await(start);
    for (int i = first; going.get(); i++) {
      int row = i % KEYS;
      long floor = rows.floor(row);
      String key = "k:" + row;
      String read = i % 3 == 0 ? cache.getIfPresent(key) : cache.get(key, loader);
      if (read != null && Long.parseLong(read) < floor) {
        violations.add("read " + read + " of " + key + " after an invalidation of " + floor + " returned");
      }
    }
  }
}
