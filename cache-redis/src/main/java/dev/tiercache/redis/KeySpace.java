package dev.tiercache.redis;

import dev.tiercache.Glob;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.zip.CRC32;

/**
 * Where a cache's data lives in Redis. A cache is split into buckets; every key of a bucket carries the bucket's
 * hash tag, so an entry and the invalidation state it is checked against share one Cluster slot and one Lua script
 * sees them together:
 *
 * <pre>
 *   ns:{tag}:k:&lt;key&gt;   an entry                 ns:{tag}:m:clock   the bucket's version clock
 *   ns:{tag}:m:g       tag and prefix epochs    ns:{tag}:m:ts      tombstones (zset)
 *   ns:{tag}:m:plens   invalidated prefix lengths  ns:{tag}:m:pat  recent patterns (zset)
 * </pre>
 *
 * (the whole list is in {@link LuaLib}). A key's bucket is its UTF-8 CRC-32 modulo the number of buckets.
 *
 * <p>With one bucket (the default outside a Cluster) the tag is the cache name: {@code {cache}}. With {@code N > 1}
 * buckets, bucket {@code i}'s tag is {@code cache#i.j}, where {@code j} is the smallest number from 0 such that the
 * tag's Cluster key slot (CRC16 modulo 16384, as Redis computes it) falls in the middle half of the bucket's slot
 * range {@code [s, e) = [i * 16384 / N, (i + 1) * 16384 / N)}, that is in {@code [s + (e - s) / 4, e - (e - s) / 4)}
 * (integer division); if no {@code j} below {@value #TAG_SEARCH} does (it practically cannot happen), {@code j} is
 * 0. So the tags depend on nothing but the cache name and {@code N} (the same in every JVM and every version), and
 * the buckets sit on evenly spaced slots, away from the edges of their range. Cluster masters normally own
 * contiguous, evenly split slot ranges, so each master holds an even share of a cache's buckets: exactly
 * {@code N / masters} of them when the masters divide {@code N}, as with the default 48 buckets on 1, 2, 3, 4, 6, 8,
 * 12, 16, 24 or 48 masters, even when the split differs from this one by a few slots (as
 * {@code redis-cli --cluster create}'s rounding does). Cache names and namespaces cannot hold braces or {@code #}, so
 * no two caches share a tag.
 *
 * <p>This layout replaced the plain {@code {cache#i}} tags (whose 16 slots fell unevenly on the masters): the two
 * never see each other's entries or invalidations, so instances of both versions must not share a Redis.
 */
final class KeySpace {

  /** How many suffixes {@link #tag} tries per bucket before it settles for {@code .0}. */
  static final int TAG_SEARCH = 1 << 16;

  /** Redis Cluster's hash slots. */
  static final int SLOTS = 16_384;

  private static final int[] CRC16 = crc16Table();

  private final String namespace;
  private final int buckets;
  /** Per cache name, the key prefix of each bucket ({@code ns:{tag}:}): computed once, read on every call. */
  private final Map<String, String[]> bases = new ConcurrentHashMap<>();

  KeySpace(String namespace, int buckets) {
    this.namespace = namespace;
    this.buckets = buckets;
  }

  /**
   * The hash tag of a bucket (the text between the braces), as the class comment defines it.
   *
   * @param cache the cache name
   * @param bucket from 0 to {@code buckets - 1}
   * @param buckets the number of buckets of the cache
   */
  static String tag(String cache, int bucket, int buckets) {
    if (buckets == 1) {
      return cache;
    }
    long start = (long) bucket * SLOTS / buckets;
    long end = (long) (bucket + 1) * SLOTS / buckets;
    // The middle half of the range, so a cluster sliced a few slots differently still holds it on the same master.
    long low = start + (end - start) / 4;
    long high = end - (end - start) / 4;
    String stem = cache + "#" + bucket + ".";
    int stemCrc = crc16(0, stem.getBytes(StandardCharsets.UTF_8));
    byte[] digits = new byte[10];
    for (int j = 0; j < TAG_SEARCH; j++) {
      // The CRC of stem + j, continued from the stem's: j's decimal digits, most significant first.
      int n = 0;
      for (int rest = j; n == 0 || rest > 0; rest /= 10) {
        digits[digits.length - ++n] = (byte) ('0' + rest % 10);
      }
      int crc = stemCrc;
      for (int d = digits.length - n; d < digits.length; d++) {
        crc = crc16(crc, digits[d]);
      }
      int slot = crc % SLOTS;
      if (slot >= low && slot < high) {
        return stem + j;
      }
    }
    return stem + 0;
  }

  /** The Redis Cluster key slot of a key without a hash tag: CRC16 (XMODEM) of its bytes, modulo 16384. */
  static int slot(byte[] key) {
    return crc16(0, key) % SLOTS;
  }

  private static int crc16(int crc, byte[] bytes) {
    for (byte b : bytes) {
      crc = crc16(crc, b);
    }
    return crc;
  }

  private static int crc16(int crc, byte b) {
    return ((crc << 8) ^ CRC16[((crc >>> 8) ^ b) & 0xff]) & 0xffff;
  }

