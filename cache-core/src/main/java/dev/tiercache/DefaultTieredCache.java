package dev.tiercache;

import dev.tiercache.codec.KeyCodec;
import dev.tiercache.spi.InvalidationBus;
import dev.tiercache.spi.L2Entry;
import dev.tiercache.spi.L2Read;
import dev.tiercache.spi.L2Write;
import java.time.Duration;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The tiered cache: reads through L1, L2 and the loader; writes and invalidates through the log. */
final class DefaultTieredCache<K, V> implements TieredCache<K, V> {

  private static final long NO_VERSION = Long.MIN_VALUE;

  private final String name;
  private final KeyCodec<? super K> keyCodec;
  private final CacheMetrics metrics;
  private final InvalidationLog log = new InvalidationLog(InvalidationLog.DEFAULT_CAPACITY);
  private final L1Tier<V> l1;
  private final L2Tier<V> l2;
  private final BusLink bus;
  private final boolean cacheAbsent;
  private final Executor executor;
  private final Flights<V> flights = new Flights<>();
  private final Invalidator invalidator;
  private final Duration loadLease;
  /** This instance on the bus (its messages' origin) and in the L2 (the owner of its load leases). */
  private final String instanceId = UUID.randomUUID().toString();
  private volatile boolean closed;

  DefaultTieredCache(TieredCacheBuilder<K, V> settings) {
    this.name = settings.name;
    this.keyCodec = settings.keyCodec;
    this.metrics =
        settings.meterRegistry == null
            ? CacheMetrics.NONE
            : new MicrometerMetrics(settings.meterRegistry, settings.name);
    this.l1 = new L1Tier<>(settings, log, metrics);
    this.l2 = settings.l2 == null ? null : new L2Tier<>(settings, metrics);
    this.cacheAbsent = settings.negativeTtl != null;
    this.executor = settings.executor;
    this.loadLease = settings.loadLease;
    this.invalidator = new Invalidator(settings, instanceId, log, l1, l2, flights, metrics);
    InvalidationBus storeBus = settings.l2 == null ? null : settings.l2.bus();
    InvalidationBus busToUse = settings.bus != null ? settings.bus : storeBus;
    this.bus =
        busToUse == null
            ? null
            : new BusLink(
                settings, instanceId, busToUse, metrics, invalidator::applyLocally, invalidator::clearL1);
    invalidator.connect(
        bus, bus != null && busToUse == storeBus && settings.l2.announcesInvalidations());
  }

  @Override
  public String name() {
    return name;
  }

  // ---- reads ----

  @Override
  public V get(K key, Function<? super K, ? extends V> loader) {
    return get(key, Tags.empty(), loader);
  }

  @Override
  public V get(K key, Tags tags, Function<? super K, ? extends V> loader) {
    String k = encode(key);
    L1Entry<V> hit = readThroughHit(k, key, tags, loader);
    if (hit != null) {
      return hit.value;
    }
    Flight<V> mine = new Flight<>(tags);
    Flight<V> flight = join(k, mine);
    if (flight == mine) {
      load(k, key, mine, loader);
    }
    return await(flight.result);
  }

  @Override
  public CompletableFuture<V> getAsync(K key, Tags tags, Function<? super K, ? extends V> loader) {
    String k = encode(key);
    L1Entry<V> hit = readThroughHit(k, key, tags, loader);
    if (hit != null) {
      return CompletableFuture.completedFuture(hit.value);
    }
    Flight<V> mine = new Flight<>(tags);
    Flight<V> flight = join(k, mine);
    if (flight == mine) {
      runAsync(k, mine, () -> load(k, key, mine, loader));
    }
    return flight.result.copy();
  }

