package dev.tiercache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tiercache.codec.ValueCodecs;
import dev.tiercache.spi.L2Store;
import dev.tiercache.testkit.GatedL2Store;
import dev.tiercache.testkit.InMemoryBus;
import dev.tiercache.testkit.InMemoryL2Store;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@link TieredCache#putIfAbsent}: stores unless a tier holds the key, and of concurrent calls on several instances
 * exactly one stores while the others return its value, which every instance then serves (the conditional L2 write
 * that a load makes, whose refusal a load ignores, decides here). Two nodes share an in-memory L2 and bus; the race
 * is made exact by holding node A's L2 read ({@link GatedL2Store}) until node B has acted.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class PutIfAbsentTest {

  private static final String NAME = "put-if-absent";

  private final InMemoryL2Store l2 = new InMemoryL2Store();
  private final GatedL2Store gatedForA = new GatedL2Store(l2);
  private final InMemoryBus bus = new InMemoryBus();
  private final List<TieredCache<String, String>> caches = new ArrayList<>();

  @AfterEach
  void close() {
    caches.forEach(TieredCache::close);
  }

  private TieredCache<String, String> node(L2Store store) {
    TieredCacheBuilder<String, String> builder =
        TieredCache.<String, String>builder(NAME).bus(bus).valueCodec(ValueCodecs.string())
            .negativeTtl(Duration.ofMinutes(1));
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

  /** Starts A's putIfAbsent of key {@code k} on another thread, held once it has read the L2 (a miss). */
  private CompletableFuture<String> heldAfterItsRead(TieredCache<String, String> a, String value) throws Exception {
    var reached = gatedForA.holdNextGet();
    CompletableFuture<String> onA =
        CompletableFuture.supplyAsync(() -> a.putIfAbsent("k", value, Tags.empty(), "absent"));
    assertThat(reached.await(5, TimeUnit.SECONDS)).as("A read the L2 (a miss) and is held").isTrue();
    return onA;
  }

  @Test
  void storesAValueNoTierHoldsAndReturnsNull() {
    TieredCache<String, String> a = node(l2);
    TieredCache<String, String> b = node(l2);
    String value = new String("a");

    assertThat(a.putIfAbsent("k", value, Tags.empty(), "absent")).isNull();

    assertThat(inL2("k")).isEqualTo("a");
    assertThat(b.getIfPresent("k")).isEqualTo("a");
    assertThat(a.getIfPresent("k")).isSameAs(value);
  }

  @Test
  void returnsWhatATierHoldsAndStoresNothing() {
    TieredCache<String, String> a = node(l2);
    TieredCache<String, String> b = node(l2);
    b.put("k", "b");
    a.put("local", "l");

    String fromL2 = a.putIfAbsent("k", "a", Tags.empty(), "absent");
    String fromL1 = a.putIfAbsent("local", "other", Tags.empty(), "absent");

    assertThat(fromL2).isEqualTo("b");
    assertThat(fromL1).isEqualTo("l");
    assertThat(inL2("k")).isEqualTo("b");
    assertThat(inL2("local")).isEqualTo("l");
  }

  @Test
  void aCachedAbsenceIsPresentAndReturnedAsIfAbsent() {
    TieredCache<String, String> a = node(l2);
    a.putAbsent("k", Tags.empty());

    assertThat(a.putIfAbsent("k", "a", Tags.empty(), "absent")).isEqualTo("absent");
    assertThat(a.getIfPresent("k", "marker")).as("still the cached absence").isEqualTo("marker");
  }

  /** The defect the Spring review found: both callers were told they stored, and A served its own value for good. */
  @Test
  void ofTwoInstancesRacingOneStoresAndTheOtherReturnsAndServesItsValue() throws Exception {
    TieredCache<String, String> a = node(gatedForA);
    TieredCache<String, String> b = node(l2);
    String mine = new String("a");
    CompletableFuture<String> onA = heldAfterItsRead(a, mine);

    String theirs = new String("b");
    assertThat(b.putIfAbsent("k", theirs, Tags.empty(), "absent")).as("B stores first").isNull();
    gatedForA.release();

    assertThat(onA.get(5, TimeUnit.SECONDS)).as("A returns B's value").isEqualTo("b");
    assertThat(inL2("k")).isEqualTo("b");
    assertThat(a.getIfPresent("k")).as("A serves B's value").isEqualTo("b");
    assertThat(b.getIfPresent("k")).isEqualTo("b");
  }

  /** A refusal for an invalidation, not a value: stored, then invalidated, so nothing of it stays anywhere. */
  @Test
  void aWriteRefusedForAnInvalidationCountsAsStoredAndIsNotKept() throws Exception {
    TieredCache<String, String> a = node(gatedForA);
    TieredCache<String, String> b = node(l2);
    String mine = new String("a");
    CompletableFuture<String> onA = heldAfterItsRead(a, mine);

    b.invalidateKey("k");
    gatedForA.release();

    assertThat(onA.get(5, TimeUnit.SECONDS)).as("stored, then invalidated").isNull();
    assertThat(inL2("k")).isNull();
    assertThat(a.getIfPresent("k")).as("not kept in A's L1 either").isNull();
  }

  @Test
  void withoutAnL2ItIsAtomicOnTheInstance() {
    TieredCache<String, String> local = node(null);

    assertThat(local.putIfAbsent("k", "1", Tags.empty(), "absent")).isNull();
    assertThat(local.putIfAbsent("k", "1", Tags.empty(), "absent")).as("the same value again is present").isEqualTo("1");
    assertThat(local.putIfAbsent("k", "2", Tags.empty(), "absent")).isEqualTo("1");
  }

  /** It tries again after a joined read that failed, but not after its own interruption. */
  @Test
  void anInterruptedCallerStopsWaitingInsteadOfTryingAgain() throws Exception {
    TieredCache<String, String> a = node(l2);
    CountDownLatch loading = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    CompletableFuture<String> read = CompletableFuture.supplyAsync(() -> a.get("k", k -> {
      loading.countDown();
      try {
        release.await(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      return "db";
    }));
    assertThat(loading.await(5, TimeUnit.SECONDS)).isTrue();
    AtomicReference<Throwable> thrown = new AtomicReference<>();
    Thread caller = new Thread(() -> {
      try {
        a.putIfAbsent("k", "mine", Tags.empty(), "absent");
      } catch (Throwable e) {
        thrown.set(e);
      }
    });
    caller.start();
    Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> caller.getState() == Thread.State.WAITING);

    caller.interrupt();
    caller.join(5_000);

    assertThat(thrown.get()).isInstanceOf(CompletionException.class).hasCauseInstanceOf(InterruptedException.class);
    release.countDown();
    assertThat(read.get(5, TimeUnit.SECONDS)).isEqualTo("db");
  }

  @Test
  void refusesNulls() {
    TieredCache<String, String> a = node(l2);
    assertThatThrownBy(() -> a.putIfAbsent("k", null, Tags.empty(), "x")).isInstanceOf(NullPointerException.class);
    assertThatThrownBy(() -> a.putIfAbsent(null, "v", Tags.empty(), "x")).isInstanceOf(NullPointerException.class);
    assertThatThrownBy(() -> a.putIfAbsent("k", "v", null, "x")).isInstanceOf(NullPointerException.class);
  }
}
