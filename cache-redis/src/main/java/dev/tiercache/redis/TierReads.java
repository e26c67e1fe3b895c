package dev.tiercache.redis;

import static dev.tiercache.redis.KeySpace.bytes;

import dev.tiercache.Glob;
import dev.tiercache.spi.L2Entry;
import dev.tiercache.spi.L2Read;
import io.lettuce.core.ScriptOutputType;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * The tier's reads: one {@link Scripts#READ} per bucket touched, which checks each entry against the bucket's floor
 * and the tag and prefix epochs newer than it, and hands back the patterns recorded after the oldest entry it found.
 * Those patterns are matched here, with {@link Glob}, never inside Redis: an entry a newer pattern covers is a miss.
 */
final class TierReads {

  private static final byte[] FORMAT = bytes(Scripts.FORMAT);

  private final KeySpace keys;
  private final RedisScripting scripts;
  private final byte[] maxPatterns;

  TierReads(KeySpace keys, RedisScripting scripts, Limits limits) {
    this.keys = keys;
    this.scripts = scripts;
    this.maxPatterns = bytes(Integer.toString(limits.patterns()));
  }

  CompletableFuture<L2Read> get(String cache, String key) {
    return readBucket(cache, keys.bucketOf(key), List.of(key)).thenApply(reads -> reads.get(key));
  }

  CompletableFuture<Map<String, L2Read>> getAll(String cache, Collection<String> wanted) {
    List<CompletableFuture<Map<String, L2Read>>> parts = new ArrayList<>();
    keys.byBucket(wanted).forEach((bucket, bucketKeys) -> parts.add(readBucket(cache, bucket, bucketKeys)));
    return CompletableFuture.allOf(parts.toArray(CompletableFuture[]::new))
        .thenApply(
            done -> {
              Map<String, L2Read> all = new LinkedHashMap<>();
              parts.forEach(part -> all.putAll(part.join()));
              Map<String, L2Read> ordered = new LinkedHashMap<>();
              wanted.forEach(k -> ordered.put(k, all.get(k)));
              return ordered;
            });
  }

  private CompletableFuture<Map<String, L2Read>> readBucket(String cache, int bucket, List<String> bucketKeys) {
    byte[][] scriptKeys = new byte[bucketKeys.size() + 1][];
    scriptKeys[0] = bytes(keys.clock(cache, bucket));
    String entryPrefix = keys.entryPrefix(cache, bucket);
    for (int i = 0; i < bucketKeys.size(); i++) {
      scriptKeys[i + 1] = bytes(entryPrefix + KeySpace.wellFormed(bucketKeys.get(i), "key"));
    }
    return scripts
        .<List<Object>>run(
            Scripts.READ,
            ScriptOutputType.MULTI,
            scriptKeys,
            bytes(keys.metaPrefix(cache, bucket)),
            bytes(entryPrefix),
            FORMAT,
            maxPatterns,
            scripts.seen.argument(cache, bucket))
        .thenApply(
            reply -> {
              scripts.seen.observe(cache, bucket, (Long) reply.get(0));
              scripts.seen.observeTime(cache, bucket, (Long) reply.get(reply.size() - 1));
              return reads(bucketKeys, reply);
            });
  }

  private static Map<String, L2Read> reads(List<String> bucketKeys, List<Object> reply) {
    long version = (Long) reply.get(0);
    List<Recorded> patterns = Recorded.of(reply.get(1));
    Map<String, L2Read> reads = new LinkedHashMap<>();
    for (int i = 0; i < bucketKeys.size(); i++) {
      String key = bucketKeys.get(i);
      Object raw = reply.get(i + 2);
      L2Entry entry = EntryFormat.entryOf(raw);
      if (entry != null && !patterns.isEmpty() && coveredByPattern(key, EntryFormat.versionOf(raw), patterns)) {
        entry = null;
      }
      reads.put(key, new L2Read(entry, version));
    }
    return reads;
  }

  private static boolean coveredByPattern(String key, long entryVersion, List<Recorded> patterns) {
    for (Recorded pattern : patterns) {
      // An entry whose version is unknown is older than every pattern, to be safe.
      if (pattern.version > entryVersion && pattern.glob.matches(key)) {
        return true;
      }
    }
    return false;
  }

  /** Compiled patterns: a read hands back the same few again and again. Bounded; cleared when full. */
  private static final Map<String, Glob> GLOBS = new java.util.concurrent.ConcurrentHashMap<>();

  private static Glob compiled(String pattern) {
    Glob glob = GLOBS.get(pattern);
    if (glob == null) {
      if (GLOBS.size() >= 1_024) {
        GLOBS.clear();
      }
      glob = Glob.compile(pattern);
      GLOBS.put(pattern, glob);
    }
    return glob;
  }

  /** A pattern recorded in a bucket, with its version. */
  private record Recorded(Glob glob, long version) {

    /** The flat (pattern, version) list of a reply; a malformed pair matches every key (a miss, never stale). */
    static List<Recorded> of(Object flat) {
      if (!(flat instanceof List<?> items) || items.isEmpty()) {
        return List.of();
      }
      List<Recorded> recorded = new ArrayList<>(items.size() / 2);
      for (int i = 0; i + 1 < items.size(); i += 2) {
        String pattern =
            items.get(i) instanceof byte[] p ? EntryFormat.utf8(p, 0, p.length) : null;
        long version = items.get(i + 1) instanceof byte[] v ? EntryFormat.parseVersion(v) : -1;
        recorded.add(
            pattern == null || version < 0
                ? new Recorded(Glob.compile("*"), Long.MAX_VALUE)
                : new Recorded(compiled(pattern), version));
      }
      return recorded;
    }
  }
}
