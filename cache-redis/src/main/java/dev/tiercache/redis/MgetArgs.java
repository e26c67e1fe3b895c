package dev.tiercache.redis;

import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.protocol.CommandArgs;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import java.nio.charset.StandardCharsets;

/**
 * The arguments of a read's {@code MGET} (see {@link TierReads}): a bucket's clock, floor and {@code gmax}, then the
 * entry keys, written into the command's buffer as they are encoded: the three meta keys as one fragment the bucket
 * keeps ready, each entry key as the bucket's entry prefix and the key's UTF-8, without a byte array or an argument
 * object per key. The clock is also the one argument Lettuce sees, so that its first key (the one a Cluster
 * connection routes by) is the bucket's.
 */
final class MgetArgs extends CommandArgs<byte[], byte[]> {

  private static final byte[] CRLF = {'\r', '\n'};

  private final CacheKeyBytes.Bucket bucket;
  private final String[] keys;
  /** UTF-8 length of each key; equal to its length in chars when it is ASCII. */
  private final int[] lengths;

  /**
   * @param keys the keys (not entry keys) in reply order; the array is the arguments' own from now on, since Lettuce
   *     may encode them again (after a reconnect) at any time until the command completes
   * @throws IllegalArgumentException if a key is not well-formed UTF-16
   */
  MgetArgs(CacheKeyBytes.Bucket bucket, String[] keys) {
    super(ByteArrayCodec.INSTANCE);
    addKey(bucket.clock());
    this.bucket = bucket;
    this.keys = keys;
    this.lengths = new int[keys.length];
    for (int i = 0; i < keys.length; i++) {
      lengths[i] = utf8Length(keys[i]);
    }
  }

  /** The entry key of key {@code i} as one array, for the script that settles what the {@code MGET} left open. */
  byte[] entryKey(int i) {
    return CacheKeyBytes.concat(bucket.entryPrefix(), keys[i]);
  }

  @Override
  public int count() {
    return BucketReply.FIRST + keys.length;
  }

  @Override
  public void encode(ByteBuf buf) {
    buf.writeBytes(bucket.readMeta());
    byte[] prefix = bucket.entryPrefix();
    for (int i = 0; i < keys.length; i++) {
      buf.writeByte('$');
      writeDecimal(buf, prefix.length + lengths[i]);
      buf.writeBytes(CRLF);
      buf.writeBytes(prefix);
      if (lengths[i] == keys[i].length()) {
        ByteBufUtil.writeAscii(buf, keys[i]);
      } else {
        ByteBufUtil.writeUtf8(buf, keys[i]);
      }
      buf.writeBytes(CRLF);
    }
  }

  /** Names no key: command strings end up in logs, and keys may be personal data. */
  @Override
  public String toCommandString() {
    return "key<clock> key<floor> key<gmax> and " + keys.length + " entry keys";
  }

  @Override
  public String toString() {
    return "MgetArgs [" + toCommandString() + "]";
  }

  /** The bulk-string fragments of a bucket's clock, floor and gmax, as {@link #encode} writes them first. */
  static byte[] readMeta(byte[] clock, byte[] floor, byte[] gmax) {
    byte[][] parts = {clock, floor, gmax};
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    for (byte[] part : parts) {
      out.writeBytes(("$" + part.length + "\r\n").getBytes(StandardCharsets.US_ASCII));
      out.writeBytes(part);
      out.writeBytes(CRLF);
    }
    return out.toByteArray();
  }

  private static int utf8Length(String key) {
    int n = key.length();
    for (int i = 0; i < n; i++) {
      if (key.charAt(i) >= 0x80) {
        return ByteBufUtil.utf8Bytes(KeySpace.wellFormed(key, "key"));
      }
    }
    return n;
  }

  private static void writeDecimal(ByteBuf buf, int value) {
    if (value >= 10) {
      writeDecimal(buf, value / 10);
    }
    buf.writeByte('0' + value % 10);
  }
}
