package dev.tiercache;

import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;

/**
 * A two-tier cache: an in-process L1 (Caffeine) in front of an optional shared L2 (Redis, through an
 * {@link dev.tiercache.spi.L2Store}), kept coherent across application instances by an optional
 * {@link dev.tiercache.spi.InvalidationBus}. Created with {@link #builder(String)}.
 *
 * <h2>Reads</h2>
 * {@link #get(Object, Function)} looks in the L1, then the L2, then calls the loader, and fills the tiers on the way
 * back. Concurrent reads of one missing key on one instance share one L2 read and one loader call.
 *
 * <h2>Absent values</h2>
 * The cache never holds {@code null}. A loader that returns {@code null} (or a bulk loader that leaves a key out)
 * means "no such value": the read returns {@code null}, and the absence is cached only when the builder set a
 * {@link TieredCacheBuilder#negativeTtl negative TTL}, for that long in the L2 and in each L1 from its own read.
 * {@link #put} rejects a null value; {@link #putAbsent} caches an absence, and {@link #getIfPresent(Object, Object)}
 * tells one from a miss.
 *
 * <h2>Invalidation</h2>
 * When {@link #invalidate(Invalidation)} returns, no read on this instance returns a value it covered, including a
 * value whose load was already in flight, and the invalidation has reached the L2 and the bus. Other instances drop
 * their covered L1 entries when the bus delivers it, and never serve an L1 entry while they cannot prove their bus
 * is caught up to within {@link TieredCacheBuilder#maxStaleness maxStaleness}. An invalidation that cannot reach Redis
 * throws {@link InvalidationPendingException} after taking effect here; it is retried until it gets through.
 *
 * <h2>Keys</h2>
 * Every operation applies one rule to encoded keys: not empty, well-formed UTF-16 (no lone surrogate), at most
 * {@link TieredCacheBuilder#maxKeyBytes maxKeyBytes} of UTF-8; a key that breaks it is refused with an
 * {@link IllegalArgumentException}.
 *
 * <p>All methods are thread-safe. Keys, values, tags and loaders must not be null unless a method says so.
 *
 * @param <K> the key type
 * @param <V> the value type; values should be immutable, since the L1 hands the same instance to every reader
 */
public interface TieredCache<K, V> extends AutoCloseable {

  /**
   * Starts building a cache.
   *
   * @param name the cache's name: its L2 namespace, its bus channel and the {@code cache} tag of its metrics;
   *     letters, digits, {@code . _ -} only
   * @param <K> the key type
   * @param <V> the value type
   * @return a builder
   * @throws NullPointerException if {@code name} is null
   * @throws IllegalArgumentException if {@code name} is empty or has other characters
   */
  static <K, V> TieredCacheBuilder<K, V> builder(String name) {
    return new TieredCacheBuilder<>(name);
  }

  /**
   * Returns the cache's name.
   *
   * @return the name given to {@link #builder(String)}
   */
  String name();

  /**
   * Returns the value for a key, loading it if neither tier has it. Concurrent calls for the same missing key share
   * one load.
   *
   * @param key the key
   * @param loader computes the value on a miss; may return null for "absent"
   * @return the value, or null if absent
   * @throws RuntimeException whatever the loader threw (unchecked exceptions as they are, checked ones wrapped in
   *     {@link java.util.concurrent.CompletionException}); every caller waiting on that load gets it, and nothing is
   *     cached
   * @throws IllegalStateException if the loader (directly, or through the loads it starts) asks for a key that its
   *     own thread is loading: it would wait for itself forever
   * @throws java.util.concurrent.CompletionException caused by {@link InterruptedException} if the thread is
   *     interrupted while it waits for another caller's load (the interrupt flag is set again), or by
   *     {@link java.util.concurrent.TimeoutException} when that load outlives the
   *     {@link TieredCacheBuilder#loadTimeout load timeout}
   */
  V get(K key, Function<? super K, ? extends V> loader);

  /**
   * Like {@link #get(Object, Function)}, and the loaded value carries {@code tags}, so that a
   * {@link Invalidation#tag(String) tag invalidation} removes it. The tags are also what an invalidation that happens
   * while the load is in flight is matched against.
   *
   * @param key the key
   * @param tags the tags of the loaded value
   * @param loader computes the value on a miss; may return null for "absent"
   * @return the value, or null if absent
   */
  V get(K key, Tags tags, Function<? super K, ? extends V> loader);

  /**
   * Asynchronous {@link #get(Object, Tags, Function)}: an L1 hit completes at once, a miss is loaded on the cache's
   * executor, and joining a load in flight blocks no thread.
   *
   * @param key the key
   * @param tags the tags of the loaded value
   * @param loader computes the value on a miss; may return null for "absent"
   * @return the value (null if absent), or the loader's exception (so {@code join()} throws a
   *     {@link java.util.concurrent.CompletionException} and {@code get()} an
   *     {@link java.util.concurrent.ExecutionException} whose cause is what the loader threw), or a
   *     {@link java.util.concurrent.TimeoutException} past the load timeout. The future is the caller's own:
   *     cancelling it stops this caller's wait, not the load other callers share
   */
  CompletableFuture<V> getAsync(K key, Tags tags, Function<? super K, ? extends V> loader);

