package dev.tiercache.spi;

import java.time.Duration;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * The shared second tier (Redis in production). Keys are the cache's encoded keys; a store namespaces them per cache
 * name. Every method is asynchronous: the cache bounds each call with its own timeout and treats a failed or late
 * read as a miss.
 *
 * <h2>Invalidation and versions</h2>
 * A store keeps enough invalidation state to refuse stale writes: every invalidation (of a key, a tag, a prefix or a
 * pattern) and every {@link #put unconditional put} advances the version that covers the keys it touches, and
 * {@link #putIfCurrent} refuses a write whose load began, as told by the version of an earlier {@link L2Read}, before
 * such a change, or before another write of the key (so that of two loads that read the same version, one writes:
 * {@link dev.tiercache.TieredCache#putIfAbsent} across instances relies on it). Reads never return an entry that an
 * invalidation covered, even if the store removes covered entries lazily.
 *
 * <h2>Ownership</h2>
 * The caller that creates a store closes it; a cache never closes the store it was given, so one store can serve
 * several caches.
 */
public interface L2Store extends AutoCloseable {

  /**
   * Reads one key.
   *
   * @param cache the cache name
   * @param key the encoded key
   * @return the read; completes exceptionally if the store fails
   */
  CompletableFuture<L2Read> get(String cache, String key);

  /**
   * Reads several keys in one round trip (or one per part of its key space that the keys fall in, sent together).
   * Each read carries the version of its key's part, as {@link #get} does.
   *
   * <p>By position rather than by key: the cache reads and serves a batch by position, and a map of the answers cost
   * a node per key on both sides.
   *
   * @param cache the cache name
   * @param keys the encoded keys, without duplicates; the store neither keeps nor changes the array
   * @return the reads, {@code reads[i]} the read of {@code keys[i]}
   */
  CompletableFuture<L2Read[]> getAll(String cache, String[] keys);

  /**
   * Reads several keys in one round trip, as {@link #getAll(String, String[])}, answered by key.
   *
   * @param cache the cache name
   * @param keys the encoded keys
   * @return a read for every requested key, in the iteration order of {@code keys}
   */
  default CompletableFuture<Map<String, L2Read>> getAll(String cache, Collection<String> keys) {
    String[] distinct = new LinkedHashSet<>(keys).toArray(String[]::new);
    return getAll(cache, distinct)
        .thenApply(
            reads -> {
              Map<String, L2Read> byKey = new LinkedHashMap<>();
              for (int i = 0; i < distinct.length; i++) {
                byKey.put(distinct[i], reads[i]);
              }
              return byKey;
            });
  }

  /**
   * Writes entries, each unless an invalidation covering its key (or one of its tags), or another write of its key,
   * happened after the version of the read that preceded its load. Versions are only compared with versions of the same key's reads: a store may
   * keep separate clocks for separate parts of its key space.
   *
   * @param cache the cache name
   * @param writes the writes by encoded key
   * @param ttl the time to live of the written entries; positive. The cache never mixes values and
   *     {@linkplain L2Entry#isAbsent() absences} in one call: absences get its negative TTL, usually shorter
   * @return the keys that were written (a refused key is left out)
   */
  CompletableFuture<Collection<String>> putIfCurrent(String cache, Map<String, L2Write> writes, Duration ttl);

  /**
   * Writes entries whose loads all followed one read (one {@link #getAll} or one {@link #get}).
   *
   * @param cache the cache name
   * @param entries the entries by encoded key
   * @param ttl the time to live; positive
   * @param version the version of that read
   * @return the keys that were written
   */
  default CompletableFuture<Collection<String>> putIfCurrent(
      String cache, Map<String, L2Entry> entries, Duration ttl, long version) {
    Map<String, L2Write> writes = new LinkedHashMap<>();
    entries.forEach((key, entry) -> writes.put(key, new L2Write(entry, version)));
    return putIfCurrent(cache, writes, ttl);
  }

  /**
   * Writes an entry unconditionally and advances the key's version, so that loads of the key that began before this
   * write cannot overwrite it afterwards.
   *
   * @param cache the cache name
   * @param key the encoded key
   * @param entry the entry, or an {@linkplain L2Entry#isAbsent() absence} ({@link dev.tiercache.TieredCache#putAbsent})
   * @param ttl the time to live; positive. Honour it per call: an absence comes with the cache's negative TTL, a
   *     value with its L2 TTL
   * @return completes when written
   */
  CompletableFuture<Void> put(String cache, String key, L2Entry entry, Duration ttl);

  /**
   * Writes an entry unconditionally, as {@link #put(String, String, L2Entry, Duration)}, and tells the other
   * instances to drop their copy of the key: a store that {@link #announcesInvalidations() announces invalidations}
   * publishes {@code announcement} on its {@link #bus()} in the same atomic step as the write, so neither happens
   * without the other. The default writes and publishes nothing (the cache then publishes it itself).
   *
   * @param cache the cache name
   * @param key the encoded key
   * @param entry the entry
   * @param ttl the time to live; positive
   * @param announcement the bus message (a {@code key} invalidation of {@code key})
   * @return completes when written (and published)
   */
  default CompletableFuture<Void> put(
      String cache, String key, L2Entry entry, Duration ttl, InvalidationMessage announcement) {
    return put(cache, key, entry, ttl);
  }

  /**
   * Writes as {@link #put(String, String, L2Entry, Duration, InvalidationMessage)} (as the four-argument put when
   * {@code announcement} is null), but never once {@code giveUpAfter} has passed since this call. The cache stops
   * waiting then and tells its caller the write failed; another instance may write the key after that, and a write
   * still on its way would land over the newer one. A store that can bound when a command takes effect (the Redis
   * store compares the server's time with a deadline) refuses it past the bound, and the returned future fails. The
   * default ignores the bound; when the returned future completes normally after the cache stopped waiting, the
   * cache invalidates the key once more, so the late write is removed again (a write that lands without its future
   * ever completing normally is not seen).
   *
   * @param giveUpAfter how long after this call the write may still take effect; positive
   * @return completes when written (and published); fails if the store refused the write as late
   */
  default CompletableFuture<Void> put(
      String cache,
      String key,
      L2Entry entry,
      Duration ttl,
      InvalidationMessage announcement,
      Duration giveUpAfter) {
    return announcement == null ? put(cache, key, entry, ttl) : put(cache, key, entry, ttl, announcement);
  }

  /**
   * Whether a failure of one of this store's calls is a refusal from a store that is up and answering, for a reason
   * that passes by itself and concerns only part of the key space (a Redis Cluster answering {@code TRYAGAIN} while
   * the slot of a key moves). The call counts as failed all the same (a read misses, an invalidation or put is
   * pending and retried), but not against the circuit breaker, which is there to spare a store that is unwell: one
   * part of the key space that moves must not stop the calls to the rest. The default is false.
   *
   * @param failure the failure of a call, as its future reported it
   * @return true if it says nothing about the store's health
   */
  default boolean isRefusal(Throwable failure) {
    return false;
  }

  /**
   * Whether this store publishes the announcements handed to {@link #invalidate(String, InvalidationMessage)} and
   * {@link #put(String, String, L2Entry, Duration, InvalidationMessage)} on its own {@link #bus()}, in the same atomic
   * step that changes the L2. The cache then publishes nothing itself. The default is false.
   *
   * @return true if announcements are published by the store
   */
  default boolean announcesInvalidations() {
    return false;
  }

  /**
   * Applies the built-in invalidations a message carries ({@code key}, {@code prefix}, {@code tag}, {@code pattern},
   * {@code all}), in order, and publishes the message on the store's {@link #bus()} atomically with its last L2
   * change: after every covered entry stopped being served, and never without it. The cache calls it only on a store
   * that {@link #announcesInvalidations() announces invalidations}; others get each invalidation through the methods
   * above (via {@link dev.tiercache.InvalidationStrategy#applyTo}), so the default refuses.
   *
   * @param cache the cache name
   * @param announcement the invalidations, as they travel on the bus
   * @return completes when applied and published; exceptionally if an item's strategy is not a built-in
   */
  default CompletableFuture<Void> invalidate(String cache, InvalidationMessage announcement) {
    return CompletableFuture.failedFuture(
        new UnsupportedOperationException(getClass().getName() + " does not announce invalidations"));
  }

  /**
   * Removes one key and advances its version.
   *
   * @param cache the cache name
   * @param key the encoded key
   * @return completes when applied
   */
  CompletableFuture<Void> invalidateKey(String cache, String key);

  /**
   * Invalidates every key that starts with {@code prefix}. The prefix is a literal: glob metacharacters in it match
   * only themselves.
   *
   * @param cache the cache name
   * @param prefix the literal prefix; empty only when called by {@link #invalidateAll}
   * @return completes when applied (covered entries may be removed physically later)
   */
  CompletableFuture<Void> invalidatePrefix(String cache, String prefix);

  /**
   * Invalidates every entry of the cache. The default records it as the invalidation of the empty prefix, which
   * every key starts with.
   *
   * @param cache the cache name
   * @return completes when applied (covered entries may be removed physically later)
   */
  default CompletableFuture<Void> invalidateAll(String cache) {
    return invalidatePrefix(cache, "");
  }

  /**
   * Invalidates every entry that carries {@code tag}.
   *
   * @param cache the cache name
   * @param tag the tag
   * @return completes when applied (covered entries may be removed physically later)
   */
  CompletableFuture<Void> invalidateTag(String cache, String tag);

  /**
   * Invalidates every key of the cache that matches a Redis-style glob ({@link dev.tiercache.Glob}).
   *
   * @param cache the cache name
   * @param glob the pattern, matched against encoded keys only inside this cache's namespace
   * @return completes when applied
   */
  CompletableFuture<Void> invalidatePattern(String cache, String glob);

  /**
   * Tries to take a short lease on loading a key, so that one instance loads a missing key while the others wait
   * for it to appear in the L2 (distributed single-flight). The default grants every lease: each instance loads.
   *
   * @param cache the cache name
   * @param key the encoded key
   * @param owner who asks, to release only its own lease: a token of the one load that asks (a cache gives each load a
   *     token of its own, so that a load may wait for another load of the same instance); the same token again, as
   *     when a request is replayed after a reconnect, must be granted the lease it holds
   * @param ttl how long the lease lasts if it is never released
   * @return true if the caller holds the lease
   */
  default CompletableFuture<Boolean> tryLease(String cache, String key, String owner, Duration ttl) {
    return CompletableFuture.completedFuture(Boolean.TRUE);
  }

  /**
   * Releases a lease taken with {@link #tryLease}, if the owner still holds it.
   *
   * @param cache the cache name
   * @param key the encoded key
   * @param owner the owner given to {@link #tryLease}
   * @return completes when released
   */
  default CompletableFuture<Void> releaseLease(String cache, String key, String owner) {
    return CompletableFuture.completedFuture(null);
  }

  /**
   * The bus that comes with this store, if it has one: an L2 shared by several instances needs a bus to keep their
   * L1s coherent, so a cache built with this store uses it unless the builder names another.
   *
   * @return the bus, or null (the default)
   */
  default InvalidationBus bus() {
    return null;
  }

  /** Releases the store's resources. The default does nothing. */
  @Override
  default void close() {}
}
