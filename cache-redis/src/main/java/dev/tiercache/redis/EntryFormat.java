package dev.tiercache.redis;

import static dev.tiercache.redis.KeySpace.bytes;

import dev.tiercache.Tags;
import dev.tiercache.spi.L2Entry;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * How an entry's fields travel between the JVM and the scripts, and how a reply becomes an {@link L2Entry}. Decoding
 * never throws: whatever Redis hands back that is not well-formed is reported as an unreadable entry, which the cache
 * counts as an undecodable miss, and which the next write replaces.
 */
final class EntryFormat {

  /** The codec id of an entry that could not be read; no codec has it, so the cache counts a decode error. */
  static final String UNREADABLE = "!unreadable";

  static final byte[] ABSENT = bytes("a");
  static final byte[] PRESENT = new byte[0];

  /** At most 7 digits per tag length, as the scripts accept. */
  private static final int MAX_DIGITS = 7;

  private EntryFormat() {}

  static L2Entry unreadable() {
    return new L2Entry(UNREADABLE, new byte[0], Tags.empty());
  }

  /**
   * Tags as one field: each tag as its UTF-8 byte length, a colon, and its bytes. Lua splits it without a table per
   * tag field, and no tag content can break it.
   */
  static byte[] encodeTags(Tags tags) {
    if (tags.isEmpty()) {
      return PRESENT;
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (String tag : tags) {
      byte[] utf8 = KeySpace.wellFormed(tag, "tag").getBytes(StandardCharsets.UTF_8);
      out.writeBytes(bytes(utf8.length + ":"));
      out.writeBytes(utf8);
    }
    return out.toByteArray();
  }

  /**
   * The tags of an encoded field, or null if it is malformed: a length must be 1 to 7 ASCII digits without a leading
   * zero (no sign, no space), followed by a colon and that many bytes of UTF-8, at least one.
   */
  static Tags decodeTags(byte[] encoded) {
    if (encoded.length == 0) {
      return Tags.empty();
    }
    List<String> tags = new ArrayList<>();
    int i = 0;
    while (i < encoded.length) {
      int j = i;
      int length = 0;
      while (j < encoded.length && j - i < MAX_DIGITS && encoded[j] >= '0' && encoded[j] <= '9') {
        length = length * 10 + (encoded[j] - '0');
        j++;
      }
      if (j == i || encoded[i] == '0' || j >= encoded.length || encoded[j] != ':' || length < 1 || length > encoded.length - j - 1) {
        return null;
      }
      String tag = utf8(encoded, j + 1, length);
      if (tag == null) {
        return null;
      }
      tags.add(tag);
      i = j + 1 + length;
    }
    try {
      return Tags.of(tags);
    } catch (RuntimeException e) {
      return null;
    }
  }

  /** Strict UTF-8, or null. */
  static String utf8(byte[] bytes, int offset, int length) {
    try {
      return StandardCharsets.UTF_8
          .newDecoder()
          .decode(java.nio.ByteBuffer.wrap(bytes, offset, length))
          .toString();
    } catch (java.nio.charset.CharacterCodingException e) {
      return null;
    }
  }

  /** The number of reply elements of a valid entry: codec, flags, data, tags, version. */
  static final int FIELDS = 5;

  /**
   * The valid entry whose {@link #FIELDS} fields start at {@code at} in a flat read reply.
   *
   * @return the entry, or {@link #unreadable()} if a field is missing or malformed
   */
  static L2Entry entryAt(List<?> reply, int at) {
    if (at + FIELDS > reply.size()) {
      return unreadable();
    }
    for (int i = at; i < at + FIELDS; i++) {
      if (!(reply.get(i) instanceof byte[])) {
        return unreadable();
      }
    }
    String codec = codecId((byte[]) reply.get(at));
    Tags tags = decodeTags((byte[]) reply.get(at + 3));
    if (codec == null || codec.isEmpty() || tags == null) {
      return unreadable();
    }
    boolean absent = ((byte[]) reply.get(at + 1)).length > 0;
    return new L2Entry(codec, absent ? null : (byte[]) reply.get(at + 2), tags);
  }

  /** The write version of the entry whose fields start at {@code at}; -1 if it is malformed. */
  static long versionAt(List<?> reply, int at) {
    return at + FIELDS <= reply.size() && reply.get(at + FIELDS - 1) instanceof byte[] v ? parseVersion(v) : -1;
  }

  /** The last codec id decoded: a cache reads the same one again and again, so it is not decoded again. */
  private static volatile Object[] lastCodec = {new byte[0], ""};

  private static String codecId(byte[] utf8) {
    Object[] last = lastCodec;
    if (java.util.Arrays.equals((byte[]) last[0], utf8)) {
      return (String) last[1];
    }
    String id = utf8(utf8, 0, utf8.length);
    if (id != null) {
      lastCodec = new Object[] {utf8, id};
    }
    return id;
  }

  /** A version as the scripts write it: 1 to 16 ASCII digits; -1 otherwise. */
  static long parseVersion(byte[] digits) {
    if (digits.length == 0 || digits.length > 16) {
      return -1;
    }
    long n = 0;
    for (byte b : digits) {
      if (b < '0' || b > '9') {
        return -1;
      }
      n = n * 10 + (b - '0');
    }
    return n;
  }
}
