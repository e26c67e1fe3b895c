package dev.tiercache.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tiercache.Tags;
import dev.tiercache.spi.L2Entry;
import dev.tiercache.spi.L2Read;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * Review 15: what Lettuce's decoder does to a {@link BucketReply} whose command is replayed. The decoder announces
 * the reply's array ({@code multi}), then hands over each complete element as it arrives; a connection that drops
 * mid-reply leaves the command in flight, and with the default (at-least-once) options Lettuce writes the same
 * command, with the same output, on the next connection and decodes the whole reply into it again. Each key must
 * then read as its own entry (RedisMgetReplayTest does the same against a real Redis through a proxy).
 */
class BucketReplyReplayTest {

  private static final int ENTRIES = 12;

  @Test
  void aReplyDecodedAgainAfterAPartialOneSettlesEachKeyWithItsOwnEntry() {
    BucketReply reply = new BucketReply(0, ENTRIES);
    // The first reply: cut after the versions and five entries.
    reply.multi(3 + ENTRIES);
    deliverVersions(reply);
    for (int i = 0; i < 5; i++) {
      reply.set(ByteBuffer.wrap(stored(i)));
    }
    // The replay: the whole reply, into the same output.
    reply.multi(3 + ENTRIES);
    deliverVersions(reply);
    for (int i = 0; i < ENTRIES; i++) {
      reply.set(ByteBuffer.wrap(stored(i)));
    }

    java.util.List<String> settled = new java.util.ArrayList<>();
    java.util.List<String> expected = new java.util.ArrayList<>();
    for (int i = 0; i < ENTRIES; i++) {
      L2Read read = reply.settled(i);
      settled.add(read == null ? "open" : read.entry() == null ? "miss" : read.entry().codecId().equals("c")
          ? new String(read.entry().value(), StandardCharsets.UTF_8) : read.entry().codecId());
      expected.add("value " + i);
    }
    assertThat(settled).as("what each key's read settled to").isEqualTo(expected);
    assertThat(reply.clock()).isEqualTo(1000);
  }

  private static void deliverVersions(BucketReply reply) {
    reply.set(ByteBuffer.wrap("1000".getBytes(StandardCharsets.US_ASCII)));
    reply.set(ByteBuffer.wrap("0".getBytes(StandardCharsets.US_ASCII)));
    reply.set(ByteBuffer.wrap("1".getBytes(StandardCharsets.US_ASCII)));
  }

  private static byte[] stored(int i) {
    L2Entry entry = new L2Entry("c", ("value " + i).getBytes(StandardCharsets.UTF_8), Tags.empty());
    byte[] head = (Scripts.FORMAT + String.format("%016d", 100 + i)).getBytes(StandardCharsets.US_ASCII);
    byte[] body = EntryFormat.body(entry);
    byte[] all = Arrays.copyOf(head, head.length + body.length);
    System.arraycopy(body, 0, all, head.length, body.length);
    return all;
  }
}