  @Override
  public V getIfPresent(K key) {
    String k = encode(key);
    L1Entry<V> hit = l1Hit(k);
    if (hit != null) {
      return hit.value;
    }
    if (!l2Trusted()) {
      return null;
    }
    long stamp = log.stamp();
    L2Read read = l2.get(k);
    L2Tier.Hit<V> found = read == null ? null : l2.decode(read);
    if (found == null) {
      return null;
    }
    l1.install(k, found.value(), found.tags(), stamp);
    return found.value();
  }

  /** The read-through L1 lookup of get and getAsync: validates the arguments, and refreshes a hit that is due. */
  private L1Entry<V> readThroughHit(String k, K key, Tags tags, Function<? super K, ? extends V> loader) {
    Objects.requireNonNull(tags, "tags");
    Objects.requireNonNull(loader, "loader");
    L1Entry<V> hit = l1Hit(k);
    if (hit != null) {
      refreshIfDue(k, key, hit, loader);
    }
    return hit;
  }

  /** The L1 entry for a key, unless this instance cannot prove its bus is caught up (then the L1 is not trusted). */
  private L1Entry<V> l1Hit(String k) {
    return bus == null || bus.l1Servable() ? l1.get(k) : null;
  }

  /** Whether the L2 may be read and written: there is one, and no invalidation waits to be applied to it. */
  private boolean l2Trusted() {
    return invalidator.l2Trusted();
  }

  /**
   * Starts a background reload of an entry that a read found due for refresh, unless a load of the key is already in
   * flight. Readers keep the current value; a reader that comes after expiry joins the reload.
   */
  private void refreshIfDue(String k, K key, L1Entry<V> hit, Function<? super K, ? extends V> loader) {
    if (hit.isAbsent() || !l1.wantsRefresh(hit)) {
      return;
    }
    Flight<V> mine = new Flight<>(hit.tags);
    mine.refresh = true;
    if (flights.putIfAbsent(k, mine) == null) {
      mine.stamp = log.stamp();
      mine.result.whenComplete((value, failure) -> metrics.refreshed(failure == null));
      runAsync(k, mine, () -> load(k, key, mine, loader));
    }
  }

  /**
   * Registers {@code mine} as the load of {@code key}, or returns the load already in flight. The stamp is taken
   * after registration: an invalidation that ends later detaches the flight; one that ended earlier is older than
   * the stamp and so older than anything the load reads.
   */
  private Flight<V> join(String key, Flight<V> mine) {
    Flight<V> existing = flights.putIfAbsent(key, mine);
    if (existing != null) {
      metrics.coalesced();
      return existing;
    }
    mine.stamp = log.stamp();
    return mine;
  }

  /**
   * Runs one key's load: L2, then the loader; completes the flight either way and never throws. A refresh reads the
   * L2 only for its version: the L2 may hold the very copy being refreshed.
   */
  private void load(String k, K key, Flight<V> flight, Function<? super K, ? extends V> loader) {
    String leaseOwner = null;
    try {
      long version = NO_VERSION;
      if (l2Trusted()) {
        L2Read read = l2.get(k);
        if (read != null) {
          version = read.version();
          L2Tier.Hit<V> found = flight.refresh ? null : l2.decode(read);
          if (found != null && served(k, flight, found)) {
            return;
          }
        }
      }
      if (loadLease != null && version != NO_VERSION && !flight.refresh) {
        if (l2.tryLease(k, instanceId, loadLease)) {
          leaseOwner = instanceId;
        } else {
          OtherLoad awaited = awaitOtherLoad(k);
          L2Read filled = awaited.read();
          if (awaited.leaseTaken()) {
            leaseOwner = instanceId;
          }
          L2Tier.Hit<V> found = filled == null ? null : l2.decode(filled);
          if (found != null && served(k, flight, found)) {
            return;
          }
          version = filled == null ? version : filled.version();
        }
      }
      long start = System.nanoTime();
      V value;
      try {
        value = timedLoad(() -> loader.apply(key));
      } catch (RuntimeException | Error e) {
        L1Entry<V> stale = l1.stale(k);
        if (stale == null || (bus != null && !bus.l1Servable())) {
          throw e;
        }
        // Fail-safe: the loader failed, an expired value is at hand and nothing invalidated it.
        metrics.staleServed();
        l1.keepServing(k, stale);
        finish(k, flight, stale.value);
        return;
      }
      long loadNanos = System.nanoTime() - start;
      if (value != null || cacheAbsent) {
        // Encoded even when the L2 is not written now: a value the codec rejects fails the same way either way.
        L2Entry encoded = l2 == null ? null : l2.encode(value, flight.tags());
        if (version != NO_VERSION && l2Trusted()) {
          l2.putIfCurrent(Map.of(k, new L2Write(encoded, version)), value == null);
        }
        l1.install(k, value, flight.tags(), flight.stamp, loadNanos);
      }
      finish(k, flight, value);
    } catch (Throwable t) {
      flights.remove(k, flight);
      flight.result.completeExceptionally(t);
    } finally {
      if (leaseOwner != null) {
        // After the L2 write: the instances waiting on the lease find the value as soon as they can take it.
        l2.releaseLease(k, leaseOwner);
      }
    }
  }

