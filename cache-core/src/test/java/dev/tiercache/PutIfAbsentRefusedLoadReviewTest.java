package dev.tiercache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.tiercache.codec.ValueCodecs;
import dev.tiercache.testkit.InMemoryBus;
import dev.tiercache.testkit.InMemoryL2Store;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Review (s14, round 4): a putIfAbsent that joins a load whose write-back the L2 refused (3c1067c: such a load "does
 * not keep its own value in its L1; its callers still get what they loaded"). Reproduced on a real Redis by
 * RedisPutIfAbsentWinnersReviewTest.atMostOneWinnerWithLoadsRacing; deterministic here with an in-memory L2.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class PutIfAbsentRefusedLoadReviewTest {

  private static final String NAME = "pia-refused-load-review";

  private final InMemoryL2Store l2 = new InMemoryL2Store();
  private final InMemoryBus bus = new InMemoryBus();
  private final List<TieredCache<String, String>> caches = new ArrayList<>();
  private final ExecutorService threads = Executors.newFixedThreadPool(2);
  private final CountDownLatch release = new CountDownLatch(1);

  @AfterEach
  void close() {
    release.countDown();
    threads.shutdownNow();
    caches.forEach(TieredCache::close);
  }

  private TieredCache<String, String> node() {
    return node(false);
  }

  private TieredCache<String, String> node(boolean cacheAbsence) {
    TieredCacheBuilder<String, String> builder =
        TieredCache.<String, String>builder(NAME).bus(bus).l2(l2).valueCodec(ValueCodecs.string());
    if (cacheAbsence) {
      builder.negativeTtl(Duration.ofMinutes(1));
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
   * Breaks: putIfAbsent "returns null if this call stored value; otherwise the value present", and "of concurrent
   * calls on several instances one stores and the others return its value".
   *
   * <p>How: on instance A a get(k) reads the L2 (miss) and its loader blocks. Instance B's putIfAbsent(k, "pia-b")
   * stores (null). A's putIfAbsent(k, "pia-a") finds A's L1 empty and joins A's get flight. The loader returns
   * "load-a"; its conditional write-back is refused (B wrote since the read), the L2 holds "pia-b", so the load does
   * not keep "load-a" in A's L1 -- but completes the flight with it, and putIfAbsent returns the joined flight's
   * value as "the value present". "load-a" is present in no tier (A's L1 and the L2 both give "pia-b"): the caller
   * is told another value won than the one that did, and B's win is contradicted.
   */
  @Test
  void aPutIfAbsentJoiningARefusedLoadReturnsTheValuePresent() throws Exception {
    TieredCache<String, String> a = node();
    TieredCache<String, String> b = node();
    CountDownLatch loading = new CountDownLatch(1);
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
                      return "load-a";
                    }));
    assertThat(loading.await(5, TimeUnit.SECONDS)).as("A's load runs").isTrue();
    assertThat(b.putIfAbsent("k", "pia-b", Tags.empty(), "<absent>")).as("B stores").isNull();

    Thread[] caller = new Thread[1];
    Future<String> put =
        threads.submit(
            () -> {
              caller[0] = Thread.currentThread();
              return a.putIfAbsent("k", "pia-a", Tags.empty(), "<absent>");
            });
    // A's putIfAbsent has joined the load once its thread waits.
    await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(5))
        .until(() -> caller[0] != null
            && (caller[0].getState() == Thread.State.WAITING || caller[0].getState() == Thread.State.TIMED_WAITING));
    release.countDown();
    read.get(10, TimeUnit.SECONDS);
    String returned = put.get(10, TimeUnit.SECONDS);

    assertThat(a.getIfPresent("k")).as("present on A afterwards").isEqualTo("pia-b");
    assertThat(returned).as("what A's putIfAbsent returned as the value present (B stored pia-b)").isEqualTo("pia-b");
  }

  /**
   * Breaks: 3c1067c's "a load whose write-back Redis refused while the L2 holds a value (another instance stored
   * since, a putIfAbsent's for one) does not keep its own value in its L1 ... and the L1 reads the L2's value from
   * then on", and with it putIfAbsent's "of concurrent calls on several instances one stores and the others return
   * its value": the bulk load path (Loads.loadMissing) ignores what putIfCurrent refused and installs every value.
   *
   * <p>How: instance A's getAll([k]) misses the L2 and its bulk loader blocks; instance B's putIfAbsent(k, "pia-b")
   * stores (null). The bulk loader returns "bulk-a"; the conditional write is refused (B wrote since the read), yet
   * "bulk-a" is installed in A's L1, where it shadows B's stored value: A's getIfPresent returns "bulk-a" and A's
   * putIfAbsent(k, "pia-a") returns "bulk-a" as the value present, while the L2 (and B) hold "pia-b". A single-key
   * get in the same race keeps nothing (the fix), so the two read paths disagree.
   */
  @Test
  void aBulkLoadWhoseWriteBackWasRefusedDoesNotShadowTheStoredValue() throws Exception {
    TieredCache<String, String> a = node();
    TieredCache<String, String> b = node();
    CountDownLatch loading = new CountDownLatch(1);
    Future<java.util.Map<String, String>> read =
        threads.submit(
            () ->
                a.getAll(
                    List.of("k"),
                    keys -> {
                      loading.countDown();
                      try {
                        release.await(10, TimeUnit.SECONDS);
                      } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                      }
                      return java.util.Map.of("k", "bulk-a");
                    }));
    assertThat(loading.await(5, TimeUnit.SECONDS)).as("A's bulk load runs").isTrue();
    assertThat(b.putIfAbsent("k", "pia-b", Tags.empty(), "<absent>")).as("B stores").isNull();
    release.countDown();
    read.get(10, TimeUnit.SECONDS);

    assertThat(inL2("k")).as("in the L2 (the bulk write-back was refused)").isEqualTo("pia-b");
    assertThat(a.getIfPresent("k")).as("on A, after its bulk load's write-back was refused").isEqualTo("pia-b");
    assertThat(a.putIfAbsent("k", "pia-a", Tags.empty(), "<absent>"))
        .as("A's putIfAbsent: the value present")
        .isEqualTo("pia-b");
  }
  /**
   * Breaks: putIfAbsent returns "ifAbsent for a cached absence" -- here it returns ifAbsent while a value is present
   * and no absence is cached anywhere (brief, claim 2: a refused write-back for an ABSENCE with negativeTtl).
   *
   * <p>How: negativeTtl set. On instance A a get(k) misses the L2 and its loader (which will find nothing) blocks.
   * Instance B's putIfAbsent(k, "pia-b") stores. A's putIfAbsent(k, "pia-a") joins A's load. The loader returns null;
   * the conditional write of the absence is refused (B wrote since the read) and, the L2 holding "pia-b", the
   * absence is not kept. The flight completes with null, and putIfAbsent, seeing null with cachesAbsence, returns
   * "&lt;absent&gt;" (a cached absence is present) while the L2 and A's own getIfPresent give "pia-b". A Spring
   * caller gets "a null mapping existed" for a key holding B's value.
   */
  @Test
  void aPutIfAbsentJoiningARefusedAbsenceDoesNotReportACachedAbsence() throws Exception {
    TieredCache<String, String> a = node(true);
    TieredCache<String, String> b = node(true);
    CountDownLatch loading = new CountDownLatch(1);
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
    assertThat(loading.await(5, TimeUnit.SECONDS)).as("A's load runs").isTrue();
    assertThat(b.putIfAbsent("k", "pia-b", Tags.empty(), "<absent>")).as("B stores").isNull();

    Thread[] caller = new Thread[1];
    Future<String> put =
        threads.submit(
            () -> {
              caller[0] = Thread.currentThread();
              return a.putIfAbsent("k", "pia-a", Tags.empty(), "<absent>");
            });
    await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(5))
        .until(() -> caller[0] != null
            && (caller[0].getState() == Thread.State.WAITING || caller[0].getState() == Thread.State.TIMED_WAITING));
    release.countDown();
    read.get(10, TimeUnit.SECONDS);
    String returned = put.get(10, TimeUnit.SECONDS);

    assertThat(inL2("k")).as("in the L2").isEqualTo("pia-b");
    assertThat(a.getIfPresent("k", "<absent>")).as("present on A afterwards").isEqualTo("pia-b");
    assertThat(returned).as("what A's putIfAbsent returned (B stored pia-b)").isEqualTo("pia-b");
  }
}
