package dev.tiercache.redis;

import dev.tiercache.Glob;
import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32;

/**
 * Where a cache's data lives in Redis. A cache is split into buckets; every key of a bucket carries the bucket's
 * hash tag, so an entry and the invalidation state it is checked against share one Cluster slot and one Lua script
 * sees them together:
 *
 * <pre>
 *   ns:{cache}:k:&lt;key&gt;        an entry (or a tombstone)       ns:{cache}:m:clock     the bucket's version clock
 *   ns:{cache}:m:t:&lt;tag&gt;      a tag's invalidation version      ns:{cache}:m:p:&lt;prefix&gt; a prefix's
 *   ns:{cache}:m:plens          lengths of invalidated prefixes   ns:{cache}:m:pat       recent patterns (zset)
 * </pre>
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
    crc.update(key.getBytes(StandardCharsets.UTF_8));
    return (int) (crc.getValue() % buckets);
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
   * The SCAN MATCH pattern for the entry keys of every bucket of a cache that match a user's glob: the cache's own
   * part is escaped, so nothing outside the cache can match.
   */
  String scanPattern(String cache, String glob) {
    String start = namespace + ":{" + cache;
    String rest = "}:k:";
    return buckets == 1
        ? Glob.escape(start + rest) + glob
        : Glob.escape(start + "#") + "*" + Glob.escape(rest) + glob;
  }

  /** The channel of a cache's bus. */
  String channel(String cache) {
    return namespace + ":bus:" + cache;
  }

  static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
