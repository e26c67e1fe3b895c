package dev.tiercache.redis;

import static dev.tiercache.redis.KeySpace.bytes;

import dev.tiercache.Glob;
import dev.tiercache.spi.L2Entry;
import dev.tiercache.spi.L2Read;
import io.lettuce.core.ScriptOutputType;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;

/**
 * The tier's reads. First one plain {@code MGET} per bucket touched, of the bucket's clock, floor and {@code gmax} and
 * the entries (one hash slot, one command on a Cluster): an entry at or above the floor and written after
 * {@code gmax} (see {@link LuaLib}) is covered by no tag, prefix or pattern invalidation, and one a key
 * invalidation covered is gone, so it is a hit with no further check; a missing one is a miss. Only what the
 * {@code MGET} cannot settle goes on to one {@link Scripts#READ} per bucket: an entry written before {@code gmax}, or
 * a bucket whose clock is missing, corrupt or behind a version this tier saw (a rollback, which the script repairs).
 * The script checks each entry against the bucket's floor and the tag and prefix epochs newer than it, and hands back
 * the patterns recorded after the oldest entry it found. Those patterns are matched here, with {@link Glob}, never
 * inside Redis: an entry a newer pattern covers is a miss. Both ways answer the same for every entry; the
 * {@code MGET} is just cheaper where it can tell.
 */
final class TierReads {

  private final KeySpace keys;
  private final CacheKeyBytes keyBytes;
  private final RedisScripting scripts;
  private final RedisConnections connections;
  private final byte[] maxPatterns;
  private final ReadRoutes routes;

  TierReads(
      KeySpace keys, CacheKeyBytes keyBytes, RedisScripting scripts, RedisConnections connections, Limits limits) {
    this.keys = keys;
    this.keyBytes = keyBytes;
    this.scripts = scripts;
    this.connections = connections;
    this.maxPatterns = bytes(Integer.toString(limits.patterns()));
    this.routes = new ReadRoutes(keys.buckets());
  }

  CompletableFuture<L2Read> get(String cache, String key) {
    int b = keys.bucketOf(key);
    CacheKeyBytes.Bucket bucket = keyBytes.of(cache)[b];
    if (routes.viaScript(cache, b)) {
      return scripted(cache, b, bucket, key, CacheKeyBytes.concat(bucket.entryPrefix(), key));
    }
    MgetArgs args = new MgetArgs(bucket, new String[] {key});
    CompletableFuture<L2Read> result = new CompletableFuture<>();
    connections
        .mget(new BucketReply(scripts.seen.version(cache, b), 1), args)
        .whenComplete(
            (reply, failure) -> {
              if (failure != null) {
                failed(result, failure);
                return;
              }
              L2Read read = reply.settled(0);
              if (read != null) {
                routes.settled(cache, b);
                scripts.seen.observe(cache, b, reply.clock());
                result.complete(read);
                return;
              }
              routes.leftOpen(cache, b);
              scripted(cache, b, bucket, key, args.entryKey(0))
                  .whenComplete((checked, again) -> complete(result, checked, again));
            });
    return result;
  }

  /** The read {@link Scripts#READ} alone answers for a key, without the {@code MGET} (tests compare the two). */
  CompletableFuture<L2Read> getByScript(String cache, String key) {
    int b = keys.bucketOf(key);
    CacheKeyBytes.Bucket bucket = keyBytes.of(cache)[b];
    return scripted(cache, b, bucket, key, CacheKeyBytes.concat(bucket.entryPrefix(), key));
  }

  /** Every later read starts with the {@code MGET}, however often it leaves entries open (tests). */
  void alwaysMgetFirst() {
    routes.turnOff();
  }

  /** One key read by the script alone. */
  private CompletableFuture<L2Read> scripted(
      String cache, int b, CacheKeyBytes.Bucket bucket, String key, byte[] entryKey) {
    String[] one = {key};
    return readBucket(
        cache, b, bucket, new byte[][] {entryKey}, reply -> decode(one, null, 0, 1, reply, new L2Read[1])[0]);
  }

  /**
   * Reads keys with one {@code MGET} per bucket, all issued before any reply is awaited (pipelined; Lettuce flushes
   * each command as it is written, so not in one flush), then one script per bucket for what they left open, and
   * decodes each reply in place into one array, {@code reads[i]} for {@code all[i]}: no map, one future per bucket.
   */
  CompletableFuture<L2Read[]> getAll(String cache, String[] all) {
    if (all.length == 0) {
      return CompletableFuture.completedFuture(new L2Read[0]);
    }
    CacheKeyBytes.Bucket[] buckets = keyBytes.of(cache);
    L2Read[] reads = new L2Read[all.length];
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
    List<CompletableFuture<?>> parts = new ArrayList<>();
    for (int b = 0; b < buckets.length; b++) {
      if (starts[b] < starts[b + 1]) {
        parts.add(readBucket(cache, b, buckets[b], all, order, starts[b], starts[b + 1], reads));
      }
    }
    CompletableFuture<?> done =
        parts.size() == 1 ? parts.get(0) : CompletableFuture.allOf(parts.toArray(CompletableFuture[]::new));
    return done.thenApply(ignored -> reads);
  }