  /**
   * Serves what a flight read from the L2, unless an invalidation covering the entry (its own tags included, which
   * the caller's tags may lack) overtook the read: then the flight goes on to the loader, so that no reader, not even
   * one that joined after the invalidation returned, gets what it covered.
   *
   * @return whether the flight was finished with the entry
   */
  private boolean served(String k, Flight<V> flight, L2Tier.Hit<V> found) {
    flight.widen(found.tags());
    if (l1.install(k, found.value(), found.tags(), flight.stamp) == null) {
      return false;
    }
    finish(k, flight, found.value());
    return true;
  }

  /** What waiting for another instance's load gave: the last read, and whether this instance took the lease over. */
  private record OtherLoad(L2Read read, boolean leaseTaken) {}

  /**
   * Another instance holds the load lease: polls the L2 until its value appears, at most for the lease's length.
   * Each poll that misses also tries to take the lease, so that when the holder fails, gives up, or had its write
   * refused, a waiter loads at once instead of waiting out the lease.
   */
  private OtherLoad awaitOtherLoad(String k) {
    long deadline = System.nanoTime() + loadLease.toNanos();
    long pause = Math.max(TimeUnit.MILLISECONDS.toNanos(2), loadLease.toNanos() / 50);
    L2Read read = null;
    for (int polls = 0; polls < 1_000 && System.nanoTime() - deadline < 0; polls++) {
      LockSupport.parkNanos(pause);
      read = l2.get(k);
      if (read == null || read.isHit()) {
        return new OtherLoad(read, false);
      }
      if (l2.tryLease(k, instanceId, loadLease)) {
        return new OtherLoad(read, true);
      }
    }
    return new OtherLoad(read, false);
  }

  private void finish(String k, Flight<V> flight, V value) {
    flights.remove(k, flight);
    flight.result.complete(value);
  }

  private <T> T timedLoad(java.util.function.Supplier<T> loader) {
    long start = System.nanoTime();
    boolean success = false;
    try {
      T result = loader.get();
      success = true;
      return result;
    } finally {
      metrics.load(System.nanoTime() - start, success);
    }
  }

  @Override
  public Map<K, V> getAll(
      Iterable<? extends K> keys, Function<? super Set<K>, ? extends Map<K, V>> bulkLoader) {
    return getAll(keys, Tags.empty(), bulkLoader);
  }

