package dev.tiercache.redis;

import dev.tiercache.spi.L2Entry;
import dev.tiercache.spi.L2Read;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.output.CommandOutput;
import java.nio.ByteBuffer;

/**
 * The reply to a read's {@code MGET} of a bucket's clock, floor and {@code gmax} and then its entries (see
 * {@link TierReads}), decoded as it arrives: the three versions are parsed in place, and each entry is settled as the
 * read script would settle it, or left open for the script, without a list, a byte array per element or a copy of
 * the stored string (only the value is copied out).
 *
 * <p>{@code MGET} answers nil both for a missing key and for one of another type (a floor another program overwrote
 * with a hash), so a nil clock or floor settles nothing: the script tells them apart and repairs them (and writes a
 * missing floor as 0, so that the next reads settle again). The clock must also not be behind the highest version
 * this tier saw in the bucket: a rollback, which only the script repairs.
 */
final class BucketReply extends CommandOutput<byte[], byte[], BucketReply> {

  /** Elements before the first entry: clock, floor, gmax. */
  static final int FIRST = 3;

  private final long seen;
  private final L2Read[] settled;
  private long clock = -1;
  private long floor = -1;
  private long gmax = -1;
  private int element;

  /**
   * @param seen the highest version the tier saw in the bucket when it sent the command
   * @param entries how many entry keys follow the three versions
   */
  BucketReply(long seen, int entries) {
    super(ByteArrayCodec.INSTANCE, null);
    this.output = this;
    this.seen = seen;
    this.settled = new L2Read[entries];
  }

  /**
   * The reply's array begins. Lettuce replays a command still waiting for its reply when its connection closes (its
   * default, at-least-once) into this same output, so a reply cut short leaves elements here: they are forgotten, or
   * the replayed reply's elements would land one partial reply further on, an entry settling another key's read. An
   * {@code MGET}'s reply is one array of bulk strings, so this is called once per reply decoded.
   */
  @Override
  public void multi(int count) {
    element = 0;
    clock = -1;
    floor = -1;
    gmax = -1;
    java.util.Arrays.fill(settled, null);
  }

  /**
   * Lettuce prints a command's output when it logs the command (DEBUG); the inherited form prints {@code output},
   * which is this reply itself, and never ends. Prints no entry: values stay out of logs.
   */
  @Override
  public String toString() {
    return "BucketReply [entries=" + settled.length + ", received=" + element + "]";
  }

  @Override
  public void set(ByteBuffer bytes) {
    int at = element++;
    if (at == 0) {
      clock = EntryFormat.parseVersion(bytes);
    } else if (at == 1) {
      floor = EntryFormat.parseVersion(bytes);
    } else if (at == 2) {
      gmax = EntryFormat.parseVersion(bytes);
    } else if (at - FIRST < settled.length && usable()) {
      settled[at - FIRST] = decide(bytes);
    }
  }

  /**
   * An entry as long as this is parsed from a copy on the heap: the reply's buffer is Netty's direct memory, where
   * each of the parser's byte reads (the header's 27 digits, the codec id) is a checked off-heap access, and one bulk
   * copy costs less than they do (decide was 14% of a 100-key getAll's CPU samples, most of it in those reads).
   * Longer entries are parsed where they are, so the copy stays bounded per reply.
   */
  static final int COPIED = 4_096;

  /**
   * Replies of fewer entries parse in place: the copy buffer is one allocation per reply, which a single-key read
   * (one entry) pays in full (~0.3 KB, +20 % of an L2 hit's bytes, benchmarks suite 2) for one entry's saving.
   */
  static final int COPY_FROM_ENTRIES = 8;

  /** The heap copy of the entry being settled ({@link #COPIED}); one per reply, grown as its entries need. */
  private ByteBuffer heap;

  /** {@code stored}, or a copy of it on the heap (position 0); either way the same bytes for the parser. */
  private ByteBuffer onHeap(ByteBuffer stored) {
    int length = stored.remaining();
    if (stored.hasArray() || length > COPIED || settled.length < COPY_FROM_ENTRIES) {
      return stored;
    }
    if (heap == null || heap.capacity() < length) {
      heap = ByteBuffer.allocate(Math.min(COPIED, Math.max(length, 2 * (heap == null ? 128 : heap.capacity()))));
    }
    heap.clear().put(0, stored, stored.position(), length).limit(length);
    return heap;
  }

  /** Whether the bucket's versions let entries be settled at all. */
  boolean usable() {
    return clock >= 0 && clock >= seen && (floor >= 0 || exhausted());
  }

  /** A clock at the last version: every read of the bucket misses, as the read script answers (see LuaLib). */
  private boolean exhausted() {
    return clock == SeenVersions.MAX_VERSION;
  }

  /** The bucket's clock: the read version of every settled entry. */
  long clock() {
    return clock;
  }

  /** The read of entry {@code i}, or null if only the script can settle it. */
  L2Read settled(int i) {
    return settled[i];
  }

  /**
   * The read an entry settles, as the script would answer it, in the script's order (malformed for Lua first, then
   * the floor, then text that is not UTF-8); null when only the script can tell (written at or before {@code gmax}, or {@code gmax} unknown).
   */
  private L2Read decide(ByteBuffer stored) {
    if (stored == null || exhausted()) {
      return L2Read.miss(clock);
    }
    stored = onHeap(stored);
    long version = EntryFormat.version(stored);
    if (version < 0) {
      return new L2Read(EntryFormat.unreadable(), clock);
    }
    if (version <= gmax || gmax < 0) {
      // Malformed or not, below the floor or not: the script says which.
      return null;
    }
    L2Entry entry = EntryFormat.entry(stored, version);
    // An entry the scripts read although its text is not UTF-8 (which Lua does not check) they answer by its version
    // first, as any other: only at or above the floor is it unreadable.
    if (entry.codecId() == EntryFormat.UNREADABLE && !EntryFormat.readableByScripts(stored)) {
      return new L2Read(entry, clock);
    }
    return version < floor ? L2Read.miss(clock) : new L2Read(entry, clock);
  }
}
