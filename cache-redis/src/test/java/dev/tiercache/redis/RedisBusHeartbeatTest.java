package dev.tiercache.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.tiercache.redis.testing.RedisExtension;
import dev.tiercache.spi.InvalidationBus;
import dev.tiercache.spi.InvalidationMessage;
import io.lettuce.core.KillArgs;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * DESIGN.md invariant 2 on a standalone Redis: a heartbeat proves delivery of everything published before it, and
 * stops proving anything while Redis is frozen, paused or cut off, within the heartbeat timeout.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class RedisBusHeartbeatTest {

  @RegisterExtension
  static final RedisExtension REDIS = RedisExtension.standalone().withProcessControl();

  private static final Duration HEARTBEAT_TIMEOUT = Duration.ofMillis(500);

  private final String cache = "hb-" + Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 1);
  private final List<AutoCloseable> resources = new ArrayList<>();
  private RedisTier tier;
  private InvalidationBus bus;

  @BeforeEach
  void open() {
    tier = tier();
    bus = tier.bus();
  }

  @AfterEach
  void close() throws Exception {
    for (int i = resources.size() - 1; i >= 0; i--) {
      resources.get(i).close();
    }
  }

  /**
   * Subscribes the listener and waits (bounded) until Redis confirmed the subscription: subscribing does not wait for
   * it, and until then a heartbeat fails ("the bus is not subscribed"; a fresh-clone CI run once found it 36 ms in).
   */
  private void subscribe(RecordingListener listener) {
    resources.add(bus.subscribe(cache, listener));
    await().atMost(Duration.ofSeconds(10)).until(() -> listener.events.contains("restored"));
  }

  private RedisTier tier() {
    RedisClient client = RedisClient.create(REDIS.uri());
    client.setOptions(RedisTier.recommendedClientOptions());
    RedisTier created = RedisTier.create(client, RedisTierOptions.builder()
        .heartbeatTimeout(HEARTBEAT_TIMEOUT)
        .connectRetryInterval(Duration.ofMillis(100))
        .build());
    resources.add(() -> client.shutdown(Duration.ZERO, Duration.ofSeconds(2)));
    resources.add(created);
    return created;
  }

  @Test
  void aHeartbeatComesBackBehindEveryMessagePublishedBeforeIt() throws Exception {
    RecordingListener listener = new RecordingListener();
    subscribe(listener);
    InvalidationBus other = tier().bus();

    for (int round = 0; round < 20; round++) {
      List<CompletableFuture<Void>> sent = new ArrayList<>();
      for (int i = 1; i <= 50; i++) {
        sent.add(other.publish(cache, RecordingListener.message("other", round * 50L + i, "k" + i)));
      }
      CompletableFuture.allOf(sent.toArray(CompletableFuture[]::new)).get(5, TimeUnit.SECONDS);
      long before = System.nanoTime();
      long sentAt = bus.heartbeat(cache).get(5, TimeUnit.SECONDS);

      // Every message whose publish returned before the heartbeat was sent has been handed to the listener.
      assertThat(sentAt - before).isGreaterThanOrEqualTo(0);
      assertThat(listener.messages).hasSize((round + 1) * 50);
    }
  }

  /**
   * Issue 9 defect 19: what may take long in a listener (a many-key invalidation sweeps the L1 and runs user
   * matchers) runs on the bus's own thread, never on Lettuce's event loop; a message of single keys is handed over on
   * the event loop when nothing waits on that thread (issue 11: the hand-over was most of what the bus added to a raw
   * Pub/Sub round), and behind whatever waits there otherwise.
   */
  @Test
  void manyKeyInvalidationsRunOffTheEventLoopAndSingleKeysNeverOvertakeThem() throws Exception {
    List<String> delivered = new java.util.concurrent.CopyOnWriteArrayList<>();
    java.util.concurrent.CountDownLatch tagArrived = new java.util.concurrent.CountDownLatch(1);
    java.util.concurrent.CountDownLatch releaseTag = new java.util.concurrent.CountDownLatch(1);
    subscribe(new RecordingListener() {
      @Override
      public void onMessage(InvalidationMessage message) {
        InvalidationMessage.Item item = message.invalidations().get(0);
        delivered.add(item.strategy() + ":" + item.argument() + "@" + Thread.currentThread().getName());
        if (item.strategy().equals("tag")) {
          tagArrived.countDown();
          try {
            // Bounded: the test fails on the assertions below rather than hanging if nobody releases it.
            releaseTag.await(10, TimeUnit.SECONDS);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        }
        super.onMessage(message);
      }
    });
    InvalidationBus other = tier().bus();
    RedisBus receiving = (RedisBus) bus;
    // The subscription's probe is handled on the bus's thread; once it is done, nothing waits there.
    await().atMost(Duration.ofSeconds(5)).until(() -> receiving.deliveriesWaiting() == 0);

    other.publish(cache, RecordingListener.message("other", 1, "first")).get(5, TimeUnit.SECONDS);
    await().atMost(Duration.ofSeconds(5)).until(() -> delivered.size() == 1);
    other.publish(cache, tagMessage("other", 2, "t")).get(5, TimeUnit.SECONDS);
    assertThat(tagArrived.await(5, TimeUnit.SECONDS)).isTrue();
    // Arriving while the tag's listener is busy: it waits behind it, and so does the heartbeat's echo.
    other.publish(cache, RecordingListener.message("other", 3, "behind")).get(5, TimeUnit.SECONDS);
    long heartbeatSent = System.nanoTime();
    CompletableFuture<Long> heartbeat = bus.heartbeat(cache);
    await().atMost(Duration.ofSeconds(5)).until(() -> receiving.deliveriesWaiting() == 3);
    // The event loops are free meanwhile: a publish through the same client as the blocked bus goes through.
    bus.publish(cache, RecordingListener.message("other", 4, "behind-too")).get(5, TimeUnit.SECONDS);
    await().atMost(Duration.ofSeconds(5)).until(() -> receiving.deliveriesWaiting() == 4);
    assertThat(delivered).hasSize(2);
    assertThat(heartbeat).isNotDone();
    releaseTag.countDown();

    assertThat(heartbeat.get(5, TimeUnit.SECONDS)).isGreaterThanOrEqualTo(heartbeatSent);
    await().atMost(Duration.ofSeconds(5)).until(() -> delivered.size() == 4 && receiving.deliveriesWaiting() == 0);
    assertThat(delivered.stream().map(d -> d.substring(0, d.indexOf('@'))))
        .containsExactly("key:first", "tag:t", "key:behind", "key:behind-too");
    assertThat(delivered.get(0)).contains("lettuce").doesNotContain("tiercache-bus-delivery");
    assertThat(delivered.subList(1, 4)).allMatch(d -> d.endsWith("@tiercache-bus-delivery"));

    // Once the bus's thread is idle again, single keys are handed over as they arrive.
    other.publish(cache, RecordingListener.message("other", 5, "last")).get(5, TimeUnit.SECONDS);
    await().atMost(Duration.ofSeconds(5)).until(() -> delivered.size() == 5);
    assertThat(delivered.get(4)).startsWith("key:last@").contains("lettuce");
  }

  private static InvalidationMessage tagMessage(String origin, long sequence, String tag) {
    return new InvalidationMessage(
        origin, sequence, System.currentTimeMillis(), List.of(new InvalidationMessage.Item("tag", tag)));
  }

  @Test
  void aFrozenRedisStopsTheProofWithinTheTimeoutAndItResumesAfter() throws Exception {
    subscribe(new RecordingListener());
    long proven = bus.heartbeat(cache).get(5, TimeUnit.SECONDS);

    REDIS.freeze();
    long frozenAt = System.nanoTime();
    CompletableFuture<Long> during = bus.heartbeat(cache);
    assertThatThrownBy(() -> during.get(5, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class);
    // It failed after about the heartbeat timeout, not after Lettuce's command timeout.
    assertThat(Duration.ofNanos(System.nanoTime() - frozenAt)).isLessThan(HEARTBEAT_TIMEOUT.multipliedBy(3));
    for (int i = 0; i < 5; i++) {
      assertThatThrownBy(() -> bus.heartbeat(cache).get(5, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class);
    }
    // Rounds that never came back are not kept.
    assertThat(((RedisBus) bus).heartbeatsInFlight()).isLessThanOrEqualTo(1);

    REDIS.unfreeze();
    long thawed = System.nanoTime();
    await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(20)).ignoreExceptions()
        .until(() -> bus.heartbeat(cache).get(1, TimeUnit.SECONDS) - thawed >= 0);
    assertThat(proven).isLessThan(thawed);
  }

  @Test
  void pausedClientsStopTheProofAndItResumesWhenThePauseEnds() throws Exception {
    subscribe(new RecordingListener());
    bus.heartbeat(cache).get(5, TimeUnit.SECONDS);

    try (StatefulRedisConnection<String, String> admin = adminClient().connect()) {
      admin.sync().clientPause(2_000);
      long pausedAt = System.nanoTime();
      assertThatThrownBy(() -> bus.heartbeat(cache).get(5, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class);
      assertThat(Duration.ofNanos(System.nanoTime() - pausedAt)).isLessThan(Duration.ofMillis(1_900));
      await().atMost(Duration.ofSeconds(6)).pollInterval(Duration.ofMillis(20)).ignoreExceptions()
          .until(() -> bus.heartbeat(cache).get(1, TimeUnit.SECONDS) - pausedAt >= 0);
      assertThat(Duration.ofNanos(System.nanoTime() - pausedAt)).isGreaterThanOrEqualTo(Duration.ofMillis(1_900));
    }
  }

  @Test
  void aDroppedSubscriptionIsLostThenSuspectThenRestoredAndOnlyNewHeartbeatsProve() throws Exception {
    RecordingListener listener = new RecordingListener();
    subscribe(listener);
    assertThat(listener.events).containsExactly("restored");
    bus.heartbeat(cache).get(5, TimeUnit.SECONDS);

    long killedAt = System.nanoTime();
    try (StatefulRedisConnection<String, String> admin = adminClient().connect()) {
      assertThat(admin.sync().clientKill(KillArgs.Builder.typePubsub())).isPositive();
    }
    await().atMost(Duration.ofSeconds(5)).until(() -> listener.events.size() >= 4);
    assertThat(listener.events).containsExactly("restored", "lost", "suspect", "restored");
    // Back within about a second, and the proof resumes with heartbeats sent after the resubscription.
    assertThat(bus.heartbeat(cache).get(5, TimeUnit.SECONDS)).isGreaterThan(killedAt);
    assertThat(Duration.ofNanos(System.nanoTime() - killedAt)).isLessThan(Duration.ofSeconds(2));
  }

  @Test
  void aHeartbeatForACacheWithoutASubscriptionFails() {
    assertThatThrownBy(() -> bus.heartbeat("nobody").get(5, TimeUnit.SECONDS))
        .isInstanceOf(ExecutionException.class)
        .hasCauseInstanceOf(IllegalStateException.class);
  }

  @Test
  void concurrentCallersShareOneRound() throws Exception {
    subscribe(new RecordingListener());
    bus.heartbeat(cache).get(5, TimeUnit.SECONDS);
    List<CompletableFuture<Long>> calls = new ArrayList<>();
    for (int i = 0; i < 100; i++) {
      calls.add(bus.heartbeat(cache));
    }
    List<Long> times = new ArrayList<>();
    for (CompletableFuture<Long> call : calls) {
      times.add(call.get(5, TimeUnit.SECONDS));
    }
    assertThat(times.stream().distinct().count()).isLessThan(100);
  }

  private RedisClient adminClient() {
    RedisClient client = RedisClient.create(REDIS.uri());
    resources.add(() -> client.shutdown(Duration.ZERO, Duration.ofSeconds(2)));
    return client;
  }
}
