package dev.tiercache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.awaitility.Awaitility.await;

import dev.tiercache.codec.ValueCodecs;
import dev.tiercache.spi.L2Store;
import dev.tiercache.testkit.GatedL2Store;
import dev.tiercache.testkit.InMemoryBus;
import dev.tiercache.testkit.InMemoryL2Store;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Review (s14, round 3): {@link TieredCache#putIfAbsent} attacked (c80d6f1, b3086fa). */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class PutIfAbsentReviewTest {

  private static final String NAME = "put-if-absent-review";

  private final InMemoryL2Store l2 = new InMemoryL2Store();
  private final GatedL2Store gatedForA = new GatedL2Store(l2);
  private final InMemoryBus bus = new InMemoryBus();
  private final List<TieredCache<String, String>> caches = new ArrayList<>();
  private final ExecutorService threads = Executors.newFixedThreadPool(2);

  @AfterEach
  void close() {
    threads.shutdownNow();
    caches.forEach(TieredCache::close);
  }

  private TieredCache<String, String> node(L2Store store, boolean cacheAbsence) {
    TieredCacheBuilder<String, String> builder =
        TieredCache.<String, String>builder(NAME).bus(bus).valueCodec(ValueCodecs.string());
    if (cacheAbsence) {
      builder.negativeTtl(Duration.ofMinutes(1));
    }
    if (store != null) {
      builder.l2(store);
    }
    TieredCache<String, String> cache = builder.build();
    caches.add(cache);
    return cache;
  }

  private String inL2(String key) {
    var read = l2.get(NAME, key).join();
    return read.isHit() ? ValueCodecs.string().decode(read.entry().value()) : null;
  }

  /**
   * Breaks: {@link TieredCache#putIfAbsent}'s javadoc (as of the review: "{@code value} itself if this call stored
   * it; otherwise the value present, or null for a cached absence"; now null when stored, {@code ifAbsent} for a
   * cached absence).
   *
   * <p>How: a {@code get(k, loader)} on the same instance is in flight and its loader finds nothing (returns null);
   * the cache caches no absences (no negativeTtl). A {@code putIfAbsent(k, "mine")} that starts meanwhile joins that
   * flight ("concurrent reads of the key share one flight") and returns the flight's result, null. Nothing was stored
   * (the key maps to nothing in either tier afterwards) and no absence is cached, yet the caller is told "a cached
   * absence is present" and its value is silently dropped. Spring's {@code TiercacheCache.putIfAbsent} turns that
   * null into {@code SimpleValueWrapper(null)}: "a null mapping existed", also in a cache that allows no nulls.
   *
   * <p>Once fixed: the call either stores "mine" (returns it) or returns a value/absence that is actually present.
   */
  @Test
  void joiningAReadWhoseLoaderFoundNothingNeitherStoresNorReportsWhatIsPresent() throws Exception {
    TieredCache<String, String> a = node(l2, false);
    CountDownLatch loading = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    Future<String> read =
        threads.submit(
            () ->
                a.get(
                    "k",
                    k -> {
                      loading.countDown();
                      try {
                        release.await(10, TimeUnit.SECONDS);
                      } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                      }
                      return null;
                    }));
    assertThat(loading.await(5, TimeUnit.SECONDS)).as("the read's loader runs").isTrue();
    String mine = new String("mine");
    Thread[] caller = new Thread[1];
    Future<String> put =
        threads.submit(
            () -> {
              caller[0] = Thread.currentThread();
              return a.putIfAbsent("k", mine, Tags.empty(), "<cached absence>");
            });
    // The putIfAbsent has joined the read's flight once its thread waits.
    await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(5))
        .until(() -> caller[0] != null
            && (caller[0].getState() == Thread.State.WAITING || caller[0].getState() == Thread.State.TIMED_WAITING));
    release.countDown();
    assertThat(read.get(5, TimeUnit.SECONDS)).isNull();
    String returned = put.get(5, TimeUnit.SECONDS);

    // Since the API change after this review: null means stored, the marker a cached absence.
    boolean stored = returned == null;
    String present = a.getIfPresent("k", "<cached absence>");
    assertThat((stored && "mine".equals(present)) || (returned != null && returned.equals(present)))
        .as("putIfAbsent returned %s: neither its own value (stored) nor what is present (getIfPresent: %s, L2: %s)",
            returned, present, inL2("k"))
        .isTrue();
  }

  /**
   * Breaks: "of concurrent calls on several instances one stores and the others return its value", the part "all
   * instances then serve that value" (commit c80d6f1) when the other instance's concurrent access is a read-through.
   *
   * <p>How: instance A's {@code get(k, loader)} reads the L2 (a miss) and is held there; instance B's
   * {@code putIfAbsent(k, "b")} stores "b" (its caller is told it stored, and that every instance now serves "b").
   * A's loader then yields "db"; Redis refuses A's conditional write ("rewritten"), yet A installs "db" in its own L1
   * and serves it, while B and the L2 serve "b". No bus message ever corrects A (a load's write-back publishes
   * nothing), so the two instances disagree until A's L1 entry expires (here: 1 minute default-free, i.e. forever).
   * A load whose write the L2 refused because another write of the key overtook it should not keep its value.
   *
   * <p>Once fixed: A serves "b" (or nothing, then "b" from the L2) after B's putIfAbsent returned.
   */
  @Test
  void aReadThroughOvertakenByAnotherInstancesPutIfAbsentKeepsServingItsOwnValue() throws Exception {
    TieredCache<String, String> a = node(gatedForA, false);
    TieredCache<String, String> b = node(l2, false);
    CountDownLatch reached = gatedForA.holdNextGet();
    CompletableFuture<String> onA = CompletableFuture.supplyAsync(() -> a.get("k", k -> "db"), threads);
    assertThat(reached.await(5, TimeUnit.SECONDS)).as("A read the L2 (a miss) and is held").isTrue();

    String theirs = new String("b");
    assertThat(b.putIfAbsent("k", theirs, Tags.empty(), "absent")).as("B stores").isNull();
    gatedForA.release();
    // A's write-back is refused; it then serves what B stored, to its own caller too (its loader's "db" is not kept).
    assertThat(onA.get(5, TimeUnit.SECONDS)).isIn("db", "b");

    assertThat(inL2("k")).isEqualTo("b");
    assertThat(b.getIfPresent("k")).isEqualTo("b");
    assertThat(a.getIfPresent("k"))
        .as("A serves what B's putIfAbsent stored (B's caller was told every instance serves it)")
        .isEqualTo("b");
  }

  /**
   * Breaks: "Without a trusted L2 ... it is stored in this instance's L1 only" together with
   * {@code PutIfAbsentTest.withoutAnL2ItIsAtomicOnTheInstance} and Spring's "atomically on this instance".
   *
   * <p>How: L1-only cache, two threads call {@code putIfAbsent(k_i, own new String)} at once for many keys. The L1
   * check happens before the flight is registered; when the other thread's flight installs its value and is removed
   * in between, this thread registers a new flight, whose "load" (no L2 to read) installs its own value over the
   * first and returns it: both callers are told they stored, and the first one's value is gone. Statistical: the
   * window is a few instructions wide; bounded at 200 000 keys / 20 s.
   *
   * <p>Once fixed: for every key exactly one of the two calls returns its own reference.
   */
  @Test
  void withoutAnL2TwoThreadsOnOneInstanceBothStore() throws Exception {
    // L1 only: no L2 and no bus; large enough to hold every key (an entry evicted between the two calls may be
    // stored twice, legitimately).
    TieredCache<String, String> local =
        TieredCache.<String, String>builder(NAME).l1(l1 -> l1.maximumSize(1_000_000)).build();
    caches.add(local);
    CyclicBarrier start = new CyclicBarrier(2);
    int keys = 200_000;
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    boolean[][] won = new boolean[2][keys];
    int[] reached = new int[2];
    List<Future<?>> runs = new ArrayList<>();
    for (int t = 0; t < 2; t++) {
      int me = t;
      runs.add(threads.submit(() -> {
        for (int i = 0; i < keys && System.nanoTime() - deadline < 0; i++) {
          if (i % 1000 == 0) {
            start.await(10, TimeUnit.SECONDS);
          }
          String mine = new String("v" + me);
          won[me][i] = local.putIfAbsent("k" + i, mine, Tags.empty(), "absent") == null;
          reached[me] = i + 1;
        }
        return null;
      }));
    }
    for (Future<?> run : runs) {
      run.get(40, TimeUnit.SECONDS);
    }
    int n = Math.min(reached[0], reached[1]);
    int both = 0;
    int none = 0;
    for (int i = 0; i < n; i++) {
      both += won[0][i] && won[1][i] ? 1 : 0;
      none += !won[0][i] && !won[1][i] ? 1 : 0;
    }
    assertThat(both).as("keys (of %d) for which both threads were told they stored", n).isZero();
    assertThat(none).as("keys for which neither stored").isZero();
  }

  /**
   * Breaks: {@link TieredCache#putIfAbsent}'s javadoc: "@throws IllegalArgumentException if the value does not fit the
   * L2's limits" (as {@code put} does), and with it "of concurrent calls on several instances one stores".
   *
   * <p>How: two instances on one L2 with {@code maxValueBytes(4)}. A's {@code putIfAbsent(k, "too long")} neither
   * throws nor writes the L2: the load path skips an L2 write that does not fit ({@code l2.fits} false) and installs
   * the value in A's L1, returning it as stored. B's {@code putIfAbsent(k, "also long")} then finds nothing in the L2
   * and "stores" too: two callers told they stored, two instances serving different values.
   *
   * <p>Once fixed: the call throws IllegalArgumentException before anything is stored.
   */
  @Test
  void aValueThatDoesNotFitTheL2IsRefusedNotStoredLocally() {
    TieredCache<String, String> a =
        TieredCache.<String, String>builder(NAME).bus(bus).valueCodec(ValueCodecs.string()).l2(l2).maxValueBytes(4)
            .build();
    caches.add(a);
    TieredCache<String, String> b =
        TieredCache.<String, String>builder(NAME).bus(bus).valueCodec(ValueCodecs.string()).l2(l2).maxValueBytes(4)
            .build();
    caches.add(b);
    assertThat(catchThrowable(() -> a.put("other", "too long"))).as("put refuses it")
        .isInstanceOf(IllegalArgumentException.class);

    String mine = new String("too long");
    Throwable onA = catchThrowable(() -> {
      String returned = a.putIfAbsent("k", mine, Tags.empty(), "absent");
      String theirs = new String("also long");
      String onB = b.putIfAbsent("k", theirs, Tags.empty(), "absent");
      throw new AssertionError("no exception; A stored: " + (returned == null)
          + ", then B stored: " + (onB == null) + "; A serves " + a.getIfPresent("k")
          + ", B serves " + b.getIfPresent("k"));
    });
    assertThat(onA).isInstanceOf(IllegalArgumentException.class);
  }
}
