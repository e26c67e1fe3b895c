package dev.tiercache.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tiercache.Invalidation;
import dev.tiercache.InvalidationStrategy;
import dev.tiercache.L1Settings;
import dev.tiercache.TieredCache;
import dev.tiercache.codec.ValueCodecs;
import dev.tiercache.redis.testing.RedisExtension;
import dev.tiercache.spi.InvalidationBus;
import dev.tiercache.spi.InvalidationMessage;
import dev.tiercache.spi.L2Store;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.DefaultClientResources;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Review 7 of the bus's hand-over on the event loop (issue 11): what it must not wait for, the order a heartbeat's
 * proof rests on (with a gap in the middle), and what a forged stamp must not make the tier believe.
 *
 * <p>A single-key message is applied on Lettuce's event loop when nothing waits on the bus's delivery thread
 * (issue 11). Applying it takes the key's stripe of the invalidation log; whatever holds that stripe meanwhile must not
 * be user code that can take long, or the event loop (and every connection it serves) waits for it, which issue 9
 * defect 19 ruled out. These tests hold user code (a custom strategy's matcher, an L1 weigher) at the point where an
 * install runs it, have another instance invalidate the same key, and check that the instance's Redis connections
 * still answer. The receiving client has two I/O threads (Lettuce's least), and the test opens connections on each of
 * them, so one shares the Pub/Sub connection's event loop, as connections do whenever they outnumber I/O threads.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RedisInlineDeliveryTest {

  @RegisterExtension static final RedisExtension REDIS = RedisExtension.standalone();

  private static final String KEY = "user:42";

  private final String name = "inline-" + Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 1);
  private final List<AutoCloseable> resources = new ArrayList<>();
  /** Threads of their own for what the tests hold: the common pool may have a single one on a small machine. */
  private final java.util.concurrent.ExecutorService threads = java.util.concurrent.Executors.newCachedThreadPool();

  /** Armed, it holds the caller on {@link #release} when it is asked about {@link #KEY}. */
  private final Gate gate = new Gate();

  @AfterEach
  void close() throws Exception {
    gate.release.countDown();
    for (int i = resources.size() - 1; i >= 0; i--) {
      resources.get(i).close();
    }
    threads.shutdownNow();
  }

  /** User code that blocks while armed: a matcher or a weigher whose work takes long. */
  static final class Gate {
    volatile boolean armed;
    final CountDownLatch entered = new CountDownLatch(1);
    final CountDownLatch release = new CountDownLatch(1);

    void pass(String key) {
      if (armed && key.equals(KEY)) {
        entered.countDown();
        try {
          // Bounded: the test fails on its assertions rather than hanging if nobody releases it.
          release.await(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
    }
  }

  /** A custom strategy whose matcher runs through the gate. */
  private InvalidationStrategy gated() {
    return new InvalidationStrategy() {
      @Override
      public String name() {
        return "gated";
      }

      @Override
      public EntryMatcher matcher(String argument) {
        return (key, tags) -> {
          gate.pass(key);
          return false;
        };
      }

      @Override
      public CompletableFuture<Void> applyTo(L2Store store, String cache, String argument) {
        return CompletableFuture.completedFuture(null);
      }
    };
  }

  private RedisClient client(int ioThreads) {
    ClientResources clientResources = DefaultClientResources.builder().ioThreadPoolSize(ioThreads).build();
    RedisClient client = RedisClient.create(clientResources, REDIS.uri());
    client.setOptions(RedisTier.recommendedClientOptions());
    resources.add(() -> clientResources.shutdown(0, 2, TimeUnit.SECONDS).get(5, TimeUnit.SECONDS));
    resources.add(() -> client.shutdown(Duration.ZERO, Duration.ofSeconds(2)));
    return client;
  }

  /** A tier of its own client, as another application instance has. */
  private RedisTier tier() {
    RedisTier tier = RedisTier.create(client(2));
    resources.add(tier);
    return tier;
  }

  private TieredCache<String, String> cache(RedisClient client, Consumer<L1Settings> l1) {
    RedisTier tier = RedisTier.create(client);
    resources.add(tier);
    return cache(tier, l1);
  }

  private TieredCache<String, String> cache(RedisTier tier, Consumer<L1Settings> l1) {
    TieredCache<String, String> cache = TieredCache.<String, String>builder(name)
        .keyCodec(k -> k)
        .l1(l1)
        .l2(tier)
        .valueCodec(ValueCodecs.string())
        .invalidationStrategy(gated())
        .build();
    resources.add(cache);
    return cache;
  }

  /**
   * An install checks the entry against recent custom invalidations, running their user matchers. Another instance's
   * invalidation of the same key arrives meanwhile and is applied on the event loop: it must not wait for the matcher.
   */
  @Test
  void aSlowCustomMatcherDoesNotStallTheEventLoop() throws Exception {
    // Ends while the load runs, so the load's install checks the entry against it (and runs its matcher).
    assertHeldInstallLeavesTheEventLoopFree(
        l1 -> l1.maximumSize(1_000), b -> b.invalidate(Invalidation.of(gated(), "anything")));
  }

  /**
   * An install puts the entry into the L1, whose weigher (user code) weighs it. Another instance's invalidation of
   * the same key arrives meanwhile and is applied on the event loop: it must not wait for the weigher.
   */
  @Test
  void aSlowWeigherDoesNotStallTheEventLoop() throws Exception {
    assertHeldInstallLeavesTheEventLoopFree(l1 -> l1.maximumWeight(1_000_000, (String k, String v) -> {
      gate.pass(k);
      return 1;
    }), b -> {});
  }

  /**
   * Loads {@link #KEY} on an instance whose L1 has {@code l1}, runs {@code duringLoad} there while the loader runs,
   * then lets the install reach the armed {@link #gate} and checks that another instance's invalidation of the key
   * leaves the event loops free.
   */
  private void assertHeldInstallLeavesTheEventLoopFree(
      Consumer<L1Settings> l1, Consumer<TieredCache<String, String>> duringLoad) throws Exception {
    RedisClient receiving = client(2);
    TieredCache<String, String> b = cache(receiving, l1);
    TieredCache<String, String> a = cache(client(2), settings -> settings.maximumSize(1_000));

    CountDownLatch loaded = new CountDownLatch(1);
    CompletableFuture<String> read = loading(b, loaded);
    duringLoad.accept(b);
    gate.armed = true;
    loaded.countDown();

    assertEventLoopStaysFree(receiving, a);
    gate.release.countDown();
    assertThat(read.get(5, TimeUnit.SECONDS)).isEqualTo("old");
  }

  /**
   * A foreign frame of single-key shape that the cache cannot apply (an empty key) makes the cache clear its L1, an
   * invalidation of everything, which waits for the log's lock of invalidations that cover many keys; a local one
   * holds it while it runs user matchers on the loads in flight. Such a frame must not be applied on the event loop.
   */
  @Test
  void aForeignEmptyKeyDoesNotWaitOnTheEventLoopForAManyKeyInvalidation() throws Exception {
    RedisClient receiving = client(2);
    TieredCache<String, String> b = cache(receiving, l1 -> l1.maximumSize(1_000));

    CountDownLatch loaded = new CountDownLatch(1);
    CompletableFuture<String> read = loading(b, loaded);
    gate.armed = true;
    // Detaches the load in flight under the log's lock: its matcher is asked about KEY and holds there.
    CompletableFuture<Void> invalidating = CompletableFuture.runAsync(
        () -> b.invalidate(Invalidation.of(gated(), "x")), threads);
    try (StatefulRedisConnection<byte[], byte[]> foreign =
        receiving.connect(io.lettuce.core.codec.ByteArrayCodec.INSTANCE)) {
      String channel = new KeySpace(RedisTierOptions.builder().build().namespace(), 1).channel(name);
      assertEventLoopStaysFree(receiving, () -> foreign.sync().publish(
          channel.getBytes(java.nio.charset.StandardCharsets.UTF_8),
          BusFrames.message(new InvalidationMessage("foreign", 1, System.currentTimeMillis(),
              List.of(new InvalidationMessage.Item("key", ""))))));
    }
    gate.release.countDown();
    loaded.countDown();
    invalidating.get(5, TimeUnit.SECONDS);
    read.get(5, TimeUnit.SECONDS);
  }

  /**
   * An announcement's stamp carries the version its script took, which the tier remembers as seen in the bucket and
   * passes to its next script there. A forged stamp of 16 digits beyond what a Lua number counts exactly (2^53)
   * must not be remembered: the script would set the bucket's clock to it, rounded, and write it back with 17
   * digits, which every script then reads as a corrupt clock (re-seeded, floor raised) for as long as the tier
   * passes the figure on, that is, for good.
   */
  @Test
  void aForgedStampBeyondWhatLuaCountsIsNotSeen() throws Exception {
    RedisClient receiving = client(2);
    RedisTier tier = RedisTier.create(receiving);
    resources.add(tier);
    TieredCache<String, String> b = cache(tier, l1 -> l1.maximumSize(1_000));
    RedisTierOptions options = RedisTierOptions.builder().build();
    KeySpace keys = new KeySpace(options.namespace(), options.buckets(false));
    int bucket = keys.bucketOf(KEY);
    long published = System.nanoTime();
    try (StatefulRedisConnection<byte[], byte[]> foreign =
        receiving.connect(io.lettuce.core.codec.ByteArrayCodec.INSTANCE)) {
      byte[] announcement = BusFrames.announcement(message("key", "other"), bucket);
      byte[] version = "9999999999999999".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
      byte[] forged = java.util.Arrays.copyOf(announcement, announcement.length + version.length);
      System.arraycopy(version, 0, forged, announcement.length, version.length);
      foreign.sync().publish(keys.channel(name).getBytes(java.nio.charset.StandardCharsets.UTF_8), forged);
    }
    // Handled once a heartbeat sent after it came back.
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(5))
        .until(() -> tier.bus().heartbeat(name).get(5, TimeUnit.SECONDS) - published > 0);
    b.put(KEY, "v");
    try (StatefulRedisConnection<String, String> raw = receiving.connect()) {
      String clock = raw.sync().get(keys.clock(name, bucket));
      assertThat(clock).as("the bucket's clock").hasSizeLessThanOrEqualTo(16);
      assertThat(Long.parseLong(clock)).isLessThan(1L << 53);
    }
  }

  /**
   * The order a heartbeat's proof rests on, with both ways of delivery mixed: single-key messages (handed over on the
   * event loop when nothing waits on the delivery thread) between tag messages (always on that thread, each taking a
   * while there), so the queue fills and empties at every moment of the stream. Each heartbeat is checked as its echo
   * is counted: by then every message whose publish returned before the heartbeat was sent has been applied.
   */
  @Test
  void noHeartbeatIsCountedBeforeTheMessagesPublishedBeforeItWereApplied() throws Exception {
    InvalidationBus receiving = tier().bus();
    InvalidationBus sending = tier().bus();
    AtomicLong applied = new AtomicLong();
    List<Long> order = new CopyOnWriteArrayList<>();
    AtomicInteger onEventLoop = new AtomicInteger();
    AtomicInteger onDeliveryThread = new AtomicInteger();
    resources.add(receiving.subscribe(name, new RecordingListener() {
      @Override
      public void onMessage(InvalidationMessage message) {
        if (message.invalidations().get(0).strategy().equals("tag")) {
          // Work that takes a while (an L1 sweep), not a wait for anything.
          long until = System.nanoTime() + ThreadLocalRandom.current().nextLong(200_000);
          while (System.nanoTime() - until < 0) {
            Thread.onSpinWait();
          }
        }
        (Thread.currentThread().getName().startsWith("tiercache-bus-delivery") ? onDeliveryThread : onEventLoop)
            .incrementAndGet();
        order.add(message.sequence());
        applied.incrementAndGet();
      }
    }));

    Random random = new Random(7);
    // Per batch: when its publishes had all returned, and how many messages were published by then.
    List<long[]> published = new CopyOnWriteArrayList<>();
    List<String> violations = new CopyOnWriteArrayList<>();
    List<CompletableFuture<?>> heartbeats = new ArrayList<>();
    long sequence = 0;
    for (int batch = 0; batch < 60; batch++) {
      boolean quiet = batch % 10 == 0;
      if (quiet) {
        // Now and then the stream pauses until the delivery thread has caught up, and goes on with a single-key
        // message, which is then delivered on the event loop: on a busy machine the queue may otherwise never
        // empty, and the stream would test one way of delivery only.
        long sentSoFar = sequence;
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> applied.get() == sentSoFar);
      }
      List<CompletableFuture<Void>> sent = new ArrayList<>();
      for (int i = 0; i < 1 + random.nextInt(40); i++) {
        sequence++;
        String strategy = (quiet && i == 0) || random.nextInt(5) != 0 ? "key" : "tag";
        sent.add(sending.publish(name, new InvalidationMessage("other", sequence, System.currentTimeMillis(),
            List.of(new InvalidationMessage.Item(strategy, "a" + sequence)))));
      }
      CompletableFuture.allOf(sent.toArray(CompletableFuture[]::new)).get(5, TimeUnit.SECONDS);
      published.add(new long[] {System.nanoTime(), sequence});
      // Checked in the stage the echo completes, on the thread that counts it: later would be too lenient.
      heartbeats.add(receiving.heartbeat(name).thenAccept(sentAt -> {
        long seen = applied.get();
        long due = published.stream().filter(p -> p[0] - sentAt < 0).mapToLong(p -> p[1]).max().orElse(0);
        if (seen < due) {
          violations.add("heartbeat sent at " + sentAt + " counted with " + seen + " of " + due + " applied");
        }
      }));
    }
    for (CompletableFuture<?> heartbeat : heartbeats) {
      heartbeat.get(5, TimeUnit.SECONDS);
    }
    long last = sequence;
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> applied.get() == last);
    assertThat(violations).isEmpty();
    assertThat(order).isSorted();
    // Both ways were taken, so the order held across them.
    assertThat(onEventLoop.get()).isPositive();
    assertThat(onDeliveryThread.get()).isPositive();
  }

  /**
   * A gap while messages wait on the delivery thread: the Pub/Sub connection is killed while a tag message holds that
   * thread with a single-key message behind it. The listener hears lost at once, then suspect (its L1 clear) and
   * restored once resubscribed, behind the messages that arrived before the gap; a heartbeat sent after the
   * resubscription is counted only after the waiting messages were applied and the L1 cleared, and messages published
   * after the gap wait behind them too (none of them is handed over on the event loop ahead of the queue).
   */
  @Test
  void aGapWhileMessagesWaitKeepsTheirOrderAndTheProof() throws Exception {
    RedisBus receiving = (RedisBus) tier().bus();
    InvalidationBus sending = tier().bus();
    List<String> applied = new CopyOnWriteArrayList<>();
    CountDownLatch tagArrived = new CountDownLatch(1);
    RecordingListener listener = new RecordingListener() {
      @Override
      public void onMessage(InvalidationMessage message) {
        InvalidationMessage.Item item = message.invalidations().get(0);
        if (item.strategy().equals("tag")) {
          tagArrived.countDown();
          await(gate.release);
        }
        applied.add(item.argument());
      }
    };
    resources.add(receiving.subscribe(name, listener));
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> receiving.deliveriesWaiting() == 0);

    sending.publish(name, message("key", "first")).get(5, TimeUnit.SECONDS);
    sending.publish(name, message("tag", "t")).get(5, TimeUnit.SECONDS);
    assertThat(tagArrived.await(5, TimeUnit.SECONDS)).isTrue();
    sending.publish(name, message("key", "behind")).get(5, TimeUnit.SECONDS);
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> receiving.deliveriesWaiting() == 2);

    try (RedisClient adminClient = RedisClient.create(REDIS.uri());
        StatefulRedisConnection<String, String> admin = adminClient.connect()) {
      assertThat(admin.sync().clientKill(io.lettuce.core.KillArgs.Builder.typePubsub())).isPositive();
    }
    // Subscribed again once a heartbeat may be sent; the clear and restored wait behind the tag and "behind".
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10))
        .until(() -> !receiving.heartbeat(name).isCompletedExceptionally());
    assertThat(listener.events).containsExactly("restored", "lost");
    List<String> appliedWhenCounted = new CopyOnWriteArrayList<>();
    List<String> eventsWhenCounted = new CopyOnWriteArrayList<>();
    CompletableFuture<Void> heartbeat = receiving.heartbeat(name).thenAccept(t -> {
      appliedWhenCounted.addAll(applied);
      eventsWhenCounted.addAll(listener.events);
    });
    sending.publish(name, message("key", "after")).get(5, TimeUnit.SECONDS);
    // The resubscription's clear, the echo and the message published after the gap wait behind the tag and the
    // message before it.
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> receiving.deliveriesWaiting() == 5);
    assertThat(heartbeat).isNotDone();
    assertThat(applied).containsExactly("first");

    gate.release.countDown();
    heartbeat.get(5, TimeUnit.SECONDS);
    assertThat(eventsWhenCounted).containsExactly("restored", "lost", "suspect", "restored");
    // The heartbeat goes out on the receiving tier's connection and "after" on the sending tier's, so Redis may run
    // them in either order: the echo proves the three published before it, and "after" only if it ran first.
    assertThat(appliedWhenCounted).startsWith("first", "t", "behind");
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> applied.size() == 4);
    assertThat(applied).containsExactly("first", "t", "behind", "after");
  }

  /**
   * A cache that was live clears its L1 when its channel is subscribed again, which may sweep a large L1 or wait for a
   * many-key invalidation running user matchers: that happens on the delivery thread, never on the event loop that
   * confirmed the subscription (the L1 clear is held here in user code, and every event loop must still answer).
   */
  @Test
  void aResubscriptionClearsTheL1OffTheEventLoop() throws Exception {
    RedisClient client = client(2);
    RedisTier tier = RedisTier.create(client);
    resources.add(tier);
    RecordingListener listener = new RecordingListener() {
      @Override
      public void onSuspect(String reason) {
        super.onSuspect(reason);
        gate.pass(KEY); // the L1 clear, taking long
      }
    };
    resources.add(tier.bus().subscribe(name, listener));
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> listener.events.contains("restored"));
    gate.armed = true;

    try (RedisClient adminClient = RedisClient.create(REDIS.uri());
        StatefulRedisConnection<String, String> admin = adminClient.connect()) {
      assertThat(admin.sync().clientKill(io.lettuce.core.KillArgs.Builder.typePubsub())).isPositive();
    }
    assertEventLoopStaysFree(client, () -> {});
    assertThat(listener.events).containsExactly("restored", "lost", "suspect");
    gate.release.countDown();
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(5))
        .until(() -> listener.events.equals(List.of("restored", "lost", "suspect", "restored")));
  }

  /**
   * Review 8: the resubscription's clear runs on the delivery thread, off the bus's lock, so the subscription can drop
   * again while it runs. The listener must then not be told restored for the subscription that dropped: it would
   * believe a bus receives that does not, and never hear the drop (the second drop's lost was swallowed because the
   * subscriber was still marked lost, and the stale task then marked it live). Here the first resubscription's L1 clear
   * is held while the Pub/Sub connection is killed a second time and subscribed a third time.
   */
  @Test
  void aDropWhileTheResubscriptionClearRunsIsNotFollowedByRestored() throws Exception {
    RedisClient client = client(2);
    RedisTier tier = RedisTier.create(client);
    resources.add(tier);
    RedisBus bus = (RedisBus) tier.bus();
    RecordingListener listener = new RecordingListener() {
      @Override
      public void onSuspect(String reason) {
        super.onSuspect(reason);
        gate.pass(KEY); // the first resubscription's L1 clear, held
      }
    };
    resources.add(bus.subscribe(name, listener));
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> listener.events.contains("restored"));
    gate.armed = true;

    try (RedisClient adminClient = RedisClient.create(REDIS.uri());
        StatefulRedisConnection<String, String> admin = adminClient.connect()) {
      assertThat(admin.sync().clientKill(io.lettuce.core.KillArgs.Builder.typePubsub())).isPositive();
      assertThat(gate.entered.await(10, TimeUnit.SECONDS)).isTrue(); // subscribed again; its clear is held
      assertThat(listener.events).containsExactly("restored", "lost", "suspect");
      assertThat(admin.sync().clientKill(io.lettuce.core.KillArgs.Builder.typePubsub())).isPositive();
    }
    // Dropped and subscribed once more: the held task, and the one of the third subscription behind it.
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> bus.deliveriesWaiting() == 2);
    gate.release.countDown();
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> bus.deliveriesWaiting() == 0);
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(5))
        .until(() -> listener.events.get(listener.events.size() - 1).equals("restored"));
    // Between two restored, the listener heard the drop; the subscription that dropped was never announced live.
    List<String> events = List.copyOf(listener.events);
    int lastRestored = -1;
    for (int i = 0; i < events.size(); i++) {
      if (events.get(i).equals("restored")) {
        if (lastRestored >= 0) {
          assertThat(events.subList(lastRestored, i)).as("events %s", events).contains("lost");
        }
        lastRestored = i;
      }
    }
    assertThat(events).containsExactly("restored", "lost", "suspect", "suspect", "restored");
  }

  private static InvalidationMessage message(String strategy, String argument) {
    return new InvalidationMessage("other", 1, System.currentTimeMillis(),
        List.of(new InvalidationMessage.Item(strategy, argument)));
  }

  /** Starts a read of {@link #KEY} on {@code cache} whose loader runs until {@code loaded}; returns once it runs. */
  private CompletableFuture<String> loading(TieredCache<String, String> cache, CountDownLatch loaded)
      throws InterruptedException {
    CountDownLatch loading = new CountDownLatch(1);
    CompletableFuture<String> read = CompletableFuture.supplyAsync(() -> cache.get(KEY, k -> {
      loading.countDown();
      await(loaded);
      return "old";
    }), threads);
    assertThat(loading.await(5, TimeUnit.SECONDS)).isTrue();
    return read;
  }

  /**
   * Holds an install in user code ({@link #gate} entered), has {@code invalidating} invalidate the key, and checks
   * that a connection of {@code receiving} answers throughout while that message is applied.
   */
  private void assertEventLoopStaysFree(RedisClient receiving, TieredCache<String, String> invalidating)
      throws Exception {
    // Returns once the script published the message: Redis has written it to the receiving bus by then.
    assertEventLoopStaysFree(receiving, () -> invalidating.invalidate(Invalidation.key(KEY)));
  }

  private void assertEventLoopStaysFree(RedisClient receiving, Runnable publish) throws Exception {
    // Channels take the event loops in turn: consecutive connections land on every loop of the client.
    List<StatefulRedisConnection<String, String>> sides = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      StatefulRedisConnection<String, String> side = receiving.connect();
      resources.add(side::close);
      sides.add(side);
    }
    assertThat(gate.entered.await(5, TimeUnit.SECONDS)).isTrue();
    publish.run();
    long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(1_500);
    int answered = 0;
    while (System.nanoTime() - until < 0) {
      // PINGs served by every event loop of the client, the bus's included: late only if a loop is held.
      for (StatefulRedisConnection<String, String> side : sides) {
        side.async().ping().toCompletableFuture().get(500, TimeUnit.MILLISECONDS);
        answered++;
      }
    }
    assertThat(answered).isPositive();
  }

  private static void await(CountDownLatch latch) {
    try {
      latch.await(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
