package dev.tiercache.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.tiercache.TieredCache;
import dev.tiercache.codec.ValueCodecs;
import dev.tiercache.redis.testing.RedisExtension;
import dev.tiercache.spi.L2Read;
import dev.tiercache.spi.L2Store;
import dev.tiercache.spi.L2Write;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiConsumer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A read-through miss returns once its loader returns; its conditional write to the L2 follows without being waited
 * for. These tests hold that write back (a store in front of the real one that sends it only when told) and check
 * that it stays conditional, bounded, counted and quiet after close.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RedisWriteBackTest {

  @RegisterExtension static final RedisExtension REDIS = RedisExtension.standalone();

  private static TierSession session;
  private static RedisTier tier;

  @BeforeAll
  static void connect() {
    session = new TierSession(REDIS.uri());
    tier = session.tier();
  }

  @AfterAll
  static void disconnect() {
    session.close();
  }

  /** The real store, except that each conditional write is sent only once {@link #gate} completed. */
  private static final class Gated {
    final CompletableFuture<Void> gate = new CompletableFuture<>();
    final AtomicInteger held = new AtomicInteger();
    final L2Store store =
        (L2Store) Proxy.newProxyInstance(
            L2Store.class.getClassLoader(),
            new Class<?>[] {L2Store.class},
            (proxy, method, args) -> {
              if (method.getName().equals("putIfCurrent") && args.length == 3) {
                held.incrementAndGet();
                return gate.thenCompose(open -> tier.putIfCurrent((String) args[0], cast(args[1]), (Duration) args[2]));
              }
              try {
                return method.invoke(tier, args);
              } catch (InvocationTargetException e) {
                throw e.getCause();
              }
            });

    void open() {
      gate.complete(null);
    }
  }

  @SuppressWarnings("unchecked")
  private static Map<String, L2Write> cast(Object writes) {
    return (Map<String, L2Write>) writes;
  }

  private static TieredCache<String, String> cache(
      String name, L2Store store, SimpleMeterRegistry registry, Duration l2Timeout) {
    return TieredCache.<String, String>builder(name)
        .keyCodec(k -> k)
        .l2(store)
        .l2Timeout(l2Timeout)
        .valueCodec(ValueCodecs.string())
        .meterRegistry(registry)
        .build();
  }

  private static String inL2(String name, String key) {
    L2Read read = StoreKit.join(tier.get(name, key));
    return read == null || !read.isHit() || read.entry().value() == null
        ? null
        : new String(read.entry().value(), StandardCharsets.UTF_8);
  }

  private static double counted(SimpleMeterRegistry registry, String meter, String tag, String value) {
    Counter counter = registry.find(meter).tag(tag, value).counter();
    return counter == null ? 0 : counter.count();
  }

  @Test
  void aMissReturnsBeforeItsWriteBackWhichThenLands() {
    String name = StoreKit.uniqueName("writeback");
    Gated gated = new Gated();
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    try (TieredCache<String, String> cache = cache(name, gated.store, registry, Duration.ofSeconds(5))) {
      assertThat(cache.get("k", k -> "loaded")).isEqualTo("loaded");
      assertThat(gated.held.get()).isEqualTo(1);
      assertThat(inL2(name, "k")).isNull();
      gated.open();
      await().atMost(Duration.ofSeconds(10)).until(() -> "loaded".equals(inL2(name, "k")));
    }
  }

  @Test
  void aPutAfterTheGetIsNeverOverwrittenByTheGetsLateWriteBack() {
    // The put goes first (straight through: only conditional writes are held), the get's write-back after it.
    refusedAfter((cache, other) -> cache.put("k", "new"), "new", "new");
  }

  @Test
  void anInvalidationOnAnotherInstanceRefusesAWriteBackThatReadBeforeIt() {
    refusedAfter((cache, other) -> other.invalidateKey("k"), null, "fresh");
  }

  /**
   * A miss loads "old" on one instance, whose write-back is held while {@code change} runs (on it or on another
   * instance); then the write-back goes and must be refused: the L2 holds {@code inL2}, and a read on the other
   * instance (which loads "fresh" on a miss) gets {@code read}.
   */
  private static void refusedAfter(
      BiConsumer<TieredCache<String, String>, TieredCache<String, String>> change, String inL2, String read) {
    String name = StoreKit.uniqueName("writeback");
    Gated gated = new Gated();
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    try (TieredCache<String, String> cache = cache(name, gated.store, registry, Duration.ofSeconds(5));
        TieredCache<String, String> other = cache(name, tier, new SimpleMeterRegistry(), Duration.ofSeconds(5))) {
      assertThat(cache.get("k", k -> "old")).isEqualTo("old");
      change.accept(cache, other);
      gated.open();
      await()
          .atMost(Duration.ofSeconds(10))
          .until(() -> counted(registry, "cache.stale.refused", "tier", "l2") == 1);
      assertThat(inL2(name, "k")).isEqualTo(inL2);
      assertThat(other.get("k", k -> "fresh")).isEqualTo(read);
    }
  }

  @Test
  void writeBacksInFlightAreBoundedAndTheExtraOnesAreDroppedAndCounted() {
    String name = StoreKit.uniqueName("writeback");
    Gated gated = new Gated();
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    int misses = 300;
    int bound = 256;
    try (TieredCache<String, String> cache = cache(name, gated.store, registry, Duration.ofSeconds(5))) {
      for (int i = 0; i < misses; i++) {
        assertThat(cache.get("k" + i, k -> "v:" + k)).isEqualTo("v:k" + i);
      }
      assertThat(gated.held.get()).isEqualTo(bound);
      assertThat(counted(registry, "cache.l2.errors", "op", "write-back-dropped")).isEqualTo(misses - bound);
      gated.open();
      await().atMost(Duration.ofSeconds(20)).until(() -> ("v:k" + (bound - 1)).equals(inL2(name, "k" + (bound - 1))));
      await().atMost(Duration.ofSeconds(20)).until(() -> "v:k0".equals(inL2(name, "k0")));
      // Room again once they landed.
      await().atMost(Duration.ofSeconds(20)).until(() -> {
        cache.invalidateKey("again");
        cache.get("again", k -> "v:again");
        return "v:again".equals(inL2(name, "again"));
      });
    }
  }

  @Test
  void aWriteBackThatTimesOutIsCountedAsAnL2PutError() {
    String name = StoreKit.uniqueName("writeback");
    Gated gated = new Gated();
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    try (TieredCache<String, String> cache = cache(name, gated.store, registry, Duration.ofMillis(200))) {
      assertThat(cache.get("k", k -> "loaded")).isEqualTo("loaded");
      await().atMost(Duration.ofSeconds(10)).until(() -> counted(registry, "cache.l2.errors", "op", "put") == 1);
      gated.open();
    }
  }

  @Test
  void closeWaitsForAWriteBackInFlightAtMostAboutTheL2Timeout() {
    String name = StoreKit.uniqueName("writeback");
    Gated gated = new Gated();
    TieredCache<String, String> cache = cache(name, gated.store, new SimpleMeterRegistry(), Duration.ofMillis(300));
    assertThat(cache.get("k", k -> "loaded")).isEqualTo("loaded");
    long start = System.nanoTime();
    cache.close();
    long took = System.nanoTime() - start;
    assertThat(took).isGreaterThanOrEqualTo(TimeUnit.MILLISECONDS.toNanos(250)).isLessThan(TimeUnit.SECONDS.toNanos(5));
    gated.open();
  }

  @Test
  void aLoadThatEndsAfterCloseSendsNoWriteBack() throws Exception {
    String name = StoreKit.uniqueName("writeback");
    Gated gated = new Gated();
    gated.open();
    TieredCache<String, String> cache = cache(name, gated.store, new SimpleMeterRegistry(), Duration.ofSeconds(5));
    CountDownLatch loading = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    CompletableFuture<String> got =
        CompletableFuture.supplyAsync(
            () -> cache.get("k", k -> {
              loading.countDown();
              try {
                release.await(10, TimeUnit.SECONDS);
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
              return "loaded";
            }),
            runnable -> new Thread(runnable, "loader").start());
    assertThat(loading.await(10, TimeUnit.SECONDS)).isTrue();
    cache.close();
    release.countDown();
    assertThat(got.get(10, TimeUnit.SECONDS)).isEqualTo("loaded");
    assertThat(gated.held.get()).isZero();
    assertThat(inL2(name, "k")).isNull();
  }
}
