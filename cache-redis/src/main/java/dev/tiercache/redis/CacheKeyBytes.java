package dev.tiercache.redis;

import static dev.tiercache.redis.KeySpace.bytes;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The UTF-8 bytes of the constant parts of a cache's keys (each bucket's clock, floor, gmax, meta prefix and entry
 * prefix) and of its channel, computed once per cache from {@link KeySpace}, so that reads and invalidations build no
 * strings and encode only their own keys. One per tier, shared by its reads and invalidations.
 */
final class CacheKeyBytes {

  /**
   * One bucket's constant key parts.
   *
   * @param readMeta the clock, floor and gmax as a read's {@code MGET} sends them first (see {@link MgetArgs})
   */
  record Bucket(byte[] clock, byte[] floor, byte[] gmax, byte[] metaPrefix, byte[] entryPrefix, byte[] readMeta) {}

  private final KeySpace keys;
  private final ConcurrentHashMap<String, Bucket[]> byCache = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, byte[]> channels = new ConcurrentHashMap<>();

  CacheKeyBytes(KeySpace keys) {
    this.keys = keys;
  }

  /** The buckets of a cache, indexed by {@link KeySpace#bucketOf}. */
  Bucket[] of(String cache) {
    Bucket[] buckets = byCache.get(cache);
    return buckets != null ? buckets : byCache.computeIfAbsent(cache, this::compute);
  }

  /** The cache's bus channel. */
  byte[] channel(String cache) {
    byte[] channel = channels.get(cache);
    return channel != null ? channel : channels.computeIfAbsent(cache, c -> bytes(keys.channel(c)));
  }

  private Bucket[] compute(String cache) {
    Bucket[] buckets = new Bucket[keys.buckets()];
    for (int b = 0; b < buckets.length; b++) {
      String meta = keys.metaPrefix(cache, b);
      byte[] clock = bytes(keys.clock(cache, b));
      byte[] floor = bytes(meta + "floor");
      byte[] gmax = bytes(meta + "gmax");
      buckets[b] =
          new Bucket(clock, floor, gmax, bytes(meta), bytes(keys.entryPrefix(cache, b)),
              MgetArgs.readMeta(clock, floor, gmax));
    }
    return buckets;
  }

  /**
   * A prefix followed by the UTF-8 bytes of a key, in one array; ASCII keys are copied without an intermediate
   * array.
   *
   * @throws IllegalArgumentException if the key is not well-formed UTF-16
   */
  static byte[] concat(byte[] prefix, String key) {
    int n = key.length();
    for (int i = 0; i < n; i++) {
      if (key.charAt(i) >= 0x80) {
        byte[] utf8 = KeySpace.wellFormed(key, "key").getBytes(StandardCharsets.UTF_8);
        byte[] all = new byte[prefix.length + utf8.length];
        System.arraycopy(prefix, 0, all, 0, prefix.length);
        System.arraycopy(utf8, 0, all, prefix.length, utf8.length);
        return all;
      }
    }
    byte[] all = new byte[prefix.length + n];
    System.arraycopy(prefix, 0, all, 0, prefix.length);
    for (int i = 0; i < n; i++) {
      all[prefix.length + i] = (byte) key.charAt(i);
    }
    return all;
  }
}
