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
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Issue 10 #15: forged or malformed frames on a bus channel are counted and make the caches suspect at most once per
 * interval, not once each; nothing read from the network reaches a log line unescaped.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RedisBusFramesTest {

  @RegisterExtension
  static final RedisExtension REDIS = RedisExtension.standalone();

  private final String cache = "frames-" + Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 1);

  @Test
  void aFloodOfMalformedFramesIsCountedAndSuspectedAtMostOncePerInterval() throws Exception {
    RedisClient client = RedisClient.create(REDIS.uri());
    try (RedisTier tier = RedisTier.create(client);
        StatefulRedisConnection<byte[], byte[]> forger = client.connect(ByteArrayCodec.INSTANCE)) {
      RecordingListener listener = new RecordingListener();
      tier.bus().subscribe(cache, listener);
      byte[] channel = ("tiercache:bus:" + cache).getBytes(StandardCharsets.UTF_8);

      long start = System.nanoTime();
      for (int i = 0; i < 2_000; i++) {
        forger.async().publish(channel, new byte[] {1, 0, (byte) i});
      }
      forger.sync().publish(channel, forgedStrategy("key\nINFO forged log line"));
      forger.sync().publish(channel, BusFrames.heartbeat(1, "node")); // a heartbeat on a cache channel is foreign
      RedisBus bus = (RedisBus) tier.bus();
      await().atMost(Duration.ofSeconds(10)).until(() -> bus.malformedFrames() == 2_002);
      long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - start);

      // One suspect at once, one at the end of each interval that saw more: never one per frame.
      await().atMost(Duration.ofSeconds(3)).until(() -> listener.count("suspect") >= 2);
      assertThat(listener.count("suspect")).isBetween(2L, seconds + 3);
      assertThat(listener.messages).isEmpty();

      // A well-formed message still gets through.
      tier.bus().publish(cache, RecordingListener.message("peer", 1, "k")).get(5, TimeUnit.SECONDS);
      await().atMost(Duration.ofSeconds(5)).until(() -> listener.messages.size() == 1);
    } finally {
      client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
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
