package dev.tiercache;

import dev.tiercache.spi.L2Read;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Function;

/**
 * {@code getAll}: the L1 for each key, then one L2 read for what it misses, then one bulk load of what both miss.
 *
 * <p>The L2 read registers no flight: what it serves never reaches a loader, so there is no load to share (DESIGN.md
 * invariant 4 counts loader calls), and a hit is checked against this instance's invalidations since a stamp taken
 * before the read, as {@code getIfPresent} checks its own (invariant 1). Only what the L2 leaves goes through flights,
 * registered before its loader runs, so concurrent {@code get}s and {@code getAll}s of those keys share one load.
 * Registering after the read opens one window: a load of the key that finished between the read and the registration
 * wrote what the read missed. {@link Flights#generation} of the keys read tells whether any did; if none, the read
 * stands for the one the flights would make, and the L2 is read once per call; else the flights read again. A
 * hundred keys that the L2 serves cost no flight, future or map per key (issue 11).
 *
 * @param <K> the cache's key type
 * @param <V> the cache's value type
 */
final class BulkReads<K, V> {

  /** How the cache encodes and checks a key, and looks it up in the L1 (null on a miss or an L1 it cannot trust). */
  interface Keys<K> {
    String encode(K key);

    Object l1Hit(String key);
  }

  private final Keys<K> keys;
  private final InvalidationLog log;
  private final L2Tier<V> l2;
  private final Flights<V> flights;
  private final Waits<V> waits;
  private final Loads<K, V> loads;
  private final CacheMetrics metrics;
  private final boolean l1KeepsNothing;

  BulkReads(
      boolean l1KeepsNothing,
      Keys<K> keys,
      InvalidationLog log,
      L2Tier<V> l2,
      Flights<V> flights,
      Waits<V> waits,
      Loads<K, V> loads,
      CacheMetrics metrics) {
    this.keys = keys;
    this.log = log;
    this.l2 = l2;
    this.flights = flights;
    this.waits = waits;
    this.loads = loads;
    this.metrics = metrics;
    this.l1KeepsNothing = l1KeepsNothing;
  }

  /** See {@link TieredCache#getAll(Iterable, Tags, Function)}. */
  Map<K, V> getAll(
      Iterable<? extends K> requested, Tags tags, Function<? super Set<K>, ? extends Map<K, V>> bulkLoader) {
    Objects.requireNonNull(requested, "keys");
    Objects.requireNonNull(tags, "tags");
    Objects.requireNonNull(bulkLoader, "bulkLoader");
    Batch<K> batch = Batch.of(requested, keys::encode);
    int[] missing = new int[batch.size];
    int misses = 0;
    for (int i = 0; i < batch.size; i++) {
      Object hit;
      if (l1KeepsNothing) {
        // Not asked, and each key counted as its miss, as a get counts one.
        metrics.miss(CacheMetrics.Tier.L1);
        hit = null;
      } else {
        hit = keys.l1Hit(batch.keys[i]);
      }
      if (hit == null) {
        missing[misses++] = i;
      } else {
        batch.found[i] = L1Entry.isAbsent(hit) ? L2Tier.ABSENT : L1Entry.value(hit);
      }
    }
    if (misses > 0) {
      readPastL1(batch, missing, misses, tags, bulkLoader);
    }
    return batch.result();
  }

  /** The L1 misses {@code missing[0, misses)}: the L2, then flights and the bulk loader for what it leaves. */
  private void readPastL1(
      Batch<K> batch, int[] missing, int misses, Tags tags, Function<? super Set<K>, ? extends Map<K, V>> loader) {
    // Before the trust check (review 10): an invalidation that the L2 refused (queued, the L2 untrusted) and that
    // ended between a check that still trusted the L2 and a later stamp would be older than the stamp, and the old
    // value the read then finds would pass the check below and fill the L1.
    long stamp = log.stamp();
    if (!loads.l2Trusted()) {
      load(batch, missing, misses, null, null, 0, 0, tags, loader);
      return;
    }
    String[] wanted = batch.keysAt(missing, misses);
    long generation = flights.generation(wanted);
    L2Read[] reads = l2.getAll(wanted);
    long[] versions = new long[misses];
    if (reads == null) {
      // Failed: the loads write nothing back, and do not wait for the L2 a second time.
      java.util.Arrays.fill(versions, Loads.NO_VERSION);
      load(batch, missing, misses, versions, wanted, stamp, Long.MIN_VALUE, tags, loader);
      return;
    }
    // An L1 that keeps nothing admits a hit unless an invalidation made here covers it (Loads.admit): when none ran
    // since the stamp, one check answers for the whole batch. An L1 that keeps entries installs each hit, checked.
    boolean quiet = l1KeepsNothing && log.quietSince(stamp);
    int left = 0;
    for (int j = 0; j < misses; j++) {
      int i = missing[j];
      L2Read read = reads[j];
      Object value = l2.valueOf(read);
      if (value != L2Tier.MISS
          && (quiet
              || loads.admit(batch.keys[i], value == L2Tier.ABSENT ? null : L2Tier.codecValue(value),
                  read.entry().tags(), stamp))) {
        batch.found[i] = value;
      } else {
        missing[left] = i;
        versions[left++] = read.version();
      }
    }
    if (left > 0) {
      load(batch, missing, left, versions, wanted, stamp, generation, tags, loader);
    }
  }

  /**
   * Loads {@code missing[0, count)}: joins the flights in progress, registers its own for the rest and loads them in
   * one bulk call. {@code versions} (made after {@code stamp}, when {@code generation} of {@code read}, the keys the L2
   * was asked for, was current) are what the L2 read found, reused if no flight of those keys left the map since;
   * null when the L2 was not read. {@code generation} {@code Long.MIN_VALUE} means reuse in any case.
   */
  @SuppressWarnings("unchecked")
  private void load(
      Batch<K> batch,
      int[] missing,
      int count,
      long[] versions,
      String[] read,
      long stamp,
      long generation,
      Tags tags,
      Function<? super Set<K>, ? extends Map<K, V>> loader) {
    Flight<V>[] flightOf = new Flight[count];
    int[] ownedAt = new int[count];
    Flight<V>[] owned = new Flight[count];
    long[] ownedVersions = versions == null ? null : new long[count];
    int owns = 0;
    for (int j = 0; j < count; j++) {
      String k = batch.keys[missing[j]];
      Flight<V> mine = new Flight<>(tags, true);
      Flight<V> existing = flights.putIfAbsent(k, mine);
      if (existing == null) {
        flightOf[j] = mine;
        ownedAt[owns] = missing[j];
        owned[owns] = mine;
        if (versions != null) {
          ownedVersions[owns] = versions[j];
        }
        owns++;
        continue;
      }
      try {
        waits.refuseReentry(existing);
      } catch (IllegalStateException e) {
        // The flights this call registered will never run: fail them, or later readers would wait on them forever.
        for (int o = 0; o < owns; o++) {
          flights.remove(batch.keys[ownedAt[o]], owned[o]);
          owned[o].result.completeExceptionally(e);
        }
        throw e;
      }
      metrics.coalesced();
      flightOf[j] = existing;
    }
    if (owns > 0) {
      boolean reuse =
          versions != null && (generation == Long.MIN_VALUE || flights.generation(read) == generation);
      loads.loadAll(
          new Loads.Owned<>(batch, ownedAt, owned, tags, loader), owns, reuse ? ownedVersions : null, stamp);
    }
    for (int j = 0; j < count; j++) {
      int i = missing[j];
      V value = waits.await(batch.keys[i], flightOf[j]);
      if (value != null) {
        batch.found[i] = value;
      }
    }
  }
}
