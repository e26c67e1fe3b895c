package dev.tiercache.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tiercache.Tags;
import dev.tiercache.spi.L2Entry;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The stored layout without Redis: what the write script would store, read back as Lettuce hands it over. */
class EntryFormatTest {

  /** What WRITE stores: the format, the version it assigns, the body the JVM sent. */
  private static byte[] stored(long version, L2Entry entry) {
    byte[] body = EntryFormat.body(entry);
    byte[] head = (Scripts.FORMAT + String.format("%016d", version)).getBytes(StandardCharsets.US_ASCII);
    byte[] all = new byte[head.length + body.length];
    System.arraycopy(head, 0, all, 0, head.length);
    System.arraycopy(body, 0, all, head.length, body.length);
    return all;
  }

  /** The bytes inside a larger direct buffer, between a position and a limit that are not its ends. */
  private static ByteBuffer slice(byte[] bytes) {
    ByteBuffer buffer = ByteBuffer.allocateDirect(bytes.length + 10);
    buffer.put(new byte[] {'9', '9', '9', '9', '9'});
    buffer.put(bytes);
    buffer.put(new byte[] {'7', '7', '7', '7', '7'});
    return buffer.position(5).limit(5 + bytes.length);
  }

  @Test
  void anEntryReadsBackTheSameFromAnArrayAndFromASliceOfADirectBuffer() {
    L2Entry entry = new L2Entry("json", "{\"a\":1}".getBytes(StandardCharsets.UTF_8), Tags.of("t\u00e9", "x:y"));
    byte[] stored = stored(1_733_000_000_000_123L, entry);

    for (L2Entry read : new L2Entry[] {EntryFormat.entry(stored), EntryFormat.entry(slice(stored))}) {
      assertThat(read.codecId()).isEqualTo("json");
      assertThat(read.value()).isEqualTo(entry.value());
      assertThat(read.tags().asSet()).containsExactlyInAnyOrder("t\u00e9", "x:y");
    }
    assertThat(EntryFormat.version(stored)).isEqualTo(1_733_000_000_000_123L);
    assertThat(EntryFormat.version(slice(stored))).isEqualTo(1_733_000_000_000_123L);
    ByteBuffer buffer = slice(stored);
    EntryFormat.entry(buffer);
    assertThat(buffer.position()).as("not moved").isEqualTo(5);
  }

  @Test
  void anAbsenceAndAnEmptyValueStayApart() {
    L2Entry absent = EntryFormat.entry(stored(1, new L2Entry("string", null, Tags.empty())));
    L2Entry empty = EntryFormat.entry(stored(1, new L2Entry("string", new byte[0], Tags.empty())));

    assertThat(absent.isAbsent()).isTrue();
    assertThat(empty.isAbsent()).isFalse();
    assertThat(empty.value()).isEmpty();
  }

  @Test
  void codecIdsOutsideTheFieldAreRefusedWithTheirLength() {
    assertThatThrownBy(() -> EntryFormat.body(new L2Entry("c".repeat(1_000), new byte[0], Tags.empty())))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("1 to 999")
        .hasMessageContaining("1000");
    assertThatThrownBy(() -> EntryFormat.body(new L2Entry("", new byte[0], Tags.empty())))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void noMutationOfAStoredEntryMakesDecodingThrowAndEachIsReadOrUnreadable() {
    byte[] good = stored(42, new L2Entry("string", "value".getBytes(StandardCharsets.UTF_8), Tags.of("a", "bc")));
    byte[] alphabet = "0123456789:-+ av\u00ff2".getBytes(StandardCharsets.ISO_8859_1);
    SplittableRandom random = new SplittableRandom(7);
    int unreadable = 0;
    for (int i = 0; i < 50_000; i++) {
      byte[] mutated = java.util.Arrays.copyOf(good, random.nextInt(good.length + 3));
      for (int m = random.nextInt(1, 4); m > 0 && mutated.length > 0; m--) {
        mutated[random.nextInt(mutated.length)] = alphabet[random.nextInt(alphabet.length)];
      }
      L2Entry read = EntryFormat.entry(slice(mutated));
      assertThat(EntryFormat.entry(mutated).codecId()).isEqualTo(read.codecId());
      if (read.codecId().equals(EntryFormat.UNREADABLE)) {
        unreadable++;
      } else {
        assertThat(EntryFormat.version(mutated)).isGreaterThanOrEqualTo(0);
      }
    }
    assertThat(unreadable).as("most mutations break something").isGreaterThan(10_000);
  }
}
