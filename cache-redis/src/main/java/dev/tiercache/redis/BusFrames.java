package dev.tiercache.redis;

import dev.tiercache.spi.InvalidationMessage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

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

  /** Strategy names as {@link dev.tiercache.InvalidationStrategy#name()} defines them. */
  private static final Pattern STRATEGY = Pattern.compile("[a-z0-9-]{1,64}");

  /** Origins, probe tokens and node ids: printable ASCII without spaces, short. */
  private static final Pattern TOKEN = Pattern.compile("[!-~]{1,128}");

  /** Announcements end with {@code @<bucket>:<version>}, the version appended by the script that published them. */
  private static final Pattern STAMP = Pattern.compile("@(\\d{1,5}):(\\d{1,16})");

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
    return write(out -> {
      out.writeByte(MESSAGE);
      writeString(out, message.origin());
      out.writeLong(message.sequence());
      out.writeLong(message.sentAtMillis());
      out.writeInt(message.invalidations().size());
      for (InvalidationMessage.Item item : message.invalidations()) {
        writeString(out, item.strategy());
        writeString(out, item.argument());
      }
    });
  }

  /**
   * A message that a bucket's script publishes: the frame, then {@code @<bucket>:}, to which the script appends the
   * version it gave the change, so that every instance learns how far the bucket's clock has gone (a later clock below
   * it means the bucket was rolled back).
   */
  static byte[] announcement(InvalidationMessage message, int bucket) {
    byte[] frame = message(message);
    byte[] stamp = ("@" + bucket + ":").getBytes(StandardCharsets.US_ASCII);
    byte[] all = Arrays.copyOf(frame, frame.length + stamp.length);
    System.arraycopy(stamp, 0, all, frame.length, stamp.length);
    return all;
  }

  static byte[] probe(String token) {
    return write(out -> {
      out.writeByte(PROBE);
      writeString(out, token);
    });
  }

  /**
   * A heartbeat frame: the round number and the id of the node it is published on, so that the echo says which
   * node's order it proves.
   */
  static byte[] heartbeat(long round, String node) {
    return write(out -> {
      out.writeByte(HEARTBEAT);
      out.writeLong(round);
      writeString(out, node);
    });
  }

  /**
   * Decodes a frame.
   *
   * @throws IllegalArgumentException if the bytes are not a frame of this format
   */
  static Frame read(byte[] bytes) {
    try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes))) {
      if (in.readUnsignedByte() != FORMAT) {
        throw new IllegalArgumentException("unknown bus frame format");
      }
      int kind = in.readUnsignedByte();
      if (kind == PROBE) {
        return end(in, new Frame(null, checked(readString(in), TOKEN, "probe token"), 0, null));
      }
      if (kind == HEARTBEAT) {
        long round = in.readLong();
        return end(in, new Frame(null, null, round, checked(readString(in), TOKEN, "heartbeat node")));
      }
      if (kind != MESSAGE) {
        throw new IllegalArgumentException("unknown bus frame kind " + kind);
      }
      String origin = checked(readString(in), TOKEN, "origin");
      long sequence = in.readLong();
      long sentAt = in.readLong();
      int count = bounded(in.readInt());
      List<InvalidationMessage.Item> items = new ArrayList<>(Math.min(count, 1024));
      for (int i = 0; i < count; i++) {
        items.add(new InvalidationMessage.Item(checked(readString(in), STRATEGY, "strategy"), readString(in)));
      }
      InvalidationMessage message = new InvalidationMessage(origin, sequence, sentAt, items);
      if (in.available() == 0) {
        return new Frame(message, null, 0, null);
      }
      Matcher stamp = STAMP.matcher(new String(in.readAllBytes(), StandardCharsets.US_ASCII));
      if (!stamp.matches()) {
        throw new IllegalArgumentException("trailing bytes in bus frame");
      }
      return new Frame(message, null, 0, null, Integer.parseInt(stamp.group(1)), Long.parseLong(stamp.group(2)));
    } catch (IOException e) {
      throw new IllegalArgumentException("truncated bus frame", e);
    }
  }

  private static Frame end(DataInputStream in, Frame frame) throws IOException {
    if (in.available() > 0) {
      throw new IllegalArgumentException("trailing bytes in bus frame");
    }
    return frame;
  }

  /** The message names the field only, never the text: the text is what failed the check. */
  private static String checked(String text, Pattern allowed, String what) {
    if (!allowed.matcher(text).matches()) {
      throw new IllegalArgumentException("malformed " + what + " in bus frame");
    }
    return text;
  }

  private interface Body {
    void write(DataOutputStream out) throws IOException;
  }

  private static byte[] write(Body body) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(64);
    try (DataOutputStream out = new DataOutputStream(bytes)) {
      out.writeByte(FORMAT);
      body.write(out);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return bytes.toByteArray();
  }

  private static void writeString(DataOutputStream out, String s) throws IOException {
    byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
    out.writeInt(utf8.length);
    out.write(utf8);
  }

  private static String readString(DataInputStream in) throws IOException {
    byte[] utf8 = new byte[bounded(in.readInt())];
    in.readFully(utf8);
    return new String(utf8, StandardCharsets.UTF_8);
  }

  private static int bounded(int n) {
    if (n < 0 || n > LIMIT) {
      throw new IllegalArgumentException("bus frame claims " + n + " elements");
    }
    return n;
  }
}