  /**
   * Returns the value if either tier holds it, without loading. An L2 hit fills the L1. An L2 read that a write or
   * invalidation made on this instance overtook returns null, since that change may cover what it read; the check is
   * by slot of keys, not by key, so a write of another key that shares the slot can turn such a read into a null too
   * (a miss, never a stale value).
   *
   * @param key the key
   * @return the value, or null if no tier holds it (or the cached value is an absence)
   */
  V getIfPresent(K key);

  /**
   * Like {@link #getIfPresent(Object)}, and tells a cached absence from a miss, which {@code getIfPresent} returns as
   * null alike: a cached absence (a loader's null result, or {@link #putAbsent}, within the
   * {@link TieredCacheBuilder#negativeTtl negative TTL}) comes back as {@code ifAbsent}. Spring's {@code Cache.get}
   * needs the difference: no wrapper for a miss, a wrapper of null for a cached null. Never loads.
   *
   * @param key the key
   * @param ifAbsent what to return for a cached absence: a marker that no cached value equals
   * @return the value; {@code ifAbsent} if a tier holds a cached absence; null if no tier holds the key
   */
  V getIfPresent(K key, V ifAbsent);

  /**
   * Asynchronous {@link #getIfPresent(Object, Object)}: an L1 hit completes at once, an L2 read completes on the
   * cache's executor. Never loads, so a miss caches nothing (unlike {@link #getAsync} with a loader that returns null,
   * which caches an absence when there is a negative TTL).
   *
   * @param key the key
   * @param ifAbsent what to return for a cached absence
   * @return a future of the value, {@code ifAbsent}, or null (no tier holds the key)
   */
  CompletableFuture<V> getIfPresentAsync(K key, V ifAbsent);

  /**
   * Returns the values for several keys. The L2 is asked for all L1 misses in one call, and {@code bulkLoader} once
   * for what both tiers miss; keys being loaded by a concurrent {@code get} or {@code getAll} are not loaded again.
   *
   * @param keys the keys
   * @param bulkLoader given the keys that both tiers miss, returns the values it found; a key it leaves out (or maps
   *     to null) is absent
   * @return the present values, in the iteration order of {@code keys}; absent keys are left out
   * @throws RuntimeException whatever the bulk loader threw; nothing it was asked for is cached
   */
  Map<K, V> getAll(Iterable<? extends K> keys, Function<? super Set<K>, ? extends Map<K, V>> bulkLoader);

  /**
   * Like {@link #getAll(Iterable, Function)}, and every value the bulk loader returns carries {@code tags}, so that a
   * {@link Invalidation#tag(String) tag invalidation} removes it (and refuses it while the load is in flight).
   *
   * @param keys the keys
   * @param tags the tags of the loaded values
   * @param bulkLoader loads what both tiers miss
   * @return the present values, in the iteration order of {@code keys}
   */
  Map<K, V> getAll(
      Iterable<? extends K> keys, Tags tags, Function<? super Set<K>, ? extends Map<K, V>> bulkLoader);

  /**
   * Asynchronous {@link #getAll(Iterable, Function)}, run on the cache's executor.
   *
   * @param keys the keys
   * @param bulkLoader loads what both tiers miss
   * @return the present values
   */
  CompletableFuture<Map<K, V>> getAllAsync(
      Iterable<? extends K> keys, Function<? super Set<K>, ? extends Map<K, V>> bulkLoader);

  /**
   * Stores a value in both tiers (untagged), replacing any other, and tells other instances to drop their copy.
   *
   * @param key the key
   * @param value the value
   */
  void put(K key, V value);

  /**
   * Stores a tagged value in both tiers, replacing any other, and tells other instances to drop their copy. Loads
   * of the key that were in flight when the put began do not overwrite it, on this instance or in the L2. Reads on
   * this instance that overlap the put may return the old value or the new one; reads that begin after it returned
   * never return the old one.
   *
   * <p>If the L2 cannot take the value (down, slow, or waiting for invalidations to be applied), the value is cached
   * nowhere, the key's old L2 entry is invalidated once the L2 is back, and {@link InvalidationPendingException}
   * tells the caller so.
   *
   * @param key the key
   * @param value the value
   * @param tags its tags
   * @throws dev.tiercache.codec.CodecException if the value codec cannot encode the value; nothing changed
   * @throws IllegalArgumentException if the encoded value is larger than
   *     {@link TieredCacheBuilder#maxValueBytes maxValueBytes}; nothing changed
   * @throws InvalidationPendingException if Redis or the bus could not take the write in time
   */
  void put(K key, V value, Tags tags);

