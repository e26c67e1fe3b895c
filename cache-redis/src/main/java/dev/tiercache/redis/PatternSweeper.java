package dev.tiercache.redis;

import static dev.tiercache.redis.KeySpace.bytes;

import dev.tiercache.Glob;
import io.lettuce.core.KeyScanCursor;
import io.lettuce.core.ScanArgs;
import io.lettuce.core.ScanCursor;
import io.lettuce.core.ScriptOutputType;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Removes the entries a pattern invalidation covers, physically and in the background, after the pattern was
 * recorded (which alone already makes them misses): {@code SCAN} steps over the cache's own entry keys (the
 * {@code MATCH} holds only the cache's escaped name, never the user's pattern), the keys matched here with
 * {@link Glob}, and a script per bucket that unlinks the matches written before the pattern was recorded (an entry
 * written after it is valid and stays). Never {@code KEYS}, never inside a caller's timeout.
 *
 * <p>One sweep at a time per pattern: a pattern invalidated again while its sweep runs makes that sweep run once
 * more when it ends, not a second scan. A failed step ends the sweep (the record still hides the entries, and they
 * expire by their TTL); it is not retried. At most {@link #MAX_SWEEPS} patterns are swept at once; beyond that a
 * pattern is only recorded. Steps run on one thread of the tier's own, so sweeps never take a shared pool.
 *
 * <p>A SCAN whose reply a closing connection cut short, replayed after the reconnect (Lettuce's default client
 * options), is decoded into the same output: the first run's cursor stays, the replayed reply's cursor is taken for a
 * key, and the replayed keys follow the partial first ones. Keys written between the two runs make them stop at
 * different cursors, so going on from the first run's would skip what lies between: such a reply (a key its MATCH
 * cannot return) starts the sweep over, at most {@link #MAX_RESTARTS} times in each pass.
 */
final class PatternSweeper implements AutoCloseable {

  static final int MAX_SWEEPS = 64;

  /**
   * Restarts of one pass of a sweep after replayed replies; past them the pass ends as after a failed step. A pass run
   * again because the pattern was invalidated again has restarts of its own.
   */
  static final int MAX_RESTARTS = 3;

  private static final Logger LOG = LoggerFactory.getLogger(PatternSweeper.class);

  private final KeySpace keys;
  private final RedisConnections connections;
  private final RedisScripting scripts;
  private final int batch;
  /** Running sweeps by cache and pattern; the flag asks for one more pass. */
  private final Map<String, AtomicBoolean> running = new ConcurrentHashMap<>();
  private final ExecutorService executor =
      Executors.newSingleThreadExecutor(
          r -> {
            Thread thread = new Thread(r, "tiercache-pattern-sweeper");
            thread.setDaemon(true);
            return thread;
          });

  /** The executor, dropping steps once closed (a scan answered after close() must not throw on an event loop). */
  private final Executor whileOpen =
      task -> {
        try {
          executor.execute(task);
        } catch (RejectedExecutionException closed) {
          running.clear();
        }
      };

  PatternSweeper(KeySpace keys, RedisConnections connections, RedisScripting scripts, int batch) {
    this.keys = keys;
    this.connections = connections;
    this.scripts = scripts;
    this.batch = batch;
  }

  /** Starts sweeping a pattern, or asks a running sweep of it for one more pass. */
  void sweep(String cache, String glob) {
    String id = cache + '\u0000' + glob;
    boolean[] start = {false};
    running.compute(
        id,
        (k, again) -> {
          if (again != null) {
            again.set(true);
            return again;
          }
          if (running.size() >= MAX_SWEEPS) {
            return null;
          }
          start[0] = true;
          return new AtomicBoolean();
        });
    if (start[0]) {
      Sweep sweep = new Sweep(id, cache, Glob.compile(glob));
      whileOpen.execute(() -> sweep.step(ScanCursor.INITIAL));
    }
  }

  /** Whether a sweep of the pattern is running (for tests). */
  boolean isSweeping(String cache, String glob) {
    return running.containsKey(cache + '\u0000' + glob);
  }

  private final class Sweep {
    final String id;
    final String cache;
    final Glob glob;
    final byte[] pattern;
    final ScanArgs match;
    /** What every key a SCAN reply decoded once holds starts with: its MATCH holds it literally. */
    final byte[] keyStart;
    /** Restarts of the current pass. */
    int restarts;

    Sweep(String id, String cache, Glob glob) {
      this.id = id;
      this.cache = cache;
      this.glob = glob;
      this.pattern = bytes(glob.pattern());
      this.match = ScanArgs.Builder.matches(bytes(keys.scanPattern(cache))).limit(batch);
      this.keyStart = bytes(keys.scanStart(cache));
    }

    void step(ScanCursor cursor) {
      connections
          .call(c -> c.scan(cursor, match).toCompletableFuture())
          .thenCompose(this::unlinkMatches)
          .whenCompleteAsync(
              (next, failure) -> {
                if (failure != null) {
                  LOG.debug("pattern sweep of cache '{}' stopped: {}", cache, failure.getClass().getSimpleName());
                  finish();
                } else if (replayed(next)) {
                  restart();
                } else if (next.isFinished()) {
                  finish();
                } else {
                  step(next);
                }
              },
              whileOpen);
    }

    /** Unlinks, one script per bucket, the matches written before the pattern was recorded. */
    private CompletableFuture<KeyScanCursor<byte[]>> unlinkMatches(KeyScanCursor<byte[]> step) {
      List<String> matches = new ArrayList<>();
      for (byte[] raw : step.getKeys()) {
        String entryKey = EntryFormat.utf8(raw, 0, raw.length);
        String key = entryKey == null ? null : keys.keyOf(cache, entryKey);
        if (key != null && glob.matches(key)) {
          matches.add(key);
        }
      }
      List<CompletableFuture<Long>> unlinked = new ArrayList<>();
      keys.byBucket(matches)
          .forEach(
              (bucket, bucketKeys) -> {
                byte[][] scriptKeys = new byte[bucketKeys.size() + 1][];
                scriptKeys[0] = bytes(keys.clock(cache, bucket));
                for (int i = 0; i < bucketKeys.size(); i++) {
                  scriptKeys[i + 1] = bytes(keys.entryPrefix(cache, bucket) + bucketKeys.get(i));
                }
                unlinked.add(
                    scripts.run(
                        Scripts.SWEEP, ScriptOutputType.INTEGER, scriptKeys,
                        bytes(keys.metaPrefix(cache, bucket)), pattern, scripts.seen.argument(cache, bucket)));
              });
      return CompletableFuture.allOf(unlinked.toArray(CompletableFuture[]::new)).thenApply(done -> step);
    }

    /** Whether the reply was decoded twice into one output: it holds the replayed reply's cursor as a key. */
    private boolean replayed(KeyScanCursor<byte[]> step) {
      for (byte[] key : step.getKeys()) {
        if (!Arrays.equals(key, 0, Math.min(key.length, keyStart.length), keyStart, 0, keyStart.length)) {
          return true;
        }
      }
      return false;
    }

    /** Its cursor cannot be trusted: the matches of the reply were unlinked, the rest is scanned again. */
    private void restart() {
      if (++restarts > MAX_RESTARTS) {
        LOG.debug("pattern sweep of cache '{}' stopped: {} replayed SCAN replies", cache, restarts);
        finish();
      } else {
        step(ScanCursor.INITIAL);
      }
    }

    private void finish() {
      AtomicBoolean again = running.computeIfPresent(id, (k, flag) -> flag.getAndSet(false) ? flag : null);
      if (again != null) {
        // A new pass: replies replayed in an earlier one say nothing of this one's.
        restarts = 0;
        step(ScanCursor.INITIAL);
      }
    }
  }

  @Override
  public void close() {
    executor.shutdownNow();
    running.clear();
  }
}