  @Override
  public Map<K, V> getAll(
      Iterable<? extends K> keys, Tags tags, Function<? super Set<K>, ? extends Map<K, V>> bulkLoader) {
    Objects.requireNonNull(keys, "keys");
    Objects.requireNonNull(tags, "tags");
    Objects.requireNonNull(bulkLoader, "bulkLoader");
    Map<String, K> requested = new LinkedHashMap<>();
    for (K key : keys) {
      requested.putIfAbsent(encode(key), key);
    }
    Map<String, V> found = new HashMap<>();
    Map<String, Flight<V>> owned = new LinkedHashMap<>();
    Map<String, Flight<V>> joined = new HashMap<>();
    for (String k : requested.keySet()) {
      L1Entry<V> hit = l1Hit(k);
      if (hit != null) {
        if (!hit.isAbsent()) {
          found.put(k, hit.value);
        }
        continue;
      }
      Flight<V> mine = new Flight<>(tags);
      Flight<V> flight = flights.putIfAbsent(k, mine);
      if (flight == null) {
        owned.put(k, mine);
      } else {
        metrics.coalesced();
        joined.put(k, flight);
      }
    }
    if (!owned.isEmpty()) {
      loadAll(owned, requested, tags, bulkLoader);
    }
    collect(owned, found);
    collect(joined, found);
    Map<K, V> result = new LinkedHashMap<>();
    requested.forEach(
        (k, key) -> {
          V value = found.get(k);
          if (value != null) {
            result.put(key, value);
          }
        });
    return result;
  }

  private void collect(Map<String, Flight<V>> flightsByKey, Map<String, V> found) {
    flightsByKey.forEach(
        (k, flight) -> {
          V value = await(flight.result);
          if (value != null) {
            found.put(k, value);
          }
        });
  }

  /**
   * Loads the keys this call owns: one L2 read for all, one bulk loader call for what the L2 misses. One stamp,
   * taken after every flight was registered, serves them all.
   */
  private void loadAll(
      Map<String, Flight<V>> owned,
      Map<String, K> requested,
      Tags tags,
      Function<? super Set<K>, ? extends Map<K, V>> bulkLoader) {
    long stamp = log.stamp();
    owned.values().forEach(flight -> flight.stamp = stamp);
    Map<String, Flight<V>> pending = new LinkedHashMap<>(owned);
    try {
      Map<String, Long> versions = new HashMap<>();
      if (l2Trusted()) {
        Map<String, L2Read> reads = l2.getAll(pending.keySet());
        if (reads != null) {
          for (Map.Entry<String, L2Read> read : reads.entrySet()) {
            Flight<V> flight = pending.get(read.getKey());
            if (flight == null) {
              continue;
            }
            versions.put(read.getKey(), read.getValue().version());
            L2Tier.Hit<V> hit = l2.decode(read.getValue());
            if (hit != null && served(read.getKey(), flight, hit)) {
              pending.remove(read.getKey());
            }
          }
        }
      }
      if (pending.isEmpty()) {
        return;
      }
      Set<K> toLoad = new LinkedHashSet<>();
      pending.keySet().forEach(k -> toLoad.add(requested.get(k)));
      Map<K, V> loaded = timedLoad(() -> bulkLoader.apply(Collections.unmodifiableSet(toLoad)));
      Objects.requireNonNull(loaded, "bulkLoader returned null");
      Map<String, V> values = new LinkedHashMap<>();
      Map<String, L2Write> present = new HashMap<>();
      Map<String, L2Write> absent = new HashMap<>();
      for (String k : pending.keySet()) {
        V value = loaded.get(requested.get(k));
        values.put(k, value);
        // Encoded even when the L2 is not written now: a value the codec rejects fails the same way either way.
        L2Entry encoded = l2 == null || (value == null && !cacheAbsent) ? null : l2.encode(value, tags);
        Long version = versions.get(k);
        if (version != null && encoded != null) {
          (value == null ? absent : present).put(k, new L2Write(encoded, version));
        }
      }
      if (!versions.isEmpty() && l2Trusted()) {
        l2.putIfCurrent(present, false);
        l2.putIfCurrent(absent, true);
      }
      for (Map.Entry<String, V> e : values.entrySet()) {
        if (e.getValue() != null || cacheAbsent) {
          l1.install(e.getKey(), e.getValue(), tags, stamp);
        }
        finish(e.getKey(), pending.get(e.getKey()), e.getValue());
      }
    } catch (Throwable t) {
      pending.forEach(
          (k, flight) -> {
            flights.remove(k, flight);
            flight.result.completeExceptionally(t);
          });
    }
  }

