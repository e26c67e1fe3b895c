package dev.tiercache.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.protocol.Command;
import io.lettuce.core.protocol.CommandArgs;
import io.lettuce.core.protocol.CommandType;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * Review 15 of {@link MgetArgs}: the bytes it writes are Lettuce's own arguments' bytes for the same entry keys
 * ({@link CacheKeyBytes#concat}), for random keys of every UTF-8 width, for lengths whose {@code $length} crosses a
 * power of ten, into every kind of buffer Netty may hand the encoder (heap grown from 1 byte, pooled direct, composite,
 * wrapped, at an offset), and as a whole command.
 */
class MgetArgsEncodingReviewTest {

  private static final String[] CACHES = {"users", "ü-cache", "日本"};

  @Test
  void randomKeysOfEveryWidthEncodeAsLettuceWouldIntoEveryKindOfBuffer() {
    Random random = new Random(15);
    for (String cache : CACHES) {
      for (int buckets : new int[] {1, 48}) {
        CacheKeyBytes.Bucket[] all = new CacheKeyBytes(new KeySpace("ns", buckets)).of(cache);
        for (int round = 0; round < 400; round++) {
          CacheKeyBytes.Bucket bucket = all[random.nextInt(all.length)];
          String[] keys = new String[1 + random.nextInt(round % 10 == 0 ? 120 : 6)];
          for (int i = 0; i < keys.length; i++) {
            keys[i] = randomKey(random);
          }
          check(bucket, keys);
        }
      }
    }
  }

  @Test
  void lengthsAroundPowersOfTenAndTheAsciiBoundary() {
    CacheKeyBytes.Bucket bucket = new CacheKeyBytes(new KeySpace("ns", 48)).of("users")[7];
    int prefix = bucket.entryPrefix().length;
    List<String> keys = new ArrayList<>();
    for (int total : new int[] {9, 10, 11, 99, 100, 101, 127, 128, 129, 255, 256, 999, 1000, 1001, 9999, 10000,
        65535, 65536, 100_000}) {
      int length = total - prefix;
      if (length < 0) {
        continue;
      }
      keys.add("a".repeat(length));
      if (length >= 2) {
        keys.add("é" + "a".repeat(length - 2)); // same UTF-8 length, one char fewer
      }
      if (length >= 4) {
        keys.add("😀" + "a".repeat(length - 4));
        keys.add("a".repeat(length - 3) + "€");
      }
      keys.add("\u007f".repeat(Math.max(0, length))); // the last ASCII char
    }
    keys.add("\u0080");
    keys.add("\u07ff\u0800\uffff\ud800\udc00\udbff\udfff");
    keys.add("\ufeff\ufffe\ufffd?");
    keys.add("");
    for (String key : keys) {
      check(bucket, new String[] {key});
    }
    check(bucket, keys.toArray(String[]::new));
  }

  @Test
  void everyMalformedKeyIsRefusedWhereverItsLoneSurrogateIs() {
    CacheKeyBytes.Bucket bucket = new CacheKeyBytes(new KeySpace("ns", 1)).of("users")[0];
    for (String key : new String[] {"\ud800", "\udc00", "a\ud800", "\udc00a", "\ud800\ud800\udc00", "\udc00\ud800",
        "😀\ud83d", "x".repeat(300) + "\udfff"}) {
      assertThatThrownBy(() -> new MgetArgs(bucket, new String[] {"fine", key}))
          .as(key)
          .isInstanceOf(IllegalArgumentException.class);
      assertThatThrownBy(() -> CacheKeyBytes.concat(bucket.entryPrefix(), key)).isInstanceOf(
          IllegalArgumentException.class);
    }
  }

  @Test
  void theWholeCommandIsLettucesMgetOfTheSameKeys() {
    CacheKeyBytes.Bucket bucket = new CacheKeyBytes(new KeySpace("ns", 48)).of("users")[3];
    String[] keys = {"a", "ü", "😀", ""};
    CommandArgs<byte[], byte[]> lettuce = lettuceArgs(bucket, keys);
    ByteBuf mine = Unpooled.buffer();
    ByteBuf theirs = Unpooled.buffer();
    try {
      new Command<>(CommandType.MGET, null, new MgetArgs(bucket, keys)).encode(mine);
      new Command<>(CommandType.MGET, null, lettuce).encode(theirs);
      assertThat(ByteBufUtil.getBytes(mine)).isEqualTo(ByteBufUtil.getBytes(theirs));
    } finally {
      mine.release();
      theirs.release();
    }
  }

  private static void check(CacheKeyBytes.Bucket bucket, String[] keys) {
    byte[] expected = encode(lettuceArgs(bucket, keys), Unpooled::buffer);
    MgetArgs args = new MgetArgs(bucket, keys.clone());
    assertThat(args.count()).isEqualTo(3 + keys.length);
    List<Supplier<ByteBuf>> buffers = List.of(
        () -> Unpooled.buffer(1),
        () -> PooledByteBufAllocator.DEFAULT.directBuffer(16),
        () -> PooledByteBufAllocator.DEFAULT.heapBuffer(16),
        () -> Unpooled.unreleasableBuffer(Unpooled.buffer(8)),
        () -> {
          CompositeByteBuf composite = Unpooled.compositeBuffer();
          composite.addComponent(true, Unpooled.buffer(4).writeBytes(new byte[] {1, 2, 3}));
          composite.readerIndex(3);
          return composite;
        },
        () -> Unpooled.directBuffer(64).writeBytes(new byte[] {9, 9, 9, 9, 9}).readerIndex(5));
    for (Supplier<ByteBuf> buffer : buffers) {
      byte[] mine = encode(args, buffer);
      if (!Arrays.equals(mine, expected)) {
        // Name only what differs, not the keys' text in full (they are long).
        assertThat(new String(mine, StandardCharsets.ISO_8859_1))
            .as("keys %s", Arrays.toString(Arrays.stream(keys).map(k -> k.length() > 20 ? k.substring(0, 20) + "…"
                : k).toArray()))
            .isEqualTo(new String(expected, StandardCharsets.ISO_8859_1));
      }
    }
    assertThat(encode(args, Unpooled::buffer)).as("encoded again (a replay)").isEqualTo(expected);
  }

  private static CommandArgs<byte[], byte[]> lettuceArgs(CacheKeyBytes.Bucket bucket, String[] keys) {
    CommandArgs<byte[], byte[]> lettuce =
        new CommandArgs<>(ByteArrayCodec.INSTANCE).addKeys(bucket.clock(), bucket.floor(), bucket.gmax());
    for (String key : keys) {
      lettuce.addKey(CacheKeyBytes.concat(bucket.entryPrefix(), key));
    }
    return lettuce;
  }

  private static byte[] encode(CommandArgs<byte[], byte[]> args, Supplier<ByteBuf> buffer) {
    ByteBuf buf = buffer.get();
    try {
      int start = buf.writerIndex();
      args.encode(buf);
      byte[] out = new byte[buf.writerIndex() - start];
      buf.getBytes(start, out);
      return out;
    } finally {
      buf.release();
    }
  }

  private static String randomKey(Random random) {
    int length = switch (random.nextInt(6)) {
      case 0 -> 0;
      case 1 -> random.nextInt(4);
      case 2 -> 120 + random.nextInt(20);
      case 3 -> random.nextInt(600);
      default -> random.nextInt(40);
    };
    boolean ascii = random.nextInt(3) == 0;
    StringBuilder key = new StringBuilder(length);
    while (key.length() < length) {
      if (ascii) {
        key.append((char) random.nextInt(0x80));
        continue;
      }
      switch (random.nextInt(5)) {
        case 0 -> key.append((char) random.nextInt(0x80));
        case 1 -> key.append((char) (0x80 + random.nextInt(0x800 - 0x80)));
        case 2 -> {
          char c;
          do {
            c = (char) (0x800 + random.nextInt(0x10000 - 0x800));
          } while (Character.isSurrogate(c));
          key.append(c);
        }
        case 3 -> key.appendCodePoint(0x10000 + random.nextInt(0x110000 - 0x10000));
        default -> key.append("key:");
      }
    }
    return key.toString();
  }
}
