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
import java.util.concurrent.CompletionException;
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

  /** The first entry in an {@code MGET} reply, after the clock, the floor and {@code gmax}. */
  private static final int FIRST = 3;

  private final KeySpace keys;
  private final CacheKeyBytes keyBytes;
  private final RedisScripting scripts;
  private final RedisConnections connections;
  private final byte[] maxPatterns;

  TierReads(KeySpace keys, RedisScripting scripts, RedisConnections connections, Limits limits) {
    this.keys = keys;
    this.keyBytes = new CacheKeyBytes(keys);
    this.scripts = scripts;
    this.connections = connections;
    this.maxPatterns = bytes(Integer.toString(limits.patterns()));
  }

  CompletableFuture<L2Read> get(String cache, String key) {
    int b = keys.bucketOf(key);
    CacheKeyBytes.Bucket bucket = keyBytes.of(cache)[b];
    byte[] entryKey = CacheKeyBytes.concat(bucket.entryPrefix(), key);
    long seen = scripts.seen.version(cache, b);
    CompletableFuture<L2Read> result = new CompletableFuture<>();
    connections
        .mget(bucket.clock(), bucket.floor(), bucket.gmax(), entryKey)
        .whenComplete(
            (reply, failure) -> {
              if (failure != null) {
                failed(result, failure);
                return;
              }
              BucketState state = BucketState.of(reply, seen);
              L2Read read = state == null ? null : state.decide(reply.get(FIRST));
              if (read != null) {
                scripts.seen.observe(cache, b, state.clock);
                result.complete(read);
                return;
              }
              String[] one = {key};
              readBucket(
                      cache, b, bucket, new byte[][] {entryKey},
                      scripted -> decode(one, null, 0, 1, scripted, new L2Read[1])[0])
                  .whenComplete((checked, again) -> complete(result, checked, again));
            });
    return result;
  }

  /** The read {@link Scripts#READ} alone answers for a key, without the {@code MGET} (tests compare the two). */
  CompletableFuture<L2Read> getByScript(String cache, String key) {
    int b = keys.bucketOf(key);
    CacheKeyBytes.Bucket bucket = keyBytes.of(cache)[b];
    String[] one = {key};
    return readBucket(
        cache, b, bucket, new byte[][] {CacheKeyBytes.concat(bucket.entryPrefix(), key)},
        scripted -> decode(one, null, 0, 1, scripted, new L2Read[1])[0]);
  }

  /**
   * Reads keys with one {@code MGET} per bucket, all issued before any reply is awaited (pipelined; Lettuce flushes
   * each command as it is written, so not in one flush), then one script per bucket for what they left open, and
   * decodes each reply in place into one array: no map per bucket, one future for the batch.
   */
  CompletableFuture<Map<String, L2Read>> getAll(String cache, Collection<String> wanted) {
    String[] all = wanted.toArray(String[]::new);
    if (all.length == 0) {
      return CompletableFuture.completedFuture(new LinkedHashMap<>());
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
    CompletableFuture<Void> done =
        parts.size() == 1
            ? parts.get(0).thenApply(ignored -> null)
            : CompletableFuture.allOf(parts.toArray(CompletableFuture[]::new));
    return done.thenApply(ignored -> inOrder(all, reads));
  }

  /**
   * The keys {@code all[order[from, to)]}, all of bucket {@code b}, read into {@code reads}: one {@code MGET}, then
   * one script for the keys it left open, if any.
   */
  private CompletableFuture<Void> readBucket(
      String cache, int b, CacheKeyBytes.Bucket bucket, String[] all, int[] order, int from, int to, L2Read[] reads) {
    byte[][] mgetKeys = new byte[FIRST + to - from][];
    mgetKeys[0] = bucket.clock();
    mgetKeys[1] = bucket.floor();
    mgetKeys[2] = bucket.gmax();
    for (int j = from; j < to; j++) {
      mgetKeys[FIRST + j - from] = CacheKeyBytes.concat(bucket.entryPrefix(), all[order[j]]);
    }
    long seen = scripts.seen.version(cache, b);
    CompletableFuture<Void> result = new CompletableFuture<>();
    connections
        .mget(mgetKeys)
        .whenComplete(
            (reply, failure) -> {
              if (failure != null) {
                failed(result, failure);
                return;
              }
              BucketState state = BucketState.of(reply, seen);
              // Positions (into order) that only the script can settle.
              int[] open = new int[to - from];
              int opened = 0;
              for (int j = from; j < to; j++) {
                L2Read read = state == null ? null : state.decide(reply.get(FIRST + j - from));
                if (read == null) {
                  open[opened++] = j;
                } else {
                  reads[order[j]] = read;
                }
              }
              if (state != null) {
                scripts.seen.observe(cache, b, state.clock);
              }
              if (opened == 0) {
                result.complete(null);
                return;
              }
              String[] wanted = new String[opened];
              int[] at = new int[opened];
              byte[][] entryKeys = new byte[opened][];
              for (int o = 0; o < opened; o++) {
                wanted[o] = all[order[open[o]]];
                at[o] = order[open[o]];
                entryKeys[o] = mgetKeys[FIRST + open[o] - from];
              }
              int count = opened;
              readBucket(cache, b, bucket, entryKeys, scripted -> decode(wanted, at, 0, count, scripted, reads))
                  .whenComplete((checked, again) -> complete(result, null, again));
            });
    return result;
  }

  private static Map<String, L2Read> inOrder(String[] all, L2Read[] reads) {
    Map<String, L2Read> ordered = new LinkedHashMap<>((int) (all.length / 0.75f) + 1);
    for (int i = 0; i < all.length; i++) {
      ordered.put(all[i], reads[i]);
    }
    return ordered;
  }

  private void failed(CompletableFuture<?> result, Throwable failure) {
    connections.failed(failure);
    result.completeExceptionally(
        failure instanceof CompletionException && failure.getCause() != null ? failure.getCause() : failure);
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
        maxPatterns,
        scripts.seen.argument(cache, b));
  }

  /**
   * Decodes a script's reply for {@code wanted[from, to)} into {@code reads}: the key at {@code j} goes to
   * {@code reads[order[j]]}, or to {@code reads[j]} without an order.
   */
  private static L2Read[] decode(
      String[] wanted, int[] order, int from, int to, List<Object> reply, L2Read[] reads) {
    long version = (Long) reply.get(0);
    List<Recorded> patterns = Recorded.of(reply.get(1));
    for (int j = from; j < to; j++) {
      int at = 2 + j - from;
      // The last element is the server's time: an entry's answer is never there.
      Object answer = at < reply.size() - 1 ? reply.get(at) : null;
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

  /**
   * What an {@code MGET} reply tells of its bucket, when it can tell: the clock (present, well-formed and not behind
   * what this tier saw), the floor (missing: 0) and {@code gmax} (-1: missing or corrupt, so no entry is settled).
   */
  private record BucketState(long clock, long floor, long gmax) {

    /**
     * The state, or null if only the script can tell (and repair). {@code MGET} answers nil both for a missing key
     * and for a key of another type (a floor another program overwrote with a hash), so nil settles nothing: the
     * script tells them apart, and writes a missing floor as 0 so that the next reads need not ask it again.
     */
    static BucketState of(List<byte[]> reply, long seen) {
      long clock = reply.get(0) == null ? -1 : EntryFormat.parseVersion(reply.get(0));
      long floor = reply.get(1) == null ? -1 : EntryFormat.parseVersion(reply.get(1));
      if (clock < 0 || clock < seen || floor < 0) {
        return null;
      }
      long gmax = reply.get(2) == null ? -1 : EntryFormat.parseVersion(reply.get(2));
      return new BucketState(clock, floor, gmax);
    }

    /**
     * The read an entry's stored string settles, as the script would answer it, in the script's order (malformed for
     * Lua first, then the floor, then text that is not UTF-8); null when only the script can tell (written at or
     * before {@code gmax}).
     */
    L2Read decide(byte[] stored) {
      if (stored == null) {
        return L2Read.miss(clock);
      }
      L2Entry entry = EntryFormat.entry(stored);
      // An entry the scripts read although its text is not UTF-8 (which Lua does not check) they answer by its
      // version first, as any other: only past the floor and the epochs is it unreadable.
      if (entry.codecId() == EntryFormat.UNREADABLE && !EntryFormat.readableByScripts(stored)) {
        return new L2Read(entry, clock);
      }
      long version = EntryFormat.version(stored);
      if (version < floor) {
        return L2Read.miss(clock);
      }
      return version > gmax && gmax >= 0 ? new L2Read(entry, clock) : null;
    }
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
