package dev.tiercache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.awaitility.Awaitility.await;

import dev.tiercache.spi.InvalidationBus;
import dev.tiercache.spi.InvalidationMessage;
import dev.tiercache.spi.L2Entry;
import dev.tiercache.testkit.ForwardingL2Store;
import dev.tiercache.testkit.InMemoryBus;
import dev.tiercache.testkit.InMemoryL2Store;
import dev.tiercache.testkit.TestCodec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A bus whose {@code publish} or {@code heartbeat} throws an {@link Error} (a bus implementation's bug) is handled as
 * one that refuses: the message stays in the outbox and is retried until the bus takes it, the retries keep coming,
 * and the heartbeats keep their schedule. The caller of an invalidation or a put whose publish threw sees that Error
 * unchanged, as when the L2 store throws one (StoreErrorInvalidationTest). Without that, the message was dropped and
 * the other instances kept serving what it covered from their L1 for good.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class BusErrorTest {

  private static final String NAME = "bus-error";
  private static final Duration HEAL = Duration.ofSeconds(10);

  /** What the bus's bug throws. */
  static final class BusBug extends Error {
    private static final long serialVersionUID = 1L;

    BusBug() {
      super("a bus's bug", null, false, false);
    }
  }

  /** How a call of the bus goes. */
  enum Mode {
    WORKS,
    /** Throws a BusBug instead of returning a future. */
    THROWS,
    /** Returns a future that fails with a BusBug. */
    FAILS_WITH_ERROR,
    /** Returns a future that fails with an exception, as a bus that is down does. */
    REFUSES,
    /** Returns no future at all (null): a bus's bug, as DeliveryProof already takes it for a heartbeat. */
    RETURNS_NULL,
    /** Returns a future that never completes (a bus with no timeout on a connection that went silent). */
    HANGS,
    /** Delivers at once but completes the future only after {@link #SLOW_ANSWER}, past the L2 timeout (250 ms). */
    SLOW
  }

  static final Duration SLOW_ANSWER = Duration.ofMillis(600);

  /** One instance's view of the shared in-process bus, whose calls misbehave as told. */
  static final class ErrorBus implements InvalidationBus {
    final InMemoryBus delivery;
    volatile Mode publish = Mode.WORKS;
    volatile Mode heartbeat = Mode.WORKS;
    final AtomicInteger publishCalls = new AtomicInteger();
    final AtomicInteger heartbeatCalls = new AtomicInteger();
    final AtomicReference<BusBug> thrown = new AtomicReference<>();
    final List<Listener> listeners = new ArrayList<>();

    ErrorBus(InMemoryBus delivery) {
      this.delivery = delivery;
    }

    @Override
    public CompletableFuture<Void> publish(String cache, InvalidationMessage message) {
      publishCalls.incrementAndGet();
      return call(publish, () -> delivery.publish(cache, message));
    }

    @Override
    public CompletableFuture<Long> heartbeat(String cache) {
      heartbeatCalls.incrementAndGet();
      return call(heartbeat, () -> delivery.heartbeat(cache));
    }

    private <T> CompletableFuture<T> call(Mode mode, Supplier<CompletableFuture<T>> works) {
      switch (mode) {
        case THROWS -> {
          BusBug bug = new BusBug();
          thrown.set(bug);
          throw bug;
        }
        case FAILS_WITH_ERROR -> {
          return CompletableFuture.failedFuture(new BusBug());
        }
        case REFUSES -> {
          return CompletableFuture.failedFuture(new IllegalStateException("test: bus down"));
        }
        case RETURNS_NULL -> {
          return null;
        }
        case HANGS -> {
          return new CompletableFuture<>();
        }
        case SLOW -> {
          return works.get().thenApplyAsync(
              done -> done, CompletableFuture.delayedExecutor(SLOW_ANSWER.toMillis(), TimeUnit.MILLISECONDS));
        }
        default -> {
          return works.get();
        }
      }
    }

    /** Thrown by the subscription's close, after it closed, when set. */
    volatile Error unsubscribeThrows;
    /** Thrown by subscribe instead of subscribing, when set. */
    volatile Error subscribeThrows;

    @Override
    public synchronized Subscription subscribe(String cache, Listener listener) {
      if (subscribeThrows != null) {
        throw subscribeThrows;
      }
      listeners.add(listener);
      Subscription real = delivery.subscribe(cache, listener);
      return () -> {
        real.close();
        Error bug = unsubscribeThrows;
        if (bug != null) {
          throw bug;
        }
      };
    }
  }

  private final InMemoryBus delivery = new InMemoryBus();
  private final ErrorBus busA = new ErrorBus(delivery);
  private final List<TieredCache<String, String>> caches = new ArrayList<>();
  /** The other instance, which must hear what A invalidates. */
  private TieredCache<String, String> b;

  private TieredCache<String, String> node(ErrorBus bus) {
    return node(TieredCache.<String, String>builder(NAME).bus(bus));
  }

  private TieredCache<String, String> node(TieredCacheBuilder<String, String> builder) {
    TieredCache<String, String> cache =
        builder.l2RetryInterval(Duration.ofMillis(20)).maxStaleness(Duration.ofMillis(200)).build();
    caches.add(cache);
    return cache;
  }

  @AfterEach
  void close() {
    busA.publish = Mode.WORKS;
    busA.heartbeat = Mode.WORKS;
    caches.forEach(TieredCache::close);
  }

  /** Builds A and B, B serving "old" for the key from its L1; returns A. */
  private TieredCache<String, String> aWhileBServesOld(String key) {
    TieredCache<String, String> a = node(busA);
    b = node(new ErrorBus(delivery));
    assertThat(b.get(key, k -> "old")).isEqualTo("old");
    assertThat(b.get(key, k -> "new")).as("B serves its L1").isEqualTo("old");
    return a;
  }

  /** Heals A's bus; B serves the old value from its L1 until an invalidation of the key reaches it. */
  private void healAndAwaitDropped(String key) {
    busA.publish = Mode.WORKS;
    await().atMost(HEAL).untilAsserted(() -> assertThat(b.get(key, k -> "new")).isEqualTo("new"));
  }

  @Test
  void anInvalidationWhosePublishThrowsAnErrorReachesTheOthersOnceTheBusHeals() {
    TieredCache<String, String> a = aWhileBServesOld("user:1");

    busA.publish = Mode.THROWS;
    Throwable thrown = catchThrowable(() -> a.invalidate(Invalidation.key("user:1")));
    assertThat(thrown).as("the caller sees the bus's Error unchanged").isSameAs(busA.thrown.get());

    healAndAwaitDropped("user:1");
  }

  @Test
  void aPutWhosePublishThrowsAnErrorReachesTheOthersOnceTheBusHeals() {
    TieredCache<String, String> a = aWhileBServesOld("user:2");

    busA.publish = Mode.THROWS;
    Throwable thrown = catchThrowable(() -> a.put("user:2", "written"));
    assertThat(thrown).isSameAs(busA.thrown.get());

    healAndAwaitDropped("user:2");
  }

  @Test
  void aPublishWhoseFutureFailsWithAnErrorIsPendingAndRetried() {
    TieredCache<String, String> a = aWhileBServesOld("user:3");

    busA.publish = Mode.FAILS_WITH_ERROR;
    Throwable thrown = catchThrowable(() -> a.invalidate(Invalidation.key("user:3")));
    assertThat(thrown).isInstanceOf(InvalidationPendingException.class).hasCauseInstanceOf(BusBug.class);

    healAndAwaitDropped("user:3");
  }

  @Test
  void retriesThatMeetAnErrorKeepComingAndTheMessageGoesOutOnceTheBusHeals() {
    assertRetriesKeepComingAndTheMessageGoesOut("user:4", Mode.THROWS);
  }

  @Test
  void theAnnouncementOfARetriedInvalidationWhosePublishThrowsIsNotLost() {
    InMemoryL2Store memory = new InMemoryL2Store();
    AtomicBoolean storeDown = new AtomicBoolean();
    ForwardingL2Store storeA = new ForwardingL2Store(memory) {
      @Override
      public CompletableFuture<Void> invalidateKey(String cache, String key) {
        if (storeDown.get()) {
          return CompletableFuture.failedFuture(new IllegalStateException("test: store down"));
        }
        return super.invalidateKey(cache, key);
      }
    };
    TieredCache<String, String> a =
        node(TieredCache.<String, String>builder(NAME).keyCodec(k -> k).l2(storeA).valueCodec(TestCodec.STRING)
            .bus(busA));
    b =
        node(TieredCache.<String, String>builder(NAME).keyCodec(k -> k).l2(memory).valueCodec(TestCodec.STRING)
            .bus(new ErrorBus(delivery)));
    assertThat(b.get("user:5", k -> "old")).isEqualTo("old");

    storeDown.set(true);
    busA.publish = Mode.THROWS;
    assertThat(catchThrowable(() -> a.invalidate(Invalidation.key("user:5"))))
        .isInstanceOf(InvalidationPendingException.class);
    int before = busA.publishCalls.get();
    storeDown.set(false);
    await().atMost(HEAL).until(() -> a.status().pendingInvalidations() == 0 && busA.publishCalls.get() > before);
    L2Entry left = memory.get(NAME, "user:5").join().entry();
    assertThat(left).as("the retry reached the L2").isNull();
    assertThat(b.get("user:5", k -> "new")).as("B has not heard of it yet: the bus threw").isEqualTo("old");

    healAndAwaitDropped("user:5");
  }

  @Test
  void heartbeatsThatThrowAnErrorStopTheProofNotTheReadsNorTheSchedule() {
    TieredCache<String, String> a = node(busA);
    assertThat(a.get("user:6", k -> "old")).isEqualTo("old");
    assertThat(a.status().l1Served()).isTrue();

    busA.heartbeat = Mode.THROWS;
    int before = busA.heartbeatCalls.get();
    await().atMost(HEAL).until(() -> busA.heartbeatCalls.get() > before);
    // Reads past the bound: each may ask for a heartbeat, which throws; the read goes on past the L1.
    await().atMost(HEAL).pollInterval(Duration.ofMillis(20)).untilAsserted(() -> {
      assertThat(a.status().l1Served()).isFalse();
      assertThat(a.get("user:6", k -> "loaded")).isEqualTo("loaded");
    });
    for (InvalidationBus.Listener listener : busA.listeners) {
      assertThatCode(listener::onConnectionRestored).as("the bus's own thread is not handed the Error")
          .doesNotThrowAnyException();
    }
    int during = busA.heartbeatCalls.get();
    await().atMost(HEAL).until(() -> busA.heartbeatCalls.get() >= during + 3);

    busA.heartbeat = Mode.WORKS;
    await().atMost(HEAL).until(() -> a.status().l1Served());
  }

  @Test
  void aCacheBuiltWhileTheHeartbeatThrowsStillBuilds() {
    busA.heartbeat = Mode.THROWS;
    TieredCache<String, String> a = node(busA);
    assertThat(a.status().l1Served()).isFalse();
    busA.heartbeat = Mode.WORKS;
    await().atMost(HEAL).until(() -> a.status().l1Served());
  }

  @Test
  void closingWithAMessageTheBusThrowsOnStillUnsubscribes() {
    TieredCache<String, String> a = node(busA);
    busA.publish = Mode.REFUSES;
    assertThat(catchThrowable(() -> a.invalidate(Invalidation.key("user:7"))))
        .isInstanceOf(InvalidationPendingException.class);
    busA.publish = Mode.THROWS;

    assertThatCode(a::close).doesNotThrowAnyException();
    assertThat(delivery.subscribers(NAME)).as("the subscription is closed").isZero();
  }

  /** A publish that returns no future is a refusal like any other: the message is kept and retried. */
  @Test
  void anInvalidationWhosePublishReturnsNoFutureReachesTheOthersOnceTheBusHeals() {
    TieredCache<String, String> a = aWhileBServesOld("user:8");

    busA.publish = Mode.RETURNS_NULL;
    catchThrowable(() -> a.invalidate(Invalidation.key("user:8")));

    healAndAwaitDropped("user:8");
  }

  @Test
  void retriesThatMeetNoFutureKeepComing() {
    assertRetriesKeepComingAndTheMessageGoesOut("user:9", Mode.RETURNS_NULL);
  }

  @Test
  void closingWithAMessageTheBusReturnsNoFutureForStillUnsubscribes() {
    TieredCache<String, String> a = node(busA);
    busA.publish = Mode.REFUSES;
    assertThat(catchThrowable(() -> a.invalidate(Invalidation.key("user:10"))))
        .isInstanceOf(InvalidationPendingException.class);
    busA.publish = Mode.RETURNS_NULL;

    assertThatCode(a::close).doesNotThrowAnyException();
    assertThat(delivery.subscribers(NAME)).as("the subscription is closed").isZero();
  }

  /** The registry of the tests of meters, and what their bus throws. */
  private final io.micrometer.core.instrument.simple.SimpleMeterRegistry registry =
      new io.micrometer.core.instrument.simple.SimpleMeterRegistry();
  private final BusBug bug = new BusBug();

  /** A builder of A on {@link #registry}, not closed by {@link #close()}. */
  private TieredCacheBuilder<String, String> metered() {
    return TieredCache.<String, String>builder(NAME).bus(busA).meterRegistry(registry);
  }

  /**
   * A subscription whose close throws an Error (the bus's bug) reaches the caller, after the cache has finished its own
   * close: its meters are released from the registry.
   */
  @Test
  void aSubscriptionWhoseCloseThrowsAnErrorStillLetsTheCacheRelease() {
    busA.unsubscribeThrows = bug;
    TieredCache<String, String> a = metered().build();
    assertThat(registry.getMeters()).as("the cache registered its meters").isNotEmpty();

    assertThat(catchThrowable(a::close)).as("the caller sees the bus's Error unchanged").isSameAs(bug);

    assertThat(registry.getMeters()).as("the cache's meters are released all the same").isEmpty();
  }

  /** A cache whose build fails because the bus's subscribe threw leaves nothing registered in the user's registry. */
  @Test
  void aBuildWhoseSubscribeThrowsAnErrorLeavesNoMeters() {
    busA.subscribeThrows = bug;

    TieredCacheBuilder<String, String> builder = metered();
    assertThat(catchThrowable(builder::build))
        .as("the builder's caller sees the bus's Error unchanged").isSameAs(bug);

    assertThat(registry.getMeters()).as("no meters of a cache that was never built").isEmpty();
  }

  /**
   * A publish whose future never completes is, once the L2 timeout has passed, a refusal like any other: the caller was
   * told the invalidation is pending and retried, so the message is kept and retried.
   */
  @Test
  void anInvalidationWhosePublishNeverCompletesReachesTheOthersOnceTheBusHeals() {
    TieredCache<String, String> a = aWhileBServesOld("user:11");

    busA.publish = Mode.HANGS;
    assertThat(catchThrowable(() -> a.invalidate(Invalidation.key("user:11"))))
        .isInstanceOf(InvalidationPendingException.class);

    healAndAwaitDropped("user:11");
  }

  @Test
  void retriesThatNeverCompleteKeepComing() {
    assertRetriesKeepComingAndTheMessageGoesOut("user:12", Mode.HANGS);
  }

  /**
   * A bus that answers every publish after the L2 timeout, but does publish: the late success takes the message out
   * of the outbox, so the retries stop instead of publishing it again for as long as the bus stays slow.
   */
  @Test
  void aPublishAnsweredAfterTheTimeoutIsNotRetriedForever() {
    TieredCache<String, String> a = aWhileBServesOld("user:13");

    busA.publish = Mode.SLOW;
    assertThat(catchThrowable(() -> a.invalidate(Invalidation.key("user:13"))))
        .isInstanceOf(InvalidationPendingException.class);

    await().atMost(HEAL).untilAsserted(() -> assertThat(b.get("user:13", k -> "new")).isEqualTo("new"));
    // Every answer is late, each retry waits for it 250 ms: a few retries at most, then none for a whole second.
    AtomicInteger seen = new AtomicInteger(-1);
    await().atMost(HEAL).pollInterval(Duration.ofSeconds(1))
        .until(() -> busA.publishCalls.get() == seen.getAndSet(busA.publishCalls.get()));
    assertThat(busA.publishCalls.get()).as("publishes of one message").isLessThan(20);
  }

  /** A message the bus refused is retried while each retry meets {@code onRetry}, and goes out once the bus heals. */
  private void assertRetriesKeepComingAndTheMessageGoesOut(String key, Mode onRetry) {
    TieredCache<String, String> a = aWhileBServesOld(key);

    busA.publish = Mode.REFUSES;
    assertThat(catchThrowable(() -> a.invalidate(Invalidation.key(key))))
        .isInstanceOf(InvalidationPendingException.class);
    busA.publish = onRetry;
    int before = busA.publishCalls.get();
    await().atMost(HEAL).until(() -> busA.publishCalls.get() >= before + 3);

    healAndAwaitDropped(key);
  }
}
