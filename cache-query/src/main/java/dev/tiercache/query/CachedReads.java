package dev.tiercache.query;

import dev.tiercache.InvalidationPendingException;
import dev.tiercache.Tags;
import dev.tiercache.TieredCache;
import dev.tiercache.codec.CodecException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The executor's use of the {@link TieredCache}: read-through with the query's tags, a per-query TTL checked on
 * every hit, refresh, results checked before they are cached, and results that must not be cached handed back
 * without touching the cache. Everything it stores is a {@link QueryResult}.
 */
final class CachedReads {

  private final TieredCache<String, QueryResult> cache;
  private final QueryMetrics metrics;
  private final int maxRows;

  CachedReads(TieredCache<String, QueryResult> cache, QueryMetrics metrics, int maxRows) {
    this.cache = cache;
    this.metrics = metrics;
    this.maxRows = maxRows;
  }

  /** Runs a read without the cache, and counts it. */
  <T> List<T> uncached(Query query, Supplier<? extends List<? extends T>> load) {
    List<? extends T> rows = Objects.requireNonNull(load.get(), () -> nullResult(query));
    metrics.uncached(query.label());
    return Collections.unmodifiableList(rows);
  }

  /** Returns the cached rows of a query, or loads them (once per node at a time) and caches them if they may be. */
  <T> List<T> get(Query query, String key, Tags tags, Supplier<? extends List<? extends T>> load) {
    if (query.mode() == QueryMode.REFRESH) {
      drop(key);
    }
    for (int attempt = 0; ; attempt++) {
      boolean[] loaded = new boolean[1];
      QueryResult result;
      try {
        result =
            cache.get(
                key,
                tags,
                k -> {
                  loaded[0] = true;
                  return timed(query, () -> freeze(query, load.get()));
                });
      } catch (Uncacheable e) {
        return readAnyway(query, e, load);
      } catch (CodecException e) {
        throw notEncodable(query, e);
      }
      if (!loaded[0] && attempt == 0 && result.expired(System.currentTimeMillis(), query.ttl())) {
        drop(key); // older than the query's own TTL: drop it everywhere and load again
        continue;
      }
      metrics.executions(query.label(), loaded[0] ? 0 : 1, loaded[0] ? 1 : 0);
      return cast(result.rows());
    }
  }

  /** Looks up one row per id through {@link TieredCache#getAll}; see {@link CachedQueryExecutor#executeAll}. */
  <I, T> Map<I, T> getAll(
      Query query, Tags tags, Collection<? extends I> ids,
      Function<? super Set<I>, ? extends Map<? extends I, ? extends T>> loader) {
    Map<String, I> idsByKey = new LinkedHashMap<>();
    for (I id : ids) {
      Objects.requireNonNull(id, "ids must not contain null");
      QueryKeys.requireSupported(id, 0);
      idsByKey.putIfAbsent(QueryKeys.bulkKey(query, tags, id), id);
    }
    if (query.mode() == QueryMode.REFRESH) {
      idsByKey.keySet().forEach(this::drop);
    }
    long[] misses = new long[1];
    Map<String, QueryResult> found = bulkGet(query, tags, idsByKey, loader, misses);
    List<String> expired = new ArrayList<>();
    long now = System.currentTimeMillis();
    found.forEach((k, v) -> {
      if (v.expired(now, query.ttl())) {
        expired.add(k);
      }
    });
    if (!expired.isEmpty()) {
      expired.forEach(this::drop); // older than the query's own TTL: drop them everywhere, load again
      found = bulkGet(query, tags, idsByKey, loader, misses);
    }
    long missed = Math.min(misses[0], idsByKey.size());
    metrics.executions(query.label(), idsByKey.size() - missed, missed);
    Map<I, T> result = new LinkedHashMap<>();
    found.forEach(
        (k, value) -> {
          if (!value.rows().isEmpty()) {
            List<T> rows = cast(value.rows());
            result.put(idsByKey.get(k), rows.get(0));
          }
        });
    return Collections.unmodifiableMap(result);
  }

  private <I, T> Map<String, QueryResult> bulkGet(
      Query query, Tags tags, Map<String, I> idsByKey,
      Function<? super Set<I>, ? extends Map<? extends I, ? extends T>> loader, long[] misses) {
    try {
      return cache.getAll(
          idsByKey.keySet(),
          tags,
          keys -> {
            Set<I> wanted = new LinkedHashSet<>();
            keys.forEach(k -> wanted.add(idsByKey.get(k)));
            misses[0] += wanted.size();
            Map<? extends I, ? extends T> rows = timed(query, () -> loader.apply(Collections.unmodifiableSet(wanted)));
            Objects.requireNonNull(rows, "the executeAll loader returned null");
            Map<String, QueryResult> values = new HashMap<>();
            for (String k : keys) {
              T row = rows.get(idsByKey.get(k));
              values.put(k, freeze(query, row == null ? List.of() : List.of(row)));
            }
            return values;
          });
    } catch (Uncacheable e) {
      throw new IllegalStateException("executeAll results are single rows and never uncacheable", e);
    } catch (CodecException e) {
      throw notEncodable(query, e);
    }
  }

  /**
   * Drops a result on every node. One that Redis does not take in time is dropped here all the same and retried by
   * the cache ({@link InvalidationPendingException}), which is all a read needs: it goes on and loads, as it would
   * with Redis down (DESIGN.md invariant 3), instead of failing.
   */
  private void drop(String key) {
    try {
      cache.invalidateKey(key);
    } catch (InvalidationPendingException applied) {
      // Applied on this node, and retried for the others by the cache.
    }
  }

  /**
   * A load refused to be cached: the thread that read the rows returns them; a thread that joined its load reads
   * for itself (the rows may come from the reader's transaction).
   */
  private <T> List<T> readAnyway(Query query, Uncacheable refused, Supplier<? extends List<? extends T>> load) {
    List<?> rows = refused.rowsFor(Thread.currentThread());
    if (rows == null) {
      try {
        rows = load.get();
      } catch (Uncacheable mine) {
        rows = mine.rowsFor(Thread.currentThread());
      }
    }
    metrics.uncached(query.label());
    return cast(Collections.unmodifiableList(rows));
  }

  /** Checks a loaded result and makes the immutable value the cache stores. */
  private QueryResult freeze(Query query, List<?> rows) {
    Objects.requireNonNull(rows, () -> nullResult(query));
    if (rows.size() > maxRows) {
      throw new Uncacheable(rows, "more rows than the executor's maxCachedRows");
    }
    ResultGuard.requireCacheable(query.label(), rows);
    long now = System.currentTimeMillis();
    long expires = query.ttl() == null ? QueryResult.NEVER : now + query.ttl().toMillis();
    return new QueryResult(rows, now, expires);
  }

  private <T> T timed(Query query, Supplier<T> load) {
    long start = System.nanoTime();
    boolean success = false;
    try {
      T result = load.get();
      success = true;
      return result;
    } catch (Uncacheable e) {
      success = true; // read fine, only not cacheable
      throw e;
    } finally {
      metrics.load(query.label(), System.nanoTime() - start, success);
    }
  }

  @SuppressWarnings("unchecked")
  private static <T> List<T> cast(List<?> rows) {
    return (List<T>) rows;
  }

  private static String nullResult(Query query) {
    return "the loader of '" + query.label() + "' returned null: return List.of() for no rows";
  }

  private static IllegalArgumentException notEncodable(Query query, CodecException e) {
    return new IllegalArgumentException(
        "the result of '" + query.label() + "' cannot be cached: the cache's value codec cannot encode it ("
            + e.getMessage() + ")",
        e);
  }
}
