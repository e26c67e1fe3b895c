package dev.tiercache;

import dev.tiercache.spi.L2Entry;
import dev.tiercache.spi.L2Read;
import dev.tiercache.spi.L2Write;
import java.time.Duration;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Function;

/**
 * What a flight does once it owns a key (or keys): read the L2, wait for another instance's lease if there is one,
 * call the loader, write back conditionally, install, and complete the flight, whatever happens.
 */
final class Loads<K, V> {

  private static final long NO_VERSION = Long.MIN_VALUE;

  private final InvalidationLog log;
  private final L1Tier<V> l1;
  private final L2Tier<V> l2;
  private final BusLink bus;
  private final Flights<V> flights;
  private final Invalidator invalidator;
  private final CacheMetrics metrics;
  private final boolean cacheAbsent;
  private final Duration loadLease;
  private final Duration loadTimeout;
  private final String instanceId;

  Loads(
      TieredCacheBuilder<K, V> settings,
      InvalidationLog log,
      L1Tier<V> l1,
      L2Tier<V> l2,
      BusLink bus,
      Flights<V> flights,
      Invalidator invalidator,
      CacheMetrics metrics,
      String instanceId) {
    this.log = log;
    this.l1 = l1;
    this.l2 = l2;
    this.bus = bus;
    this.flights = flights;
    this.invalidator = invalidator;
    this.metrics = metrics;
    this.cacheAbsent = settings.negativeTtl != null;
    this.loadLease = settings.loadLease;
    this.loadTimeout = settings.loadTimeout;
    this.instanceId = instanceId;
  }

  private boolean l2Trusted() {
    return invalidator.l2Trusted();
  }

  /**
   * Runs one key's load: L2, then the loader; completes the flight either way and never throws. A refresh reads the
   * L2 only for its version: the L2 may hold the very copy being refreshed.
   */
  void load(String k, K key, Flight<V> flight, Function<? super K, ? extends V> loader) {
    flight.owner = Thread.currentThread();
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
        if (version != NO_VERSION && l2Trusted() && l2.fits(encoded)) {
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
   * Serves what a flight read from the L2, unless an invalidation made here that covers the entry (its own tags
   * included, which the caller's tags may lack) overtook the read: then the flight goes on to the loader, so that no
   * reader, not even one that joined after the invalidation returned, gets what it covered. An invalidation received
   * from another instance only keeps the value out of the L1: serving it once is within the staleness bound, and a
   * put on another instance announces itself exactly so, so a read of that very put must not cost a load.
   *
   * @return whether the flight was finished with the entry
   */
  private boolean served(String k, Flight<V> flight, L2Tier.Hit<V> found) {
    flight.widen(found.tags());
    if (!l1.install(k, found.value(), found.tags(), flight.stamp)
        && log.coveredLocally(k, found.tags(), flight.stamp)) {
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
    // The lease bounds the wait, and so does the load timeout: waiting on another instance is waiting on a load.
    long wait = loadTimeout == null ? loadLease.toNanos() : Math.min(loadLease.toNanos(), loadTimeout.toNanos());
    long deadline = System.nanoTime() + wait;
    long pause = Math.max(TimeUnit.MILLISECONDS.toNanos(2), loadLease.toNanos() / 50);
    L2Read read = null;
    for (int polls = 0; polls < 1_000 && System.nanoTime() - deadline < 0; polls++) {
      LockSupport.parkNanos(pause);
      if (Thread.currentThread().isInterrupted()) {
        // Parking returns at once while interrupted: stop polling, and let the loader see the interrupt.
        return new OtherLoad(read, false);
      }
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

  void finish(String k, Flight<V> flight, V value) {
    flights.remove(k, flight);
    flight.result.complete(value);
  }

  <T> T timedLoad(java.util.function.Supplier<T> loader) {
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

  /**
   * Loads the keys this call owns: one L2 read for all, one bulk loader call for what the L2 misses. One stamp,
   * taken after every flight was registered, serves them all.
   */
  void loadAll(
      Map<String, Flight<V>> owned,
      Map<String, K> requested,
      Tags tags,
      Function<? super Set<K>, ? extends Map<K, V>> bulkLoader) {
    long stamp = log.stamp();
    owned.values().forEach(flight -> flight.stamp = stamp);
    // The keys the L2 did not serve, and the versions their write-backs present: built only once one misses, so
    // that a batch the L2 serves whole allocates no map here.
    Map<String, Flight<V>> pending = owned;
    Map<String, Long> versions = Map.of();
    try {
      Map<String, L2Read> reads = l2Trusted() ? l2.getAll(owned.keySet()) : null;
      if (reads != null) {
        pending = Map.of();
        for (Map.Entry<String, Flight<V>> own : owned.entrySet()) {
          String k = own.getKey();
          L2Read read = reads.get(k);
          if (read != null) {
            L2Tier.Hit<V> hit = l2.decode(read);
            if (hit != null && served(k, own.getValue(), hit)) {
              continue;
            }
            if (versions.isEmpty()) {
              versions = new HashMap<>();
            }
            versions.put(k, read.version());
          }
          if (pending.isEmpty()) {
            pending = new LinkedHashMap<>();
          }
          pending.put(k, own.getValue());
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
        if (version != null && encoded != null && l2.fits(encoded)) {
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
      // Every flight not finished yet: those the L2 served are done, and so are those before a failure midway.
      owned.forEach(
          (k, flight) -> {
            if (!flight.result.isDone()) {
              flights.remove(k, flight);
              flight.result.completeExceptionally(t);
            }
          });
    }
  }

}