  private static int[] crc16Table() {
    int[] table = new int[256];
    for (int i = 0; i < 256; i++) {
      int crc = i << 8;
      for (int bit = 0; bit < 8; bit++) {
        crc = (crc & 0x8000) != 0 ? (crc << 1) ^ 0x1021 : crc << 1;
      }
      table[i] = crc & 0xffff;
    }
    return table;
  }

  int buckets() {
    return buckets;
  }

  /** The bucket of a key: stable across JVMs and versions. */
  int bucketOf(String key) {
    if (buckets == 1) {
      return 0;
    }
    CRC32 crc = new CRC32();
    crc.update(wellFormed(key, "key").getBytes(StandardCharsets.UTF_8));
    return (int) (crc.getValue() % buckets);
  }

  /** Groups keys by bucket, in the order first seen. */
  Map<Integer, List<String>> byBucket(Collection<String> wanted) {
    Map<Integer, List<String>> byBucket = new LinkedHashMap<>();
    for (String key : wanted) {
      byBucket.computeIfAbsent(bucketOf(key), b -> new ArrayList<>()).add(key);
    }
    return byBucket;
  }

  private String base(String cache, int bucket) {
    return bases.computeIfAbsent(cache, this::basesOf)[bucket];
  }

  private String[] basesOf(String cache) {
    String[] all = new String[buckets];
    for (int bucket = 0; bucket < buckets; bucket++) {
      all[bucket] = namespace + ":{" + tag(cache, bucket, buckets) + "}:";
    }
    return all;
  }

  /** The prefix of the bucket's entry keys; an entry key is this plus the encoded key. */
  String entryPrefix(String cache, int bucket) {
    return base(cache, bucket) + "k:";
  }

  /** The load lease of a key, in its entry's bucket (distributed single-flight). */
  String lease(String cache, String key) {
    return metaPrefix(cache, bucketOf(key)) + "l:" + key;
  }

  /** The prefix of the bucket's invalidation state. */
  String metaPrefix(String cache, int bucket) {
    return base(cache, bucket) + "m:";
  }

  String clock(String cache, int bucket) {
    return metaPrefix(cache, bucket) + "clock";
  }

  String entry(String cache, String key) {
    return entryPrefix(cache, bucketOf(key)) + key;
  }

  /**
   * What every key the {@link #scanPattern} of a cache matches starts with, literally: entry keys of every bucket and
   * of every layout.
   */
  String scanStart(String cache) {
    return namespace + ":{" + cache;
  }

  /**
   * The SCAN MATCH pattern for every entry key of a cache, in every bucket: the cache's own part escaped, then only
   * stars. No user pattern is ever matched inside Redis; the JVM matches the keys this finds.
   */
  String scanPattern(String cache) {
    String start = scanStart(cache);
    String rest = "}:k:";
    return buckets == 1
        ? Glob.escape(start + rest) + "*"
        : Glob.escape(start + "#") + "*" + Glob.escape(rest) + "*";
  }

  /** The encoded key of an entry key found by a scan, or null if it is not an entry key of this cache. */
  String keyOf(String cache, String entryKey) {
    String start = scanStart(cache);
    if (!entryKey.startsWith(start)) {
      return null;
    }
    int bucket = 0;
    if (buckets > 1) {
      // "#<bucket>." then the suffix: the prefix must be exactly that bucket's, or the key is not of this layout.
      int i = start.length();
      if (i >= entryKey.length() || entryKey.charAt(i) != '#') {
        return null;
      }
      i++;
      int digits = i;
      while (i < entryKey.length() && i - digits < 5 && entryKey.charAt(i) >= '0' && entryKey.charAt(i) <= '9') {
        bucket = bucket * 10 + entryKey.charAt(i) - '0';
        i++;
      }
      if (i == digits || bucket >= buckets) {
        return null;
      }
    }
    String prefix = entryPrefix(cache, bucket);
    return entryKey.startsWith(prefix) ? entryKey.substring(prefix.length()) : null;
  }

  /** The channel of a cache's bus. */
  String channel(String cache) {
    return namespace + ":bus:" + cache;
  }

  /**
   * The UTF-8 bytes of a string, strictly: a lone surrogate would otherwise become {@code ?} and two different keys
   * one Redis key.
   *
   * @throws IllegalArgumentException if the string is not well-formed UTF-16
   */
  static byte[] bytes(String s) {
    return wellFormed(s, "text").getBytes(StandardCharsets.UTF_8);
  }

  /**
   * Checks that a caller's string (a key, a tag, a prefix, a pattern) is well-formed UTF-16, so that it has one
   * UTF-8 form.
   *
   * @param what what the string is, for the message
   * @return the string
   * @throws IllegalArgumentException naming {@code what} and the index of the lone surrogate
   */
  static String wellFormed(String s, String what) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
        i++;
      } else if (Character.isSurrogate(c)) {
        throw new IllegalArgumentException(
            "malformed " + what + ": a lone surrogate at index " + i + " has no UTF-8 form");
      }
    }
    return s;
  }
}
