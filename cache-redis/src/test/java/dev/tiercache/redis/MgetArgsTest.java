package dev.tiercache.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.protocol.CommandArgs;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/**
 * {@link MgetArgs} writes the read's keys itself: it must put on the wire exactly what Lettuce's own arguments of
 * the same keys would (the bucket's clock, floor and gmax, then prefix + UTF-8 of each key), count them the same,
 * route by the bucket's clock, and name no key where Lettuce prints commands.
 */
class MgetArgsTest {

  private final CacheKeyBytes.Bucket bucket = new CacheKeyBytes(new KeySpace("ns", 4)).of("users")[2];

  @Test
  void encodesExactlyWhatLettuceWouldForTheSameKeys() {
    String[] keys = {"user:1", "", "héllo", "日本語", "emoji 😀 key", "x".repeat(300), "nul\u0000inside"};
    MgetArgs mine = new MgetArgs(bucket, keys.clone());
    CommandArgs<byte[], byte[]> lettuce =
        new CommandArgs<>(ByteArrayCodec.INSTANCE).addKeys(bucket.clock(), bucket.floor(), bucket.gmax());
    for (String key : keys) {
      lettuce.addKey(CacheKeyBytes.concat(bucket.entryPrefix(), key));
    }

    assertThat(encoded(mine)).isEqualTo(encoded(lettuce));
    assertThat(mine.count()).isEqualTo(lettuce.count()).isEqualTo(3 + keys.length);
    for (int i = 0; i < keys.length; i++) {
      assertThat(mine.entryKey(i)).isEqualTo(CacheKeyBytes.concat(bucket.entryPrefix(), keys[i]));
    }
  }

  @Test
  void encodesTheSameBytesEachTimeForARetryAfterAReconnect() {
    MgetArgs args = new MgetArgs(bucket, new String[] {"a", "ü"});
    assertThat(encoded(args)).isEqualTo(encoded(args));
  }

  @Test
  void routesByTheBucketsClock() {
    MgetArgs args = new MgetArgs(bucket, new String[] {"user:1"});
    assertThat(args.getFirstEncodedKey()).isEqualTo(ByteBuffer.wrap(bucket.clock()));
  }

  @Test
  void refusesAKeyWithALoneSurrogateAsItIsBuilt() {
    assertThatThrownBy(() -> new MgetArgs(bucket, new String[] {"ok", "bad\uD800key"}))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageNotContaining("bad");
  }

  @Test
  void printsNoKey() {
    MgetArgs args = new MgetArgs(bucket, new String[] {"alice@example.com"});
    assertThat(args.toCommandString()).doesNotContain("alice");
    assertThat(args.toString()).doesNotContain("alice");
  }

  private static String encoded(CommandArgs<byte[], byte[]> args) {
    ByteBuf buf = Unpooled.buffer();
    try {
      args.encode(buf);
      return buf.toString(StandardCharsets.ISO_8859_1);
    } finally {
      buf.release();
    }
  }
}
