package dev.tiercache.redis;

import dev.tiercache.Glob;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32;

/**
 * Where a cache's data lives in Redis. A cache is split into buckets; every key of a bucket carries the bucket's
 * hash tag, so an entry and the invalidation state it is checked against share one Cluster slot and one Lua script
 * sees them together:
 *
 * <pre>
 *   ns:{cache}:k:&lt;key&gt;   an entry                 ns:{cache}:m:clock   the bucket's version clock
 *   ns:{cache}:m:g       tag and prefix epochs    ns:{cache}:m:ts      tombstones (zset)
 *   ns:{cache}:m:plens   invalidated prefix lengths  ns:{cache}:m:pat  recent patterns (zset)
 * </pre>
 *
 * (the whole list is in {@link LuaLib}).
 *
 * With more than one bucket the tag reads {@code {cache#b}}. Cache names and namespaces cannot hold braces or
 * {@code #}, so no two caches share a tag.
 */
final class KeySpace {

  private final String namespace;
  private final int buckets;

  KeySpace(String namespace, int buckets) {
    this.namespace = namespace;
    this.buckets = buckets;
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
    return namespace + ":{" + cache + (buckets == 1 ? "" : "#" + bucket) + "}:";
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
   * The SCAN MATCH pattern for every entry key of a cache, in every bucket: the cache's own part escaped, then only
   * stars. No user pattern is ever matched inside Redis; the JVM matches the keys this finds.
   */
  String scanPattern(String cache) {
    String start = namespace + ":{" + cache;
    String rest = "}:k:";
    return buckets == 1
        ? Glob.escape(start + rest) + "*"
        : Glob.escape(start + "#") + "*" + Glob.escape(rest) + "*";
  }

  /** The encoded key of an entry key found by a scan, or null if it is not an entry key of this cache. */
  String keyOf(String cache, String entryKey) {
    String start = namespace + ":{" + cache;
    if (!entryKey.startsWith(start)) {
      return null;
    }
    int i = start.length();
    if (buckets > 1) {
      if (i >= entryKey.length() || entryKey.charAt(i) != '#') {
        return null;
      }
      i++;
      int digits = i;
      while (i < entryKey.length() && entryKey.charAt(i) >= '0' && entryKey.charAt(i) <= '9') {
        i++;
      }
      if (i == digits) {
        return null;
      }
    }
    return entryKey.startsWith("}:k:", i) ? entryKey.substring(i + 4) : null;
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
