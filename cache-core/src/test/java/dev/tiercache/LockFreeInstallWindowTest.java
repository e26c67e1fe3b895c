package dev.tiercache;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tiercache.spi.L2Store;
import dev.tiercache.testkit.GatedL2Store;
import dev.tiercache.testkit.InMemoryL2Store;
import dev.tiercache.testkit.TestCodec;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Holds an install exactly inside its lock-free check of invalidations that may cover many keys (after it read
 * {@link InvalidationLog#latest()}, before it installs), by a custom invalidation whose matcher parks the installing
 * thread. Meanwhile a covering invalidation runs to completion (and, in the forgetting variants, enough patterns
 * follow it for the start index to forget it). The install then passes its check, since what it checked did not
 * cover the key; the entry it installed must nevertheless never be served after the covering invalidation returned
 * (DESIGN.md invariant 1), for both races: load-then-install and L2-read-then-L1-fill.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class LockFreeInstallWindowTest {

  private static final String VICTIM = "user:42";
  private static final Tags TAGS = Tags.of("table:users");

  /** The thread to park inside its install check, and the latches that park it; null when disarmed. */
  static final AtomicReference<Thread> TARGET = new AtomicReference<>();
  static volatile CountDownLatch inCheck;
  static volatile CountDownLatch proceed;

  /** Covers exactly the key it names; parks the target thread when asked about any other key. */
  static final InvalidationStrategy GATE =
      new InvalidationStrategy() {
        @Override
        public String name() {
          return "gate";
        }

        @Override
        public EntryMatcher matcher(String argument) {
          return (key, tags) -> {
            if (Thread.currentThread() == TARGET.get() && TARGET.compareAndSet(Thread.currentThread(), null)) {
              inCheck.countDown();
              try {
                if (!proceed.await(20, TimeUnit.SECONDS)) {
                  throw new IllegalStateException("never released");
                }
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
            }
            return key.equals(argument);
          };
        }

        @Override
        public CompletableFuture<Void> applyTo(L2Store store, String cache, String argument) {
          return store.invalidatePattern(cache, Glob.escape(argument));
        }
      };

  private final ExecutorService pool = Executors.newFixedThreadPool(2);

  @AfterEach
  void tearDown() {
    TARGET.set(null);
    pool.shutdownNow();
  }

  record Case(Invalidation covering, boolean forget) {
    @Override
    public String toString() {
      return covering.strategy().name() + (forget ? ", then the start index forgets" : "");
    }
  }

  static List<Case> cases() {
    List<Case> cases = new ArrayList<>();
    for (boolean forget : new boolean[] {false, true}) {
      cases.add(new Case(Invalidation.tag("table:users"), forget));
      cases.add(new Case(Invalidation.prefix("user:4"), forget));
      cases.add(new Case(Invalidation.pattern("user:*"), forget));
      cases.add(new Case(Invalidation.all(), forget));
    }
    return cases;
  }

  private static void arm(Thread target) {
    inCheck = new CountDownLatch(1);
    proceed = new CountDownLatch(1);
    TARGET.set(target);
  }

  /** Runs the covering invalidation to completion while the install is parked, then lets the install go on. */
  private static void invalidateWhileParked(TieredCache<String, String> cache, Case c) throws Exception {
    assertThat(inCheck.await(20, TimeUnit.SECONDS)).as("the install reached its check").isTrue();
    cache.invalidate(c.covering());
    if (c.forget()) {
      // More patterns than the index scans: the start index forgets the covering invalidation.
      for (int i = 0; i <= InvalidationIndex.MAX_SCANNED; i++) {
        cache.invalidate(Invalidation.pattern("other:" + i + ":*"));
      }
    }
  }

  @ParameterizedTest(name = "load-then-install, {0}")
  @MethodSource("cases")
  void aLoadParkedInItsInstallCheckIsNeverServedAfterACoveringInvalidationReturned(Case c) throws Exception {
    try (TieredCache<String, String> cache =
        TieredCache.<String, String>builder("window-load").keyCodec(k -> k).invalidationStrategy(GATE).build()) {
      CountDownLatch loaderRunning = new CountDownLatch(1);
      CountDownLatch loaderGo = new CountDownLatch(1);
      AtomicReference<String> row = new AtomicReference<>("old");
      AtomicReference<Thread> worker = new AtomicReference<>();
      Future<String> load = pool.submit(() -> cache.get(VICTIM, TAGS, k -> {
        worker.set(Thread.currentThread());
        String read = row.get();
        loaderRunning.countDown();
        try {
          loaderGo.await(20, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        return read;
      }));
      assertThat(loaderRunning.await(20, TimeUnit.SECONDS)).isTrue();
      // Ends after the load's stamp: the install check scans it (patterns and custom ones are scanned).
      cache.invalidate(Invalidation.of(GATE, "someone:else"));
      arm(worker.get());
      loaderGo.countDown();
      row.set("new");
      invalidateWhileParked(cache, c);
      proceed.countDown();
      assertThat(load.get(20, TimeUnit.SECONDS)).as("a read overlapping the invalidation may return either").isIn("old", "new");
      assertThat(cache.getIfPresent(VICTIM)).as("L1 after the invalidation returned").isNotEqualTo("old");
      assertThat(cache.get(VICTIM, TAGS, k -> row.get())).isEqualTo("new");
    }
  }

  @ParameterizedTest(name = "L2-read-then-L1-fill, {0}")
  @MethodSource("cases")
  void anL2ReadParkedInItsInstallCheckIsNeverServedAfterACoveringInvalidationReturned(Case c) throws Exception {
    InMemoryL2Store store = new InMemoryL2Store();
    GatedL2Store gated = new GatedL2Store(store);
    try (TieredCache<String, String> writer =
            TieredCache.<String, String>builder("window-l2").keyCodec(k -> k).invalidationStrategy(GATE)
                .l2(store).valueCodec(TestCodec.STRING).build();
        TieredCache<String, String> cache =
            TieredCache.<String, String>builder("window-l2").keyCodec(k -> k).invalidationStrategy(GATE)
                .l2(gated).valueCodec(TestCodec.STRING).build()) {
      writer.put(VICTIM, "old", TAGS);
      CountDownLatch readDone = gated.holdNextGet();
      AtomicReference<String> row = new AtomicReference<>("new");
      AtomicReference<Thread> worker = new AtomicReference<>();
      Future<String> read = pool.submit(() -> {
        worker.set(Thread.currentThread());
        return cache.getIfPresent(VICTIM);
      });
      assertThat(readDone.await(20, TimeUnit.SECONDS)).isTrue();
      // Ends after the read's stamp: the install check scans it.
      cache.invalidate(Invalidation.of(GATE, "someone:else"));
      arm(worker.get());
      gated.release();
      invalidateWhileParked(cache, c);
      proceed.countDown();
      assertThat(read.get(20, TimeUnit.SECONDS)).isIn("old", null);
      assertThat(cache.getIfPresent(VICTIM)).as("after the invalidation returned").isNull();
      assertThat(cache.get(VICTIM, TAGS, k -> row.get())).isEqualTo("new");
    }
  }
}