  /**
   * Asynchronous {@link #put(Object, Object, Tags)}: the L1 is updated when the returned future completes.
   *
   * @param key the key
   * @param value the value
   * @param tags its tags
   * @return completes when both tiers hold the value; fails as {@link #put(Object, Object, Tags)} throws
   */
  CompletableFuture<Void> putAsync(K key, V value, Tags tags);

  /**
   * Caches the absence of a value for a key, as a loader that returns null does, but unconditionally: like
   * {@link #put(Object, Object, Tags)} it replaces what the tiers hold, keeps loads in flight from overwriting it,
   * and tells other instances to drop their copy. The absence lives for the {@link TieredCacheBuilder#negativeTtl
   * negative TTL} in both tiers (the L1's own expiry bounds it too), and reads return null for it
   * ({@link #getIfPresent(Object, Object)} tells it from a miss).
   *
   * @param key the key
   * @param tags its tags
   * @throws IllegalStateException if the cache caches no absences (no negative TTL was set)
   * @throws InvalidationPendingException if Redis or the bus could not take the write in time
   */
  void putAbsent(K key, Tags tags);

  /**
   * Stores a value unless a tier holds one for the key (a cached absence counts as held), and tells which. It reads
   * as {@link #get(Object, Tags, Function)} with a loader that returns {@code value}: an L1 or L2 hit is returned and
   * nothing is stored; a read of the key in flight on this instance is waited for, and then the call looks again
   * (what that read returned may not be what the key holds). The write to the L2 is conditional, as a load's is: when another instance stored a
   * value for the key since this one read the L2, that value is returned (and filled into the L1) instead, so that of
   * concurrent calls on several instances one stores and the others return its value. A write the L2 refused for an
   * invalidation that overtook it counts as stored and then invalidated: null is returned and the value not kept.
   * Without a trusted L2 (none, down, or pending invalidations) it is stored in this instance's L1 only, as a load's
   * value is, atomically with the other reads and writes of the key on this instance while that L1 is served: an
   * instance that cannot prove its bus delivers (Redis down, for one) reads past its L1, so then every call stores.
   *
   * @param key the key
   * @param value the value; not null
   * @param tags its tags
   * @param ifAbsent what to return when the key holds a cached absence
   * @return null if this call stored {@code value}; otherwise the value present, or {@code ifAbsent} for a cached
   *     absence
   * @throws NullPointerException if {@code key}, {@code value} or {@code tags} is null
   * @throws IllegalArgumentException if the value is larger than {@code maxValueBytes}, or the codec rejects it, as
   *     for {@link #put}; nothing is stored
   */
  V putIfAbsent(K key, V value, Tags tags, V ifAbsent);

  /**
   * Invalidates what a request covers: in the L1 at once, in the L2, and on other instances through the bus.
   *
   * <p>It returns normally once the L2 applied it and the bus has it (with Redis, both in one atomic step). If the
   * L2 cannot apply it now, the invalidation waits in a bounded queue and is applied, in order, when the L2 is back;
   * until then this instance neither reads nor writes the L2, so it never serves what the invalidation covered. The
   * {@code cache.l2.pending} gauge counts what waits.
   *
   * @param invalidation what to invalidate
   * @throws InvalidationPendingException if the L2 or the bus could not take it within the L2 timeout: it took effect
   *     here and is retried; other instances may serve what it covers until it gets through
   */
  void invalidate(Invalidation invalidation);

  /**
   * Asynchronous {@link #invalidate(Invalidation)}: the L1 is invalidated before this method returns; the future
   * completes when the L2 and the bus have it.
   *
   * @param invalidation what to invalidate
   * @return completes when the L2 applied it and the bus has it; fails with {@link InvalidationPendingException}
   *     when it was queued instead
   */
  CompletableFuture<Void> invalidateAsync(Invalidation invalidation);

  /**
   * Invalidates one key: {@code invalidate(Invalidation.key(encode(key)))}.
   *
   * @param key the key
   */
  void invalidateKey(K key);

  /**
   * Returns how the cache stands with its L2 and its bus now: whether its L1 is served (the bus proven caught up),
   * whether it trusts its L2, how many invalidations wait for it, and its circuit breaker's state. Cheap; meant for
   * health checks.
   *
   * @return the status
   * @throws IllegalStateException if the cache is closed
   */
  CacheStatus status();

  /**
   * Returns an estimate of the number of L1 entries (including ones that an invalidation already covers but whose
   * background cleanup has not finished, and, with {@code expireAfterWrite} on the system clock, expired ones for some
   * milliseconds after their TTL: the L1 stops serving them at the TTL, and frees them a little later).
   *
   * @return the estimate
   */
  long estimatedL1Size();

  /**
   * Stops listening to the bus and releases the L1, after one last attempt to apply pending invalidations (logged
   * if some could not be). Removes the cache's meters. Does not close the L2 store or the bus: whoever created them
   * closes them. Calls after close fail with {@link IllegalStateException}.
   */
  @Override
  void close();
}
