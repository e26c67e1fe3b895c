package dev.tiercache.redis;

import dev.tiercache.spi.InvalidationMessage;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The bytes of a bus message: a format byte, a kind byte, then an {@link InvalidationMessage} (origin, sequence, send
 * time, and the items as strategy name and argument), a probe token, or a heartbeat (its round and the node it was
 * published on). Strings are length-prefixed UTF-8, so any key or tag travels unchanged. Anything read is checked:
 * a frame is either well formed (names within their alphabets and lengths) or refused as a whole, so that nothing a
 * foreign publisher sends reaches a log or a listener unchecked.
 */
final class BusFrames {

  static final int FORMAT = 1;
  static final int MESSAGE = 0;
  static final int PROBE = 1;
  static final int HEARTBEAT = 2;

  /** The largest item count or string length a frame may claim, so a foreign frame cannot make us allocate much. */
  private static final int LIMIT = 1 << 20;

  private BusFrames() {}

  /**
   * A decoded frame: a message (with the bucket and version of the script that published it, or -1 and 0 when a
   * client published it), the token of a probe, or a heartbeat's round and node.
   */
  record Frame(InvalidationMessage message, String probe, long round, String node, int bucket, long version) {

    Frame(InvalidationMessage message, String probe, long round, String node) {
      this(message, probe, round, node, -1, 0);
    }

    boolean isHeartbeat() {
      return node != null;
    }
  }

  static byte[] message(InvalidationMessage message) {
    return message(message, null);
  }

  /**
   * A message that a bucket's script publishes: the frame, then {@code @<bucket>:}, to which the script appends the
   * version it gave the change, so that every instance learns how far the bucket's clock has gone (a later clock below
   * it means the bucket was rolled back).
   */
  static byte[] announcement(InvalidationMessage message, int bucket) {
    return message(message, ("@" + bucket + ":").getBytes(StandardCharsets.US_ASCII));
  }

  /**
   * Writes a message frame, with {@code trailer} after it when not null, into one array of the exact size: this is on
   * the path of every invalidation and put, where a stream and its copies cost more than the bytes themselves.
   */
  private static byte[] message(InvalidationMessage message, byte[] trailer) {
    List<InvalidationMessage.Item> items = message.invalidations();
    byte[] origin = message.origin().getBytes(StandardCharsets.UTF_8);
    byte[][] texts = new byte[items.size() * 2][];
    int size = 2 + 4 + origin.length + 8 + 8 + 4 + (trailer == null ? 0 : trailer.length);
    for (int i = 0; i < items.size(); i++) {
      texts[2 * i] = items.get(i).strategy().getBytes(StandardCharsets.UTF_8);
      texts[2 * i + 1] = items.get(i).argument().getBytes(StandardCharsets.UTF_8);
      size += 8 + texts[2 * i].length + texts[2 * i + 1].length;
    }
    Writer out = new Writer(size);
    out.put(FORMAT);
    out.put(MESSAGE);
    out.string(origin);
    out.putLong(message.sequence());
    out.putLong(message.sentAtMillis());
    out.putInt(items.size());
    for (byte[] text : texts) {
      out.string(text);
    }
    if (trailer != null) {
      out.bytes(trailer);
    }
    return out.bytes;
  }

  static byte[] probe(String token) {
    byte[] utf8 = token.getBytes(StandardCharsets.UTF_8);
    Writer out = new Writer(2 + 4 + utf8.length);
    out.put(FORMAT);
    out.put(PROBE);
    out.string(utf8);
    return out.bytes;
  }

  /**
   * A heartbeat frame: the round number and the id of the node it is published on, so that the echo says which
   * node's order it proves.
   */
  static byte[] heartbeat(long round, String node) {
    byte[] utf8 = node.getBytes(StandardCharsets.UTF_8);
    Writer out = new Writer(2 + 8 + 4 + utf8.length);
    out.put(FORMAT);
    out.put(HEARTBEAT);
    out.putLong(round);
    out.string(utf8);
    return out.bytes;
  }

  /**
   * Decodes a frame.
   *
   * @throws IllegalArgumentException if the bytes are not a frame of this format
   */
  static Frame read(byte[] bytes) {
    Reader in = new Reader(bytes);
    if (in.unsignedByte() != FORMAT) {
      throw new IllegalArgumentException("unknown bus frame format");
    }
    int kind = in.unsignedByte();
    if (kind == PROBE) {
      return in.end(new Frame(null, in.token(TOKEN_MAX, "probe token"), 0, null));
    }
    if (kind == HEARTBEAT) {
      long round = in.longValue();
      return in.end(new Frame(null, null, round, in.token(TOKEN_MAX, "heartbeat node")));
    }
    if (kind != MESSAGE) {
      throw new IllegalArgumentException("unknown bus frame kind " + kind);
    }
    String origin = in.token(TOKEN_MAX, "origin");
    long sequence = in.longValue();
    long sentAt = in.longValue();
    int count = bounded(in.intValue());
    List<InvalidationMessage.Item> items = new ArrayList<>(Math.min(count, 1024));
    for (int i = 0; i < count; i++) {
      items.add(new InvalidationMessage.Item(in.strategy(), in.string()));
    }
    InvalidationMessage message = new InvalidationMessage(origin, sequence, sentAt, items);
    if (in.remaining() == 0) {
      return new Frame(message, null, 0, null);
    }
    return in.stamped(message);
  }

