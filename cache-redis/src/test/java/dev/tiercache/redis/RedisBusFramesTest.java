package dev.tiercache.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.tiercache.redis.testing.RedisExtension;
import dev.tiercache.spi.InvalidationMessage;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.codec.ByteArrayCodec;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Issue 10 #15: forged or malformed frames on a bus channel are counted and make the caches suspect before anything
 * that arrived after them is delivered, a flood that waits in the queue once, not once each; nothing read from the
 * network reaches a log line unescaped.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RedisBusFramesTest {

  @RegisterExtension
  static final RedisExtension REDIS = RedisExtension.standalone();

  private final String cache = "frames-" + Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 1);

  /**
   * A flood of malformed frames that waits in the delivery queue costs one clear: the clear of the first starts after
   * all of them arrived, so it covers them. Counted and logged each, and well-formed messages still get through.
   */
  @Test
  void aFloodOfMalformedFramesWaitingInTheQueueCostsOneClear() throws Exception {
    RedisClient client = RedisClient.create(REDIS.uri());
    CountDownLatch tagArrived = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    try (RedisTier tier = RedisTier.create(client);
        StatefulRedisConnection<byte[], byte[]> forger = client.connect(ByteArrayCodec.INSTANCE)) {
      RecordingListener listener = new RecordingListener() {
        @Override
        public void onMessage(InvalidationMessage message) {
          if (message.invalidations().get(0).strategy().equals("tag")) {
            tagArrived.countDown();
            awaitQuietly(release); // holds the delivery thread, so that the flood waits behind it
          }
          super.onMessage(message);
        }
      };
      RedisBus bus = (RedisBus) tier.bus();
      bus.subscribe(cache, listener);
      await().atMost(Duration.ofSeconds(5)).until(() -> bus.deliveriesWaiting() == 0);
      bus.publish(cache, tagMessage()).get(5, TimeUnit.SECONDS);
      assertThat(tagArrived.await(5, TimeUnit.SECONDS)).isTrue();

      byte[] channel = ("tiercache:bus:" + cache).getBytes(StandardCharsets.UTF_8);
      for (int i = 0; i < 2_000; i++) {
        forger.async().publish(channel, new byte[] {1, 0, (byte) i});
      }
      forger.sync().publish(channel, forgedStrategy("key\nINFO forged log line"));
      forger.sync().publish(channel, BusFrames.heartbeat(1, "node")); // a heartbeat on a cache channel is foreign
      // The tag being applied, and the 2,002 frames behind it.
      await().atMost(Duration.ofSeconds(10)).until(() -> bus.deliveriesWaiting() == 2_003);
      assertThat(listener.count("suspect")).isZero();
      release.countDown();

      await().atMost(Duration.ofSeconds(10)).until(() -> bus.malformedFrames() == 2_002);
      tier.bus().publish(cache, RecordingListener.message("peer", 1, "k")).get(5, TimeUnit.SECONDS);
      await().atMost(Duration.ofSeconds(5)).until(() -> listener.messages.size() == 2);
      assertThat(listener.count("suspect")).isEqualTo(1);
      assertThat(listener.messages.get(1).invalidations().get(0).argument()).isEqualTo("k");
    } finally {
      release.countDown();
      client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
  }

  /**
   * Every malformed frame is acted on before anything that arrived after it, however soon after another: a frame this
   * instance cannot read may have been an invalidation, and a heartbeat's echo behind it proves it was applied. (It
   * was deferred to the end of a one-second interval once, past a shorter staleness bound.)
   */
  @Test
  void aMalformedFrameRightAfterAnotherClearsBeforeTheNextEchoIsCounted() throws Exception {
    RedisClient client = RedisClient.create(REDIS.uri());
    try (RedisTier tier = RedisTier.create(client);
        StatefulRedisConnection<byte[], byte[]> forger = client.connect(ByteArrayCodec.INSTANCE)) {
      RecordingListener listener = new RecordingListener();
      RedisBus bus = (RedisBus) tier.bus();
      bus.subscribe(cache, listener);
      await().atMost(Duration.ofSeconds(5)).until(() -> listener.events.contains("restored"));
      byte[] channel = ("tiercache:bus:" + cache).getBytes(StandardCharsets.UTF_8);

      forger.sync().publish(channel, new byte[] {1, 0, 1});
      await().atMost(Duration.ofSeconds(5)).until(() -> listener.count("suspect") == 1);
      for (int round = 2; round <= 4; round++) {
        forger.sync().publish(channel, new byte[] {1, 0, (byte) round}); // executed before the heartbeat below
        long seenWhenCounted = bus.heartbeat(cache).thenApply(sentAt -> listener.count("suspect")).get(5, TimeUnit.SECONDS);
        assertThat(seenWhenCounted).as("round %d", round).isEqualTo(round);
      }
    } finally {
      client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
  }

  /**
   * Review 8: a malformed frame on the heartbeat channel may have been anything, so every cache on the bus clears its
   * L1 before the next echo is counted, the caches of channels other than the one the heartbeat proves included; and
   * two of them that wait in the queue cost one clear for each cache, not two.
   */
  @Test
  void aMalformedFrameOnTheHeartbeatChannelClearsEveryCacheBeforeTheNextEcho() throws Exception {
    RedisClient client = RedisClient.create(REDIS.uri());
    CountDownLatch tagArrived = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    try (StatefulRedisConnection<byte[], byte[]> forger = client.connect(ByteArrayCodec.INSTANCE)) {
      java.util.Set<String> before = heartbeatChannels(forger);
      try (RedisTier tier = RedisTier.create(client)) {
        RedisBus bus = (RedisBus) tier.bus();
        RecordingListener first = new RecordingListener() {
          @Override
          public void onMessage(InvalidationMessage message) {
            if (message.invalidations().get(0).strategy().equals("tag")) {
              tagArrived.countDown();
              awaitQuietly(release); // holds the delivery thread, so that two frames wait behind it
            }
            super.onMessage(message);
          }
        };
        RecordingListener second = new RecordingListener();
        bus.subscribe(cache, first);
        bus.subscribe(cache + "-2", second);
        await().atMost(Duration.ofSeconds(5))
            .until(() -> first.events.contains("restored") && second.events.contains("restored"));
        java.util.Set<String> after = heartbeatChannels(forger);
        after.removeAll(before);
        assertThat(after).hasSize(1);
        byte[] heartbeats = after.iterator().next().getBytes(StandardCharsets.UTF_8);

        for (int round = 1; round <= 3; round++) {
          forger.sync().publish(heartbeats, new byte[] {1, 0, (byte) round}); // executed before the heartbeat below
          long[] seen = bus.heartbeat(cache + "-2")
              .thenApply(sentAt -> new long[] {first.count("suspect"), second.count("suspect")})
              .get(5, TimeUnit.SECONDS);
          assertThat(seen).as("round %d", round).containsExactly(round, round);
        }

        await().atMost(Duration.ofSeconds(5)).until(() -> bus.deliveriesWaiting() == 0);
        bus.publish(cache, tagMessage()).get(5, TimeUnit.SECONDS);
        assertThat(tagArrived.await(5, TimeUnit.SECONDS)).isTrue();
        forger.sync().publish(heartbeats, new byte[] {1, 0, 4});
        forger.sync().publish(heartbeats, new byte[] {1, 0, 5});
        CompletableFuture<long[]> counted = bus.heartbeat(cache)
            .thenApply(sentAt -> new long[] {first.count("suspect"), second.count("suspect")});
        await().atMost(Duration.ofSeconds(5)).until(() -> bus.deliveriesWaiting() == 4);
        release.countDown();
        assertThat(counted.get(5, TimeUnit.SECONDS)).containsExactly(4, 4);
      }
    } finally {
      release.countDown();
      client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
  }

  private static java.util.Set<String> heartbeatChannels(StatefulRedisConnection<byte[], byte[]> connection) {
    java.util.Set<String> names = new java.util.HashSet<>();
    for (byte[] name : connection.sync().pubsubChannels("tiercache:hb:*".getBytes(StandardCharsets.UTF_8))) {
      names.add(new String(name, StandardCharsets.UTF_8));
    }
    return names;
  }

  private static InvalidationMessage tagMessage() {
    return new InvalidationMessage(
        "peer", 2, System.currentTimeMillis(), java.util.List.of(new InvalidationMessage.Item("tag", "t")));
  }

  private static void awaitQuietly(CountDownLatch latch) {
    try {
      latch.await(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Test
  void anAnnouncementCarriesTheBucketAndTheVersionItsScriptAppended() {
    InvalidationMessage message = RecordingListener.message("peer", 7, "k");
    byte[] stamped = BusFrames.announcement(message, 12);
    byte[] published = Arrays.copyOf(stamped, stamped.length + 16);
    System.arraycopy("1700000000000001".getBytes(StandardCharsets.US_ASCII), 0, published, stamped.length, 16);

    BusFrames.Frame frame = BusFrames.read(published);
    assertThat(frame.message()).isEqualTo(message);
    assertThat(frame.bucket()).isEqualTo(12);
    assertThat(frame.version()).isEqualTo(1_700_000_000_000_001L);

    BusFrames.Frame plain = BusFrames.read(BusFrames.message(message));
    assertThat(plain.message()).isEqualTo(message);
    assertThat(plain.version()).isZero();
  }

  @Test
  void aStampThatIsNotBucketColonDigitsIsRefused() {
    byte[] frame = BusFrames.message(RecordingListener.message("peer", 7, "k"));
    for (String trailer : new String[] {"@1:", "@:5", "@1:5x", "@123456:5", "@1:12345678901234567", "@-1:5", "x"}) {
      byte[] bytes = Arrays.copyOf(frame, frame.length + trailer.length());
      System.arraycopy(trailer.getBytes(StandardCharsets.US_ASCII), 0, bytes, frame.length, trailer.length());
      assertThatThrownBy(() -> BusFrames.read(bytes)).as(trailer).isInstanceOf(IllegalArgumentException.class);
    }
  }

  @Test
  void framesWithNamesOutsideTheirAlphabetAreRefusedWhole() throws IOException {
    assertThatThrownBy(() -> BusFrames.read(forgedStrategy("key\nforged")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageNotContaining("\n");
    InvalidationMessage fine = RecordingListener.message("origin-1", 3, "any\nkey \u00e9");
    assertThat(BusFrames.read(BusFrames.message(fine)).message()).isEqualTo(fine);
    assertThat(BusFrames.read(BusFrames.heartbeat(7, "node-a")).round()).isEqualTo(7);
  }

  @Test
  void networkTextIsEscapedAndTruncatedBeforeLogging() {
    assertThat(LogText.safe("a\nb\r\u0000'\\")).isEqualTo("a\\u000ab\\u000d\\u0000\\'\\\\");
    String huge = "x".repeat(10_000);
    assertThat(LogText.safe(huge)).hasSizeLessThan(LogText.MAX + 30).endsWith("...(10000 chars)");
    assertThat(LogText.safe(null)).isEqualTo("null");
  }

  /** A message frame whose strategy name carries a newline, as a forger would send it. */
  private static byte[] forgedStrategy(String strategy) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (DataOutputStream out = new DataOutputStream(bytes)) {
      out.writeByte(BusFrames.FORMAT);
      out.writeByte(BusFrames.MESSAGE);
      writeString(out, "origin");
      out.writeLong(1);
      out.writeLong(0);
      out.writeInt(1);
      writeString(out, strategy);
      writeString(out, "k");
    }
    return bytes.toByteArray();
  }

  private static void writeString(DataOutputStream out, String s) throws IOException {
    byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
    out.writeInt(utf8.length);
    out.write(utf8);
  }

}
