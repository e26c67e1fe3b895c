package dev.tiercache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.tiercache.codec.ValueCodecs;
import dev.tiercache.testkit.GatedL2Store;
import dev.tiercache.testkit.InMemoryL2Store;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.BiFunction;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A load's fill runs Caffeine's upkeep on the loading thread, and with an L1 TTL that upkeep may expire a whole
 * backlog. The readers that joined the load must get its value without waiting for that upkeep (the load completes
 * its flight first): here the upkeep is held at its first expiry (the eviction counter blocks), and a reader that
 * joined the load must still return. Not covered, because they still wait for it: a getAsync caller that joined (its
 * future completes after the upkeep, so that its callbacks never hold it back), and the readers of a load whose
 * loader loads another key of the cache (that nested load's upkeep runs before the outer load completes).
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class LoadWaitersUpkeepTest {

  private static final int ENTRIES = 20_000;

  /** The loader and the joined reader; not the common pool, which has one thread on two cores. */
  private static final ExecutorService THREADS = Executors.newCachedThreadPool(r -> {
    Thread thread = new Thread(r, "load-waiters");
    thread.setDaemon(true);
    return thread;
  });

  @Test
  void aJoinedReaderGetsTheLoadedValueWhileTheLoadersUpkeepExpiresABacklog() throws Exception {
    runWithHeldUpkeep((cache, latches) -> CompletableFuture.supplyAsync(() -> cache.get("fresh", k -> {
      awaitRelease(latches);
      return "loaded";
    }), THREADS));
  }

  @Test
  void aJoinedReaderGetsItsKeyWhileABulkLoadersUpkeepExpiresABacklog() throws Exception {
    runWithHeldUpkeep((cache, latches) -> CompletableFuture.supplyAsync(() -> cache.getAll(
        Set.of("fresh", "other"),
        keys -> {
          awaitRelease(latches);
          return Map.of("fresh", "loaded", "other", "loaded");
        }).get("fresh"), THREADS));
  }

  /**
   * As above, the load served by the L2: its read is held until a second reader joined, and the fill of what it read
   * expires the backlog.
   */
  @Test
  void aJoinedReaderGetsWhatTheL2ServedWhileTheFillsUpkeepExpiresABacklog() throws Exception {
    InMemoryL2Store backing = new InMemoryL2Store();
    try (TieredCache<String, String> writer = TieredCache.<String, String>builder("l2-waiters")
        .keyCodec(k -> k).l2(backing).valueCodec(ValueCodecs.string()).build()) {
      // Before the reader's cache exists: an invalidation delivered to it would run the upkeep on the pool.
      writer.put("fresh", "in L2");
    }
    GatedL2Store store = new GatedL2Store(backing);
    FillUpkeepStallTest.GatedEvictions registry = new FillUpkeepStallTest.GatedEvictions();
    try (TieredCache<String, String> cache = registry.expiredBacklog("l2-waiters", ENTRIES, store)) {
      CountDownLatch read = store.holdNextGet();
      CompletableFuture<String> first =
          CompletableFuture.supplyAsync(() -> cache.get("fresh", k -> "loaded, not read"), THREADS);
      try {
        assertThat(read.await(30, TimeUnit.SECONDS)).as("the load's L2 read has its answer").isTrue();
        CompletableFuture<String> joined =
            CompletableFuture.supplyAsync(() -> cache.get("fresh", k -> "a second load"), THREADS);
        await().atMost(Duration.ofSeconds(30)).until(() -> coalesced(registry) == 1);
        store.release();
        assertThat(registry.reached.await(30, TimeUnit.SECONDS)).as("the upkeep reached its first expiry").isTrue();
        assertThat(joined.get(10, TimeUnit.SECONDS))
            .as("the joined reader's value, while the fill's upkeep is held")
            .isEqualTo("in L2");
      } finally {
        store.release();
        registry.release.countDown();
      }
      assertThat(first.get(30, TimeUnit.SECONDS)).isEqualTo("in L2");
    }
  }

  /**
   * The bulk load's batch in a fixed order, the joined key last: the key installed first ("other") has no reader of its
   * own, and the joined reader of the last must not wait for the upkeep of the first install. (With Set.of, above, the
   * order changes from one JVM to the next.)
   */
  @Test
  void aJoinedReaderOfABulkLoadsLastKeyDoesNotWaitForTheFirstInstallsUpkeep() throws Exception {
    runWithHeldUpkeep((cache, latches) -> CompletableFuture.supplyAsync(() -> cache.getAll(
        List.of("other", "fresh"),
        keys -> {
          assertThat(List.copyOf(keys)).containsExactly("other", "fresh");
          awaitRelease(latches);
          return Map.of("fresh", "loaded", "other", "loaded");
        }).get("fresh"), THREADS), JOINED_BY_GET);
  }

  @Test
  void aGetAllThatJoinedASingleLoadGetsItsValueWhileTheLoadersUpkeepIsHeld() throws Exception {
    runWithHeldUpkeep(
        (cache, latches) -> CompletableFuture.supplyAsync(() -> cache.get("fresh", k -> {
          awaitRelease(latches);
          return "loaded";
        }), THREADS),
        cache -> CompletableFuture.supplyAsync(
            () -> cache.getAll(List.of("fresh"), ks -> Map.of("fresh", "a second load")).get("fresh"), THREADS));
  }

  /** The load runs on the cache's executor (the common pool by default) for a getAsync caller. */
  @Test
  void aGetThatJoinedAGetAsyncsLoadGetsItsValueWhileTheLoadersUpkeepIsHeld() throws Exception {
    runWithHeldUpkeep((cache, latches) -> cache.getAsync("fresh", Tags.empty(), k -> {
      awaitRelease(latches);
      return "loaded";
    }), JOINED_BY_GET);
  }

  private static final Function<TieredCache<String, String>, CompletableFuture<String>> JOINED_BY_GET =
      cache -> CompletableFuture.supplyAsync(() -> cache.get("fresh", k -> "a second load"), THREADS);

  private static void runWithHeldUpkeep(
      BiFunction<TieredCache<String, String>, CountDownLatch[], CompletableFuture<String>> load) throws Exception {
    runWithHeldUpkeep(load, JOINED_BY_GET);
  }

  /**
   * Starts the load (which says it started and waits for its release), has a second reader join it, lets the loader
   * return, and checks that the joined reader gets the value while the loader's upkeep is held.
   */
  private static void runWithHeldUpkeep(
      BiFunction<TieredCache<String, String>, CountDownLatch[], CompletableFuture<String>> load,
      Function<TieredCache<String, String>, CompletableFuture<String>> join) throws Exception {
    FillUpkeepStallTest.GatedEvictions registry = new FillUpkeepStallTest.GatedEvictions();
    try (TieredCache<String, String> cache = registry.expiredBacklog("load-waiters", ENTRIES)) {
      CountDownLatch started = new CountDownLatch(1);
      CountDownLatch release = new CountDownLatch(1);
      CompletableFuture<String> loader = load.apply(cache, new CountDownLatch[] {started, release});
      try {
        assertThat(started.await(30, TimeUnit.SECONDS)).as("the load is in flight").isTrue();
        CompletableFuture<String> joined = join.apply(cache);
        // Joined once the cache counts the read as coalesced into the load in flight.
        await().atMost(Duration.ofSeconds(30)).until(() -> coalesced(registry) == 1);
        release.countDown();
        assertThat(registry.reached.await(30, TimeUnit.SECONDS)).as("the upkeep reached its first expiry").isTrue();
        assertThat(joined.get(10, TimeUnit.SECONDS))
            .as("the joined reader's value, while the loader's upkeep is held")
            .isEqualTo("loaded");
      } finally {
        release.countDown();
        registry.release.countDown();
      }
      assertThat(loader.get(30, TimeUnit.SECONDS)).isEqualTo("loaded");
      await().atMost(Duration.ofSeconds(30)).until(() -> cache.estimatedL1Size() <= 2);
    }
  }

  private static double coalesced(FillUpkeepStallTest.GatedEvictions registry) {
    return registry.get("cache.stampede.coalesced").counter().count();
  }

  /** Called by the loader: tells the test it runs, then waits until the test lets it return. */
  private static void awaitRelease(CountDownLatch[] latches) {
    latches[0].countDown();
    Rows.await(latches[1]);
  }
}