  /** The longest origin, probe token or node id. */
  private static final int TOKEN_MAX = 128;

  /** The longest strategy name. */
  private static final int STRATEGY_MAX = 64;

  /**
   * Reads a frame in place. Every check is made on the bytes, and refuses what the former regular expressions
   * ({@code [!-~]{1,128}} for tokens, {@code [a-z0-9-]{1,64}} for strategies, {@code @(\d{1,5}):(\d{1,16})} for the
   * stamp, over the decoded text) refused: a byte outside those ASCII ranges decodes to a character outside them.
   */
  private static final class Reader {
    private final byte[] bytes;
    private int at;

    Reader(byte[] bytes) {
      this.bytes = bytes;
    }

    int remaining() {
      return bytes.length - at;
    }

    private void need(int n) {
      if (n > bytes.length - at) {
        throw new IllegalArgumentException("truncated bus frame");
      }
    }

    int unsignedByte() {
      need(1);
      return bytes[at++] & 0xff;
    }

    int intValue() {
      need(4);
      int value = ((bytes[at] & 0xff) << 24) | ((bytes[at + 1] & 0xff) << 16) | ((bytes[at + 2] & 0xff) << 8)
          | (bytes[at + 3] & 0xff);
      at += 4;
      return value;
    }

    long longValue() {
      return ((long) intValue() << 32) | (intValue() & 0xffffffffL);
    }

    /** The bounds of the next length-prefixed string: its length, {@link #at} then being its first byte. */
    private int length() {
      int length = bounded(intValue());
      need(length);
      return length;
    }

    /** Any UTF-8 text (a key, a tag): what it names is data, never interpreted here. */
    String string() {
      int length = length();
      String text = new String(bytes, at, length, StandardCharsets.UTF_8);
      at += length;
      return text;
    }

    /** Printable ASCII without spaces, 1 to {@code max} bytes. */
    String token(int max, String what) {
      int length = length();
      if (length == 0 || length > max) {
        throw malformed(what);
      }
      for (int i = at; i < at + length; i++) {
        if (bytes[i] < '!' || bytes[i] > '~') {
          throw malformed(what);
        }
      }
      String text = new String(bytes, at, length, StandardCharsets.US_ASCII);
      at += length;
      return text;
    }

    /** A strategy name: lower-case letters, digits and dashes, 1 to 64 bytes. */
    String strategy() {
      int length = length();
      if (length == 0 || length > STRATEGY_MAX) {
        throw malformed("strategy");
      }
      for (int i = at; i < at + length; i++) {
        byte b = bytes[i];
        if (!((b >= 'a' && b <= 'z') || (b >= '0' && b <= '9') || b == '-')) {
          throw malformed("strategy");
        }
      }
      String text = length == 3 && bytes[at] == 'k' && bytes[at + 1] == 'e' && bytes[at + 2] == 'y'
          ? KEY
          : new String(bytes, at, length, StandardCharsets.US_ASCII);
      at += length;
      return text;
    }

    Frame end(Frame frame) {
      if (remaining() > 0) {
        throw new IllegalArgumentException("trailing bytes in bus frame");
      }
      return frame;
    }

    /** The rest is {@code @<bucket>:<version>}: 1 to 5 digits, then 1 to 16. */
    Frame stamped(InvalidationMessage message) {
      if (bytes[at++] != '@') {
        throw new IllegalArgumentException("trailing bytes in bus frame");
      }
      long bucket = digits(5);
      if (at >= bytes.length || bytes[at++] != ':') {
        throw new IllegalArgumentException("trailing bytes in bus frame");
      }
      long version = digits(16);
      if (remaining() > 0) {
        throw new IllegalArgumentException("trailing bytes in bus frame");
      }
      return new Frame(message, null, 0, null, (int) bucket, version);
    }

    private long digits(int max) {
      int first = at;
      long value = 0;
      while (at < bytes.length && bytes[at] >= '0' && bytes[at] <= '9' && at - first < max) {
        value = value * 10 + (bytes[at++] - '0');
      }
      if (at == first) {
        throw new IllegalArgumentException("trailing bytes in bus frame");
      }
      return value;
    }

    private static IllegalArgumentException malformed(String what) {
      // The message names the field only, never the text: the text is what failed the check.
      return new IllegalArgumentException("malformed " + what + " in bus frame");
    }
  }

  /** The built-in single-key strategy's name, shared by every frame that names it. */
  static final String KEY = "key";

  /** Writes big-endian numbers and length-prefixed strings into an array of known size. */
  private static final class Writer {
    final byte[] bytes;
    private int at;

    Writer(int size) {
      bytes = new byte[size];
    }

    void put(int b) {
      bytes[at++] = (byte) b;
    }

    void putInt(int v) {
      bytes[at++] = (byte) (v >>> 24);
      bytes[at++] = (byte) (v >>> 16);
      bytes[at++] = (byte) (v >>> 8);
      bytes[at++] = (byte) v;
    }

    void putLong(long v) {
      putInt((int) (v >>> 32));
      putInt((int) v);
    }

    void string(byte[] utf8) {
      putInt(utf8.length);
      bytes(utf8);
    }

    void bytes(byte[] raw) {
      System.arraycopy(raw, 0, bytes, at, raw.length);
      at += raw.length;
    }
  }

  private static int bounded(int n) {
    if (n < 0 || n > LIMIT) {
      throw new IllegalArgumentException("bus frame claims " + n + " elements");
    }
    return n;
  }
}