  @Override
  public CompletableFuture<Map<K, V>> getAllAsync(
      Iterable<? extends K> keys, Function<? super Set<K>, ? extends Map<K, V>> bulkLoader) {
    Objects.requireNonNull(keys, "keys");
    Objects.requireNonNull(bulkLoader, "bulkLoader");
    ensureOpen();
    return CompletableFuture.supplyAsync(() -> getAll(keys, bulkLoader), executor);
  }

  // ---- writes ----

  @Override
  public void put(K key, V value) {
    put(key, value, Tags.empty());
  }

  @Override
  public void put(K key, V value, Tags tags) {
    String k = encode(key);
    Objects.requireNonNull(value, "value");
    Objects.requireNonNull(tags, "tags");
    L2Entry entry = l2 == null ? null : l2.encode(value, tags);
    invalidator.put(k, value, tags, entry, l1);
  }

  @Override
  public CompletableFuture<Void> putAsync(K key, V value, Tags tags) {
    encode(key);
    Objects.requireNonNull(value, "value");
    Objects.requireNonNull(tags, "tags");
    return runOffCaller(() -> put(key, value, tags));
  }

  // ---- invalidation ----

  @Override
  public void invalidate(Invalidation invalidation) {
    Objects.requireNonNull(invalidation, "invalidation");
    ensureOpen();
    invalidator.invalidate(invalidation);
  }

  @Override
  public CompletableFuture<Void> invalidateAsync(Invalidation invalidation) {
    Objects.requireNonNull(invalidation, "invalidation");
    ensureOpen();
    return runOffCaller(() -> invalidator.invalidate(invalidation));
  }

  /**
   * Runs a write on the cache's executor, or on the caller's thread if the executor refuses it: a write must never
   * be left half done (an invalidation that began and never ended would refuse its keys' installs forever).
   */
  private CompletableFuture<Void> runOffCaller(Runnable write) {
    try {
      return CompletableFuture.runAsync(write, executor);
    } catch (RejectedExecutionException e) {
      try {
        write.run();
        return CompletableFuture.completedFuture(null);
      } catch (RuntimeException | Error failure) {
        return CompletableFuture.failedFuture(failure);
      }
    }
  }

  @Override
  public void invalidateKey(K key) {
    invalidate(Invalidation.key(encode(key)));
  }

  // ---- plumbing ----

  @Override
  public long estimatedL1Size() {
    ensureOpen();
    return l1.estimatedSize();
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    invalidator.close();
    if (bus != null) {
      bus.close();
    }
    metrics.close();
    l1.clear();
  }

  private String encode(K key) {
    Objects.requireNonNull(key, "key");
    ensureOpen();
    return Objects.requireNonNull(keyCodec.encode(key), "keyCodec returned null");
  }

  private void ensureOpen() {
    if (closed) {
      throw new IllegalStateException("cache '" + name + "' is closed");
    }
  }

  private void runAsync(String k, Flight<V> flight, Runnable load) {
    try {
      executor.execute(load);
    } catch (RuntimeException e) {
      // A flight that never runs must not stay joinable, or the key would fail forever.
      flights.remove(k, flight);
      flight.result.completeExceptionally(e);
    }
  }

  /** Waits for a load and rethrows its failure as the loader threw it. */
  private static <T> T await(CompletableFuture<T> result) {
    try {
      return result.join();
    } catch (CompletionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof RuntimeException) {
        throw (RuntimeException) cause;
      }
      if (cause instanceof Error) {
        throw (Error) cause;
      }
      throw e;
    }
  }

  @Override
  public String toString() {
    return "TieredCache[" + name + "]";
  }

}
