package dev.tiercache.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tiercache.Tags;
import dev.tiercache.spi.L2Entry;
import dev.tiercache.spi.L2Read;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Review 13 of 53a1643 ({@link BucketReply} parses entries of up to {@link BucketReply#COPIED} bytes from one heap
 * copy reused per reply). Elements handed over as Netty does, in direct buffers at a non-zero position, and each
 * buffer scribbled over as soon as {@code set} returns (Netty reuses its memory): every settled read must keep what
 * its own element held, whatever later elements of the reply held or were copied over it.
 */
class BucketReplyHeapCopyTest {

  private static byte[] stored(long version, L2Entry entry) {
    byte[] head = (Scripts.FORMAT + String.format("%016d", version)).getBytes(StandardCharsets.US_ASCII);
    byte[] body = EntryFormat.body(entry);
    byte[] all = Arrays.copyOf(head, head.length + body.length);
    System.arraycopy(body, 0, all, head.length, body.length);
    return all;
  }

  /** Hands {@code bytes} to the reply in a direct buffer at position 7, then overwrites that buffer. */
  private static void deliver(BucketReply reply, byte[] bytes) {
    ByteBuffer direct = ByteBuffer.allocateDirect(bytes.length + 20);
    for (int i = 0; i < direct.capacity(); i++) {
      direct.put(i, (byte) '#');
    }
    direct.put(7, bytes);
    direct.position(7).limit(7 + bytes.length);
    reply.set(direct);
    direct.clear();
    for (int i = 0; i < direct.capacity(); i++) {
      direct.put(i, (byte) '9');
    }
  }

  @Test
  void everySettledEntryKeepsItsOwnBytesWhenLaterElementsReuseTheCopy() {
    Random random = new Random(1313);
    int[] sizes = {
      BucketReply.COPIED, 1, BucketReply.COPIED - 1, BucketReply.COPIED + 1, 0, 2_000, BucketReply.COPIED, 10, 300,
      3 * BucketReply.COPIED, 5
    };
    List<L2Entry> entries = new ArrayList<>();
    for (int i = 0; i < 80; i++) {
      int valueSize = i < sizes.length ? sizes[i] : random.nextInt(BucketReply.COPIED + 200);
      byte[] value = new byte[valueSize];
      random.nextBytes(value);
      entries.add(new L2Entry("codec-" + (i % 3), value, Tags.of("tag-" + i, "x".repeat(1 + random.nextInt(30)))));
    }
    BucketReply reply = new BucketReply(0, entries.size() + 2);
    deliver(reply, "1000".getBytes(StandardCharsets.US_ASCII));
    deliver(reply, "0".getBytes(StandardCharsets.US_ASCII));
    deliver(reply, "1".getBytes(StandardCharsets.US_ASCII));
    for (int i = 0; i < entries.size(); i++) {
      deliver(reply, stored(100 + i, entries.get(i)));
    }
    // A truncated header and an empty element after them: unreadable, and must not disturb what came before.
    deliver(reply, Arrays.copyOf(stored(500, entries.get(0)), EntryFormat.HEADER - 1));
    deliver(reply, new byte[0]);

    for (int i = 0; i < entries.size(); i++) {
      L2Read read = reply.settled(i);
      assertThat(read).as("entry %d", i).isNotNull();
      assertThat(read.entry().codecId()).as("entry %d", i).isEqualTo(entries.get(i).codecId());
      assertThat(read.entry().value()).as("entry %d", i).isEqualTo(entries.get(i).value());
      assertThat(read.entry().tags()).as("entry %d", i).isEqualTo(entries.get(i).tags());
    }
    assertThat(reply.settled(entries.size()).entry().codecId()).isEqualTo(EntryFormat.UNREADABLE);
    assertThat(reply.settled(entries.size() + 1).entry().codecId()).isEqualTo(EntryFormat.UNREADABLE);
  }
}