  /**
   * The keys {@code all[order[from, to)]}, all of bucket {@code b}, read into {@code reads}: one {@code MGET}, then
   * one script for the keys it left open, if any.
   */
  private CompletableFuture<Void> readBucket(
      String cache, int b, CacheKeyBytes.Bucket bucket, String[] all, int[] order, int from, int to, L2Read[] reads) {
    String[] bucketKeys = new String[to - from];
    for (int j = from; j < to; j++) {
      bucketKeys[j - from] = all[order[j]];
    }
    MgetArgs args = new MgetArgs(bucket, bucketKeys);
    if (routes.viaScript(cache, b)) {
      int[] every = new int[to - from];
      java.util.Arrays.setAll(every, i -> from + i);
      return scripted(cache, b, bucket, all, order, every, every.length, args, from, reads);
    }
    CompletableFuture<Void> result = new CompletableFuture<>();
    connections
        .mget(new BucketReply(scripts.seen.version(cache, b), to - from), args)
        .whenComplete(
            (reply, failure) -> {
              if (failure != null) {
                failed(result, failure);
                return;
              }
              // Positions (into order) that only the script can settle.
              int[] open = new int[to - from];
              int opened = 0;
              for (int j = from; j < to; j++) {
                L2Read read = reply.settled(j - from);
                if (read == null) {
                  open[opened++] = j;
                } else {
                  reads[order[j]] = read;
                }
              }
              if (opened < to - from) {
                scripts.seen.observe(cache, b, reply.clock());
              }
              if (opened == 0) {
                routes.settled(cache, b);
                result.complete(null);
                return;
              }
              routes.leftOpen(cache, b);
              scripted(cache, b, bucket, all, order, open, opened, args, from, reads)
                  .whenComplete((checked, again) -> complete(result, null, again));
            });
    return result;
  }

  /**
   * The keys at {@code order[positions[0, count)]} of bucket {@code b} read by the script into {@code reads};
   * {@code mget} holds the bucket's keys, the key at position {@code j} at {@code j - from}.
   */
  private CompletableFuture<Void> scripted(
      String cache,
      int b,
      CacheKeyBytes.Bucket bucket,
      String[] all,
      int[] order,
      int[] positions,
      int count,
      MgetArgs mget,
      int from,
      L2Read[] reads) {
    String[] wanted = new String[count];
    int[] at = new int[count];
    byte[][] entryKeys = new byte[count][];
    for (int o = 0; o < count; o++) {
      wanted[o] = all[order[positions[o]]];
      at[o] = order[positions[o]];
      entryKeys[o] = mget.entryKey(positions[o] - from);
    }
    return readBucket(cache, b, bucket, entryKeys, reply -> decode(wanted, at, 0, count, reply, reads))
        .thenApply(done -> null);
  }

  private void failed(CompletableFuture<?> result, Throwable failure) {
    connections.failed(failure);
    result.completeExceptionally(RedisScripting.unwrap(failure));
  }

  private static <T> void complete(CompletableFuture<T> result, T value, Throwable failure) {
    if (failure == null) {
      result.complete(value);
    } else {
      result.completeExceptionally(failure);
    }
  }

  /**
   * One {@link Scripts#READ} of entry keys of bucket {@code b}, and its reply decoded; the clock and the server's time
   * it carries feed the tier's {@link SeenVersions}.
   */
  private <R> CompletableFuture<R> readBucket(
      String cache, int b, CacheKeyBytes.Bucket bucket, byte[][] entryKeys, Function<List<Object>, R> decode) {
    byte[][] scriptKeys = new byte[entryKeys.length + 1][];
    scriptKeys[0] = bucket.clock();
    System.arraycopy(entryKeys, 0, scriptKeys, 1, entryKeys.length);
    Function<List<Object>, R> observed =
        reply -> {
          // Decoded first: a reply that is not the script's answer is refused before anything is taken from it.
          R decoded = decode.apply(reply);
          scripts.seen.observe(cache, b, (Long) reply.get(0));
          scripts.seen.observeTime(cache, b, (Long) reply.get(reply.size() - 1));
          return decoded;
        };
    return scripts.run(
        Scripts.READ,
        ScriptOutputType.MULTI,
        scriptKeys,
        observed,
        bucket.metaPrefix(),
        bucket.entryPrefix(),
        maxPatterns,
        scripts.seen.argument(cache, b));
  }

  /**
   * Decodes a script's reply for {@code wanted[from, to)} into {@code reads}: the key at {@code j} goes to
   * {@code reads[order[j]]}, or to {@code reads[j]} without an order.
   */
  private static L2Read[] decode(
      String[] wanted, int[] order, int from, int to, List<Object> reply, L2Read[] reads) {
    // The script answers exactly clock, patterns, one element per key, time. Any other length is not its answer: a
    // reply decoded twice into one output (Lettuce replays a command whose reply a closed connection cut short, when
    // the client's options let it) has the second reply's elements after the first one's, and key j would be read
    // from another key's place. Such a read fails instead.
    if (reply.size() != 3 + to - from || !(reply.get(0) instanceof Long version)) {
      throw new IllegalStateException("the read script answered " + reply.size() + " elements for " + (to - from)
          + " keys: not its reply (decoded twice after a replay?)");
    }
    List<Recorded> patterns = Recorded.of(reply.get(1));
    for (int j = from; j < to; j++) {
      int at = 2 + j - from;
      Object answer = reply.get(at);
      L2Entry entry;
      if (answer instanceof Long code && (code == 0 || code == 1)) {
        entry = code == 0 ? null : EntryFormat.unreadable();
      } else if (answer instanceof byte[] stored) {
        entry = EntryFormat.entry(stored);
        if (entry.codecId() != EntryFormat.UNREADABLE
            && !patterns.isEmpty()
            && coveredByPattern(wanted[j], EntryFormat.version(stored), patterns)) {
          entry = null;
        }
      } else {
        // Not the shape the script returns.
        entry = EntryFormat.unreadable();
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
