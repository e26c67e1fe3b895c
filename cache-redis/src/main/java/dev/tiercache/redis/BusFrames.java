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
import java.util.List;

/**
 * The bytes of a bus message: a format byte, a kind byte, then either an {@link InvalidationMessage} (origin,
 * sequence, send time, and the items as strategy name and argument) or a probe token. Strings are length-prefixed
 * UTF-8, so any key or tag travels unchanged.
 */
final class BusFrames {

  static final int FORMAT = 1;
  static final int MESSAGE = 0;
  static final int PROBE = 1;

  /** The largest item count or string length a frame may claim, so a foreign frame cannot make us allocate much. */
  private static final int LIMIT = 1 << 20;

  private BusFrames() {}

  /** A decoded frame: a message, or the token of a probe. */
  record Frame(InvalidationMessage message, String probe) {}

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

  static byte[] probe(String token) {
    return write(out -> {
      out.writeByte(PROBE);
      writeString(out, token);
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
        return new Frame(null, readString(in));
      }
      if (kind != MESSAGE) {
        throw new IllegalArgumentException("unknown bus frame kind " + kind);
      }
      String origin = readString(in);
      long sequence = in.readLong();
      long sentAt = in.readLong();
      int count = bounded(in.readInt());
      List<InvalidationMessage.Item> items = new ArrayList<>(Math.min(count, 1024));
      for (int i = 0; i < count; i++) {
        items.add(new InvalidationMessage.Item(readString(in), readString(in)));
      }
      if (in.available() > 0) {
        throw new IllegalArgumentException("trailing bytes in bus frame");
      }
      return new Frame(new InvalidationMessage(origin, sequence, sentAt, items), null);
    } catch (IOException e) {
      throw new IllegalArgumentException("truncated bus frame", e);
    }
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
