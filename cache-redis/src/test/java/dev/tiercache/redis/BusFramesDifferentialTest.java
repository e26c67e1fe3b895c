package dev.tiercache.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tiercache.spi.InvalidationMessage;
import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Issue 11: {@link BusFrames#read} checks frames on their bytes instead of with a stream and regular expressions
 * (it runs on Lettuce's event loop now). It accepts exactly the frames the former reader accepted, with the same
 * content, and refuses the rest: compared here with that reader, kept below as the reference, on well-formed frames
 * and on many corrupted ones.
 */
class BusFramesDifferentialTest {

  @Test
  void acceptsAndRefusesWhatTheFormerReaderDid() {
    Random random = new Random(11);
    List<byte[]> seeds = new ArrayList<>();
    seeds.add(BusFrames.message(RecordingListener.message("origin-1", 3, "user:42")));
    seeds.add(BusFrames.message(new InvalidationMessage("o", Long.MAX_VALUE, -1, List.of(
        new InvalidationMessage.Item("tag", "t \u00e9\n"), new InvalidationMessage.Item("prefix", ""),
        new InvalidationMessage.Item("my-strategy-2", "x".repeat(300))))));
    seeds.add(stamped(BusFrames.announcement(RecordingListener.message("peer", 7, "k"), 12), "1700000000000001"));
    seeds.add(stamped(BusFrames.announcement(RecordingListener.message("peer", 7, "k"), 99999), "0"));
    seeds.add(BusFrames.probe("3f2c-probe-token"));
    seeds.add(BusFrames.heartbeat(42, "node-a"));
    seeds.add(BusFrames.heartbeat(-1, "x".repeat(128)));

    int accepted = 0;
    int refused = 0;
    for (byte[] seed : seeds) {
      assertSame(seed);
      accepted++;
      for (int i = 0; i < 4_000; i++) {
        byte[] mutated = mutate(seed, random);
        if (assertSame(mutated)) {
          accepted++;
        } else {
          refused++;
        }
      }
    }
    // Both kinds were exercised, not only one.
    assertThat(accepted).isGreaterThan(100);
    assertThat(refused).isGreaterThan(1_000);
  }

  @Test
  void theFramesWrittenAreTheFormerWritersBytes() throws IOException {
    InvalidationMessage message = new InvalidationMessage("origin-\u00e9", 9, 123456789L, List.of(
        new InvalidationMessage.Item("key", "k\u00e9\uD83D\uDE00"), new InvalidationMessage.Item("tag", "")));
    java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
    try (java.io.DataOutputStream out = new java.io.DataOutputStream(bytes)) {
      out.writeByte(BusFrames.FORMAT);
      out.writeByte(BusFrames.MESSAGE);
      writeString(out, message.origin());
      out.writeLong(message.sequence());
      out.writeLong(message.sentAtMillis());
      out.writeInt(message.invalidations().size());
      for (InvalidationMessage.Item item : message.invalidations()) {
        writeString(out, item.strategy());
        writeString(out, item.argument());
      }
    }
    assertThat(BusFrames.message(message)).isEqualTo(bytes.toByteArray());
    byte[] stamp = "@7:".getBytes(StandardCharsets.US_ASCII);
    byte[] announced = Arrays.copyOf(bytes.toByteArray(), bytes.size() + stamp.length);
    System.arraycopy(stamp, 0, announced, bytes.size(), stamp.length);
    assertThat(BusFrames.announcement(message, 7)).isEqualTo(announced);
  }

  private static void writeString(java.io.DataOutputStream out, String s) throws IOException {
    byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
    out.writeInt(utf8.length);
    out.write(utf8);
  }

  private static byte[] stamped(byte[] announcement, String version) {
    byte[] digits = version.getBytes(StandardCharsets.US_ASCII);
    byte[] all = Arrays.copyOf(announcement, announcement.length + digits.length);
    System.arraycopy(digits, 0, all, announcement.length, digits.length);
    return all;
  }

  /** Whether both readers accepted the bytes; fails unless both accepted them alike or both refused them. */
  private static boolean assertSame(byte[] bytes) {
    BusFrames.Frame expected;
    try {
      expected = Reference.read(bytes);
    } catch (IllegalArgumentException refusedBefore) {
      try {
        BusFrames.Frame now = BusFrames.read(bytes);
        throw new AssertionError("accepted what the former reader refused (" + refusedBefore.getMessage() + "): "
            + now + " from " + Arrays.toString(bytes));
      } catch (IllegalArgumentException refusedNow) {
        return false;
      }
    }
    assertThat(BusFrames.read(bytes)).as(Arrays.toString(bytes)).isEqualTo(expected);
    return true;
  }

  private static byte[] mutate(byte[] seed, Random random) {
    byte[] bytes = seed.clone();
    switch (random.nextInt(6)) {
      case 0 -> bytes[random.nextInt(bytes.length)] = (byte) random.nextInt(256);
      case 1 -> bytes = Arrays.copyOf(bytes, random.nextInt(bytes.length));
      case 2 -> {
        byte[] tail = pick(random, "@1:5", "@:5", "@1:", "@123456:5", "@1:12345678901234567", "x", "@0:0", "@12:0012",
            "@1:5x", "@\u0661:5", "\u00e9");
        byte[] longer = Arrays.copyOf(bytes, bytes.length + tail.length);
        System.arraycopy(tail, 0, longer, bytes.length, tail.length);
        bytes = longer;
      }
      case 3 -> {
        // A character at the edge of an alphabet: '!', '~', ' ', DEL, 'A', '_', a byte above 0x7f.
        byte[] edges = {'!', '~', ' ', 0x7f, 'A', '_', (byte) 0xc3, '-', '0', '9', 'a', 'z', '@', ':'};
        bytes[random.nextInt(bytes.length)] = edges[random.nextInt(edges.length)];
      }
      case 4 -> {
        // A length or count field made big, negative or off by one.
        int at = random.nextInt(Math.max(1, bytes.length - 4));
        int value = switch (random.nextInt(4)) {
          case 0 -> -1;
          case 1 -> (1 << 20) + random.nextInt(2);
          case 2 -> random.nextInt(200);
          default -> 0;
        };
        for (int b = 0; b < 4 && at + b < bytes.length; b++) {
          bytes[at + b] = (byte) (value >>> (24 - 8 * b));
        }
      }
      default -> {
        int at = random.nextInt(bytes.length);
        byte[] shorter = new byte[bytes.length - 1];
        System.arraycopy(bytes, 0, shorter, 0, at);
        System.arraycopy(bytes, at + 1, shorter, at, bytes.length - at - 1);
        bytes = shorter;
      }
    }
    return bytes;
  }

  private static byte[] pick(Random random, String... texts) {
    return texts[random.nextInt(texts.length)].getBytes(StandardCharsets.UTF_8);
  }

  /** The reader BusFrames had before issue 11, unchanged but for its name. */
  private static final class Reference {
    private static final int LIMIT = 1 << 20;
    private static final Pattern STRATEGY = Pattern.compile("[a-z0-9-]{1,64}");
    private static final Pattern TOKEN = Pattern.compile("[!-~]{1,128}");
    private static final Pattern STAMP = Pattern.compile("@(\\d{1,5}):(\\d{1,16})");

    static BusFrames.Frame read(byte[] bytes) {
      try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes))) {
        if (in.readUnsignedByte() != BusFrames.FORMAT) {
          throw new IllegalArgumentException("unknown bus frame format");
        }
        int kind = in.readUnsignedByte();
        if (kind == BusFrames.PROBE) {
          return end(in, new BusFrames.Frame(null, checked(readString(in), TOKEN, "probe token"), 0, null));
        }
        if (kind == BusFrames.HEARTBEAT) {
          long round = in.readLong();
          return end(in, new BusFrames.Frame(null, null, round, checked(readString(in), TOKEN, "heartbeat node")));
        }
        if (kind != BusFrames.MESSAGE) {
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
          return new BusFrames.Frame(message, null, 0, null);
        }
        Matcher stamp = STAMP.matcher(new String(in.readAllBytes(), StandardCharsets.US_ASCII));
        if (!stamp.matches()) {
          throw new IllegalArgumentException("trailing bytes in bus frame");
        }
        return new BusFrames.Frame(message, null, 0, null, Integer.parseInt(stamp.group(1)),
            Long.parseLong(stamp.group(2)));
      } catch (IOException e) {
        throw new IllegalArgumentException("truncated bus frame", e);
      }
    }

    private static BusFrames.Frame end(DataInputStream in, BusFrames.Frame frame) throws IOException {
      if (in.available() > 0) {
        throw new IllegalArgumentException("trailing bytes in bus frame");
      }
      return frame;
    }

    private static String checked(String text, Pattern allowed, String what) {
      if (!allowed.matcher(text).matches()) {
        throw new IllegalArgumentException("malformed " + what + " in bus frame");
      }
      return text;
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
}
