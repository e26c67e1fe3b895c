package dev.tiercache.redis;

import static dev.tiercache.redis.KeySpace.bytes;

import dev.tiercache.Tags;
import dev.tiercache.spi.L2Entry;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * How an entry is laid out in Redis: one string, so that a plain {@code MGET} can read it together with its bucket's
 * clock and floors (see {@link TierReads}). Decoding never throws: whatever Redis hands back that is not well-formed is
 * reported as an unreadable entry, which the cache counts as an undecodable miss, and which the next write replaces.
 *
 * <pre>
 * offset  length  field
 *      0       1  format, {@link Scripts#FORMAT}
 *      1      16  write version, decimal, zero-padded (the scripts fill it in)
 *     17       1  'v' a value, 'a' a cached absence
 *     18       3  codec id length, decimal, 1 to 999
 *     21       7  tags length, decimal
 *     28          codec id (UTF-8), tags ({@link #encodeTags}), then the value's bytes to the end
 * </pre>
 * The JVM sends everything from offset 17 on (the body); the write script prefixes the format and the version it
 * assigns. Fixed-width lengths keep the Lua that checks them free of loops.
 */
final class EntryFormat {

  /** The codec id of an entry that could not be read; no codec has it, so the cache counts a decode error. */
  static final String UNREADABLE = "!unreadable";

  /** Bytes before the codec id. */
  static final int HEADER = 28;

  /** Where the body the JVM sends starts in the stored string. */
  static final int BODY = 17;

  private static final byte FORMAT = (byte) Scripts.FORMAT.charAt(0);
  private static final byte VALUE = 'v';
  private static final byte ABSENT = 'a';
  private static final int MAX_CODEC_ID = 999;
  private static final int MAX_TAGS = 9_999_999;

  /** At most 7 digits per tag length, as the scripts accept. */
  private static final int MAX_DIGITS = 7;

  private EntryFormat() {}

  static L2Entry unreadable() {
    return new L2Entry(UNREADABLE, new byte[0], Tags.empty());
  }

  /**
   * What the JVM sends for an entry: flag, lengths, codec id, tags and value.
   *
   * @throws IllegalArgumentException if the codec id is longer than 999 UTF-8 bytes or empty, or the encoded tags
   *     longer than 9,999,999 bytes
   */
  static byte[] body(L2Entry entry) {
    byte[] codec = entry.codecId().getBytes(StandardCharsets.UTF_8);
    if (codec.length == 0 || codec.length > MAX_CODEC_ID) {
      throw new IllegalArgumentException(
          "a codec id must be 1 to " + MAX_CODEC_ID + " UTF-8 bytes, not " + codec.length);
    }
    byte[] tags = encodeTags(entry.tags());
    if (tags.length > MAX_TAGS) {
      throw new IllegalArgumentException("an entry's tags must encode to at most " + MAX_TAGS + " bytes");
    }
    byte[] value = entry.isAbsent() ? new byte[0] : entry.value();
    byte[] body = new byte[HEADER - BODY + codec.length + tags.length + value.length];
    body[0] = entry.isAbsent() ? ABSENT : VALUE;
    writeDigits(body, 1, 3, codec.length);
    writeDigits(body, 4, 7, tags.length);
    System.arraycopy(codec, 0, body, 11, codec.length);
    System.arraycopy(tags, 0, body, 11 + codec.length, tags.length);
    System.arraycopy(value, 0, body, 11 + codec.length + tags.length, value.length);
    return body;
  }

  private static void writeDigits(byte[] into, int at, int width, int n) {
    for (int i = at + width - 1; i >= at; i--) {
      into[i] = (byte) ('0' + n % 10);
      n /= 10;
    }
  }

  /**
   * The write version of a stored entry, or -1 if its format byte or version field is not well-formed (its body is
   * not checked: see {@link #entry}).
   */
  static long version(byte[] stored) {
    return version(ByteBuffer.wrap(stored));
  }

  /** {@link #version(byte[])} of the bytes from the buffer's position to its limit; the buffer is not moved. */
  static long version(ByteBuffer stored) {
    int at = stored.position();
    if (stored.remaining() < HEADER || stored.get(at) != FORMAT) {
      return -1;
    }
    return exact(digits(stored, at + 1, 16));
  }

  /** The entry a stored string holds, or {@link #unreadable()} (see {@link #entry(ByteBuffer)}). */
  static L2Entry entry(byte[] stored) {
    return entry(ByteBuffer.wrap(stored));
  }

  /**
   * The entry stored in the bytes from the buffer's position to its limit (the buffer is not moved), or
   * {@link #unreadable()} if any field is malformed: a wrong format or flag, lengths that are not decimal or run past
   * the end, an empty or non-UTF-8 codec id, malformed tags. Only the value is copied out.
   */
  static L2Entry entry(ByteBuffer stored) {
    return entry(stored, version(stored));
  }

  /** {@link #entry(ByteBuffer)} of a string whose {@link #version(ByteBuffer)} the caller already parsed. */
  static L2Entry entry(ByteBuffer stored, long version) {
    int codecEnd = codecEnd(stored, version);
    if (codecEnd < 0) {
      return unreadable();
    }
    int tagsEnd = codecEnd + (int) digits(stored, stored.position() + 21, 7);
    String codec = codecId(stored, stored.position() + HEADER, codecEnd);
    Tags tags = tagsEnd == codecEnd ? Tags.empty() : decodeTags(stored, codecEnd, tagsEnd);
    if (codec == null || tags == null) {
      return unreadable();
    }
    byte[] value = null;
    if (stored.get(stored.position() + BODY) == VALUE) {
      value = new byte[stored.limit() - tagsEnd];
      stored.get(tagsEnd, value);
    }
    return new L2Entry(codec, value, tags);
  }

  /**
   * Whether the scripts take a stored string for an entry ({@code entry_of} in {@link LuaLib}): every field
   * well-formed, whatever the bytes of its codec id and tags, which Lua does not decode. The scripts answer such an
   * entry by its version (a miss below the floor or when an epoch covers it); only then does its text make it
   * unreadable.
   */
  static boolean readableByScripts(ByteBuffer stored) {
    int codecEnd = codecEnd(stored);
    return codecEnd >= 0
        && parseTags(stored, codecEnd, codecEnd + (int) digits(stored, stored.position() + 21, 7), null);
  }

  /**
   * Where (absolute) the codec id of a stored string ends, or -1 if its header is malformed or its lengths run past
   * the end.
   */
  private static int codecEnd(ByteBuffer stored) {
    return codecEnd(stored, version(stored));
  }

  /** {@link #codecEnd(ByteBuffer)}, given the string's version. */
  private static int codecEnd(ByteBuffer stored, long version) {
    if (version < 0) {
      return -1;
    }
    int at = stored.position();
    byte flag = stored.get(at + BODY);
    long codecLength = digits(stored, at + 18, 3);
    long tagsLength = digits(stored, at + 21, 7);
    if ((flag != VALUE && flag != ABSENT)
        || codecLength < 1
        || tagsLength < 0
        || HEADER + codecLength + tagsLength > stored.remaining()) {
      return -1;
    }
    return at + HEADER + (int) codecLength;
  }

  /**
   * Tags as one field: each tag as its UTF-8 byte length, a colon, and its bytes. Lua splits it without a table per
   * tag field, and no tag content can break it.
   */
  static byte[] encodeTags(Tags tags) {
    if (tags.isEmpty()) {
      return new byte[0];
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (String tag : tags) {
      byte[] utf8 = KeySpace.wellFormed(tag, "tag").getBytes(StandardCharsets.UTF_8);
      out.writeBytes(bytes(utf8.length + ":"));
      out.writeBytes(utf8);
    }
    return out.toByteArray();
  }

  /** The tags of an encoded field, or null if it is malformed (see {@link #decodeTags(ByteBuffer, int, int)}). */
  static Tags decodeTags(byte[] encoded) {
    return encoded.length == 0 ? Tags.empty() : decodeTags(ByteBuffer.wrap(encoded), 0, encoded.length);
  }

  /**
   * The tags encoded in {@code encoded[from, to)}, or null if they are malformed: a length must be 1 to 7 ASCII
   * digits without a leading zero (no sign, no space), followed by a colon and that many bytes of UTF-8, at least one.
   */
  static Tags decodeTags(ByteBuffer encoded, int from, int to) {
    List<String> tags = new ArrayList<>();
    if (!parseTags(encoded, from, to, tags)) {
      return null;
    }
    try {
      return Tags.of(tags);
    } catch (RuntimeException e) {
      return null;
    }
  }

  /**
   * Whether {@code encoded[from, to)} is well-formed tags; with {@code into}, also whether each is UTF-8, added to it.
   */
  private static boolean parseTags(ByteBuffer encoded, int from, int to, List<String> into) {
    int i = from;
    while (i < to) {
      int j = i;
      int length = 0;
      while (j < to && j - i < MAX_DIGITS && encoded.get(j) >= '0' && encoded.get(j) <= '9') {
        length = length * 10 + (encoded.get(j) - '0');
        j++;
      }
      if (j == i || encoded.get(i) == '0' || j >= to || encoded.get(j) != ':' || length < 1 || length > to - j - 1) {
        return false;
      }
      if (into != null) {
        String tag = utf8(encoded, j + 1, length);
        if (tag == null) {
          return false;
        }
        into.add(tag);
      }
      i = j + 1 + length;
    }
    return true;
  }

  /** Strict UTF-8, or null. */
  static String utf8(byte[] bytes, int offset, int length) {
    return utf8(ByteBuffer.wrap(bytes), offset, length);
  }

  /** Strict UTF-8 of {@code length} bytes at {@code offset}, or null; the buffer is not moved. */
  static String utf8(ByteBuffer bytes, int offset, int length) {
    try {
      return StandardCharsets.UTF_8.newDecoder().decode(bytes.slice(offset, length)).toString();
    } catch (java.nio.charset.CharacterCodingException e) {
      return null;
    }
  }

  /** The last codec id decoded: a cache reads the same one again and again, so it is not decoded again. */
  private static volatile Object[] lastCodec = {new byte[0], ""};

  private static String codecId(ByteBuffer stored, int from, int to) {
    Object[] last = lastCodec;
    byte[] lastBytes = (byte[]) last[0];
    if (sameBytes(lastBytes, stored, from, to)) {
      return (String) last[1];
    }
    String id = utf8(stored, from, to - from);
    if (id != null && !id.isEmpty()) {
      byte[] copy = new byte[to - from];
      stored.get(from, copy);
      lastCodec = new Object[] {copy, id};
    }
    return id;
  }

  private static boolean sameBytes(byte[] a, ByteBuffer b, int from, int to) {
    if (a.length != to - from) {
      return false;
    }
    for (int i = 0; i < a.length; i++) {
      if (a[i] != b.get(from + i)) {
        return false;
      }
    }
    return true;
  }

  /** A version as the scripts write it: 1 to 16 ASCII digits, at most 2^53 - 1; -1 otherwise. */
  static long parseVersion(byte[] digits) {
    return digits.length == 0 || digits.length > 16 ? -1 : exact(digits(ByteBuffer.wrap(digits), 0, digits.length));
  }

  /** {@link #parseVersion(byte[])} of the bytes from the buffer's position to its limit; null: -1. */
  static long parseVersion(ByteBuffer digits) {
    int length = digits == null ? 0 : digits.remaining();
    return length == 0 || length > 16 ? -1 : exact(digits(digits, digits.position(), length));
  }

  /** A version, or -1 past what the scripts count exactly, where they take it for corrupt too. */
  private static long exact(long version) {
    return version > SeenVersions.MAX_VERSION ? -1 : version;
  }

  /** {@code length} ASCII digits at {@code from}; -1 if any is not one. */
  private static long digits(ByteBuffer digits, int from, int length) {
    long n = 0;
    for (int i = from; i < from + length; i++) {
      byte b = digits.get(i);
      if (b < '0' || b > '9') {
        return -1;
      }
      n = n * 10 + (b - '0');
    }
    return n;
  }
}
