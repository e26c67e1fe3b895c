package dev.tiercache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.tiercache.spi.L2Store;
import dev.tiercache.testkit.ForwardingL2Store;
import dev.tiercache.testkit.InMemoryL2Store;
import dev.tiercache.testkit.TestCodec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A getAll through an L1 that keeps nothing checks its L2 hits with one {@link InvalidationLog#quietSince} for the
 * batch when no invalidation made here happened since its stamp. An invalidation that began before the stamp and is
 * still running moved the clock before the stamp was taken, so the clock alone cannot tell: its hits must still be
 * misses (DESIGN.md invariant 1).
 */
@Timeout(60)
class QuietBatchCheckTest {

  private static final String NAME = "quiet-batch";

  private final ExecutorService pool = Executors.newCachedThreadPool();
  private final InMemoryL2Store store = new InMemoryL2Store();
  /** Invalidations the store has not answered yet; the test completes them. */
  private final List<CompletableFuture<Void>> held = new ArrayList<>();
  private final List<TieredCache<String, String>> caches = new ArrayList<>();

  private final ForwardingL2Store holding = new ForwardingL2Store(store) {
    @Override
    public CompletableFuture<Void> invalidateKey(String cache, String key) {
      return hold(() -> super.invalidateKey(cache, key));
    }

    @Override
    public CompletableFuture<Void> invalidateTag(String cache, String tag) {
      return hold(() -> super.invalidateTag(cache, tag));
    }
  };

  /** Applies the invalidation to the store only once the test lets it: until then the old entry is there. */
  private synchronized CompletableFuture<Void> hold(Supplier<CompletableFuture<Void>> apply) {
    CompletableFuture<Void> answer = new CompletableFuture<>();
    held.add(answer);
    return answer.thenCompose(go -> apply.get());
  }

  private synchronized int heldCount() {
    return held.size();
  }

  private synchronized void answerAll() {
    held.forEach(f -> f.complete(null));
  }

  @AfterEach
  void tearDown() {
    answerAll();
    pool.shutdownNow();
    caches.forEach(TieredCache::close);
  }

  private TieredCache<String, String> cache(L2Store l2) {
    TieredCache<String, String> cache = TieredCache.<String, String>builder(NAME)
        .keyCodec(k -> k)
        .l1(l1 -> l1.maximumSize(0))
        .l2(l2)
        .valueCodec(TestCodec.STRING)
        .l2Timeout(Duration.ofSeconds(20))
        .build();
    caches.add(cache);
    return cache;
  }

  @Test
  void aKeyInvalidationStillRunningWhenTheGetAllBeginsMakesItsKeyAMiss() throws Exception {
    readsPastARunningInvalidation(reader -> reader.invalidate(Invalidation.key("k")), Tags.empty());
  }

  @Test
  void aTagInvalidationStillRunningWhenTheGetAllBeginsMakesItsEntriesMisses() throws Exception {
    readsPastARunningInvalidation(reader -> reader.invalidate(Invalidation.tag("t")), Tags.of("t"));
  }

  private void readsPastARunningInvalidation(Consumer<TieredCache<String, String>> invalidate, Tags tags)
      throws Exception {
    TieredCache<String, String> writer = cache(store);
    writer.put("k", "old", tags);
    writer.put("other", "kept");
    TieredCache<String, String> reader = cache(holding);
    assertThat(reader.getAll(List.of("k", "other"), keys -> Map.of())).containsEntry("k", "old");

    Future<?> invalidation = pool.submit(() -> invalidate.accept(reader));
    await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(1)).until(() -> heldCount() > 0);
    assertThat(heldCount()).as("the invalidation reached the store and waits for its answer").isEqualTo(1);
    assertThat(invalidation.isDone()).isFalse();

    // The store still holds the old entry: only the log, where the invalidation runs, can tell.
    Map<String, String> read = reader.getAll(List.of("k", "other"), keys -> {
      assertThat(keys).containsExactly("k");
      return Map.of("k", "loaded");
    });
    assertThat(read).containsEntry("k", "loaded").containsEntry("other", "kept");

    answerAll();
    invalidation.get(10, TimeUnit.SECONDS);
  }

  @Test
  void theLogIsQuietOnlyWhenNothingLocalRunsOrHappenedSinceTheStamp() {
    InvalidationLog log = new InvalidationLog(16);
    assertThat(log.quietSince(log.stamp())).isTrue();

    InvalidationLog.Entry key = log.begin(Invalidation.key("k"), true, () -> {});
    long stamp = log.stamp();
    assertThat(log.quietSince(stamp)).as("a local key invalidation runs").isFalse();
    log.end(key, () -> {});
    assertThat(log.quietSince(stamp)).as("it ended after the stamp").isFalse();
    assertThat(log.quietSince(log.stamp())).isTrue();

    InvalidationLog.Entry tag = log.begin(Invalidation.tag("t"), true, () -> {});
    stamp = log.stamp();
    assertThat(log.quietSince(stamp)).as("a local tag invalidation runs").isFalse();
    log.end(tag, () -> {});
    assertThat(log.quietSince(log.stamp())).isTrue();

    stamp = log.stamp();
    log.end(log.begin(Invalidation.prefix("p"), false, () -> {}), () -> {});
    assertThat(log.quietSince(stamp)).as("a received invalidation moved the clock: checked per key").isFalse();
    assertThat(log.quietSince(log.stamp())).as("received ones are not counted as running").isTrue();
  }
}
