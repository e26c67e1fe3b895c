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
import java.util.function.Function;

/**
 * The tier's reads: one {@link Scripts#READ} per bucket touched, which checks each entry against the bucket's floor
 * and the tag and prefix epochs newer than it, and hands back the patterns recorded after the oldest entry it found.
 * Those patterns are matched here, with {@link Glob}, never inside Redis: an entry a newer pattern covers is a miss.
 */
final class TierReads {

  private static final byte[] FORMAT = bytes(Scripts.FORMAT);

  private final KeySpace keys;
  private final CacheKeyBytes keyBytes;
  private final RedisScripting scripts;
  private final byte[] maxPatterns;

  TierReads(KeySpace keys, RedisScripting scripts, Limits limits) {
    this.keys = keys;
    this.keyBytes = new CacheKeyBytes(keys);
    this.scripts = scripts;
    this.maxPatterns = bytes(Integer.toString(limits.patterns()));
  }

  CompletableFuture<L2Read> get(String cache, String key) {
    int bucket = keys.bucketOf(key);
    String[] one = {key};
    return readBucket(cache, bucket, keyBytes.of(cache)[bucket], one, 0, 1,
        reply -> decode(one, null, reply, new L2Read[1])[0]);
  }

  /**
   * Reads keys with one script per bucket, issued back to back before any reply is awaited (pipelined; Lettuce
   * flushes each command as it is written, so not in one flush), and decodes each reply in place into one array: no
   * map per bucket, one future for the batch.
   */
  CompletableFuture<Map<String, L2Read>> getAll(String cache, Collection<String> wanted) {
    String[] all = wanted.toArray(String[]::new);
    CacheKeyBytes.Bucket[] buckets = keyBytes.of(cache);
    L2Read[] reads = new L2Read[all.length];
    if (buckets.length == 1 || all.length == 0) {
      return all.length == 0
          ? CompletableFuture.completedFuture(new LinkedHashMap<>())
          : readBucket(cache, 0, buckets[0], all, 0, all.length,
              reply -> inOrder(all, decode(all, null, reply, reads)));
    }
    // Positions grouped by bucket: order[starts[b] .. starts[b + 1]) are the keys of bucket b.
    int[] bucketOf = new int[all.length];
    int[] starts = new int[buckets.length + 1];
    for (int i = 0; i < all.length; i++) {
      bucketOf[i] = keys.bucketOf(all[i]);
      starts[bucketOf[i] + 1]++;
    }
    for (int b = 0; b < buckets.length; b++) {
      starts[b + 1] += starts[b];
    }
    int[] order = new int[all.length];
    int[] fill = starts.clone();
    for (int i = 0; i < all.length; i++) {
      order[fill[bucketOf[i]]++] = i;
    }
    String[] grouped = new String[all.length];
    for (int j = 0; j < all.length; j++) {
      grouped[j] = all[order[j]];
    }
    List<CompletableFuture<?>> parts = new ArrayList<>();
    for (int b = 0; b < buckets.length; b++) {
      int from = starts[b];
      int to = starts[b + 1];
      if (from < to) {
        parts.add(
            readBucket(cache, b, buckets[b], grouped, from, to,
                reply -> decode(grouped, order, from, to, reply, reads)));
      }
    }
    return CompletableFuture.allOf(parts.toArray(CompletableFuture[]::new))
        .thenApply(done -> inOrder(all, reads));
  }

  private static Map<String, L2Read> inOrder(String[] all, L2Read[] reads) {
    Map<String, L2Read> ordered = new LinkedHashMap<>((int) (all.length / 0.75f) + 1);
    for (int i = 0; i < all.length; i++) {
      ordered.put(all[i], reads[i]);
    }
    return ordered;
  }

  /**
   * One {@link Scripts#READ} of {@code wanted[from, to)}, all of bucket {@code b}, and its reply decoded; the clock and
   * the server's time it carries feed the tier's {@link SeenVersions}.
   */
  private <R> CompletableFuture<R> readBucket(
      String cache,
      int b,
      CacheKeyBytes.Bucket bucket,
      String[] wanted,
      int from,
      int to,
      Function<List<Object>, R> decode) {
    byte[][] scriptKeys = new byte[to - from + 1][];
    scriptKeys[0] = bucket.clock();
    for (int i = from; i < to; i++) {
      scriptKeys[i - from + 1] = CacheKeyBytes.concat(bucket.entryPrefix(), wanted[i]);
    }
    Function<List<Object>, R> observed =
        reply -> {
          scripts.seen.observe(cache, b, (Long) reply.get(0));
          scripts.seen.observeTime(cache, b, (Long) reply.get(reply.size() - 1));
          return decode.apply(reply);
        };
    return scripts.run(
        Scripts.READ,
        ScriptOutputType.MULTI,
        scriptKeys,
        observed,
        bucket.metaPrefix(),
        bucket.entryPrefix(),
        FORMAT,
        maxPatterns,
        scripts.seen.argument(cache, b));
  }

  /** Decodes a reply for all of {@code wanted} into {@code reads}, position for position. */
  private static L2Read[] decode(String[] wanted, int[] order, List<Object> reply, L2Read[] reads) {
    return decode(wanted, order, 0, wanted.length, reply, reads);
  }

  /**
   * Decodes the reply for {@code wanted[from, to)} into {@code reads}: the key at {@code j} goes to
   * {@code reads[order[j]]}, or to {@code reads[j]} without an order.
   */
  private static L2Read[] decode(
      String[] wanted, int[] order, int from, int to, List<Object> reply, L2Read[] reads) {
    long version = (Long) reply.get(0);
    List<Recorded> patterns = Recorded.of(reply.get(1));
    int at = 2;
    for (int j = from; j < to; j++) {
      Object first = at < reply.size() ? reply.get(at) : null;
      L2Entry entry;
      if (first instanceof Long code) {
        entry = code == 0 ? null : EntryFormat.unreadable();
        at++;
      } else if (!(first instanceof byte[]) || at + EntryFormat.FIELDS > reply.size()) {
        // Not the shape the script returns: nothing after this point can be matched to its key.
        entry = EntryFormat.unreadable();
        at = reply.size();
      } else {
        entry = EntryFormat.entryAt(reply, at);
        if (entry.codecId() != EntryFormat.UNREADABLE
            && !patterns.isEmpty()
            && coveredByPattern(wanted[j], EntryFormat.versionAt(reply, at), patterns)) {
          entry = null;
        }
        at += EntryFormat.FIELDS;
      }
      reads[order == null ? j : order[j]] = new L2Read(entry, version);
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
