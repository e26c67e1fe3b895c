package dev.tiercache;

import dev.tiercache.spi.L2Entry;
import dev.tiercache.spi.L2Read;
import dev.tiercache.spi.L2Write;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Collection;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.function.Function;

/**
 * What a flight does once it owns a key (or keys): read the L2, wait for another instance's lease if there is one,
 * call the loader, write back conditionally, install, and complete the flight, whatever happens.
 */
final class Loads<K, V> {

  /** The version of a read that was not made: a load that has it writes nothing back to the L2. */
  static final long NO_VERSION = Long.MIN_VALUE;

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
  /** Numbers this instance's leased loads: each load's lease has a token of its own ({@link LoadLease}). */
  private final AtomicLong leaseTokens = new AtomicLong();

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

  /** Whether the L2 may be read and written: there is one, and no invalidation waits to be applied to it. */
  boolean l2Trusted() {
    return invalidator.l2Trusted();
  }

  /**
   * Runs one key's load: L2, then the loader; completes the flight either way and never throws. A refresh reads the
   * L2 only for its version: the L2 may hold the very copy being refreshed.
   */
  void load(String k, K key, Flight<V> flight, Function<? super K, ? extends V> loader) {
    flight.owner = Thread.currentThread();
    LoadLease lease = null;
    try {
      long version = NO_VERSION;
      if (l2Trusted()) {
        L2Read read = l2.get(k);
        if (read != null) {
          version = read.version();
          L2Tier.Hit<V> found = flight.refresh ? null : l2.decode(read);
          if (found != null && served(k, flight, found, null)) {
            return;
          }
        }
      }
      if (loadLease != null && version != NO_VERSION && !flight.refresh) {
        lease = new LoadLease(l2, k, instanceId + '/' + leaseTokens.incrementAndGet(), loadLease);
        if (!lease.tryTake()) {
          OtherLoad awaited = awaitOtherLoad(k, lease);
          L2Read filled = awaited.read();
          if (awaited.leaseTaken()) {
            // The holder may have stored its value and released its lease since the poll's read: read again, now
            // that no other instance loads, or the key would be loaded twice. The lease is held, so the finally below
            // releases it whatever this read throws.
            filled = l2.get(k);
          }
          L2Tier.Hit<V> found = filled == null ? null : l2.decode(filled);
          if (found != null && served(k, flight, found, lease)) {
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
        if (lease != null) {
          lease.send();
        }
        finishAhead(() -> {
          l1.keepServing(k, stale);
          finish(k, flight, stale.value);
          return true;
        });
        return;
      }
      long loadNanos = System.nanoTime() - start;
      boolean kept = value != null || cacheAbsent;
      if (kept) {
        // Encoded even when the L2 is not written now: a value the codec rejects fails the same way either way.
        L2Entry encoded = l2 == null ? null : l2.encode(value, flight.tags());
        if (version != NO_VERSION && l2Trusted() && l2.fits(encoded)) {
          Collection<String> written = l2.putIfCurrent(Map.of(k, new L2Write(encoded, version)), value == null);
          if (written != null && written.isEmpty()) {
            // Refused: the key was written or invalidated since the read.
            if (flight.ifAbsent) {
              // What another instance stored is what this call returns and serves.
              if (storedByAnother(k, flight, lease)) {
                return;
              }
              kept = false; // refused for an invalidation that overtook it: stored, then invalidated
            } else if (heldByL2(k)) {
              // Another instance stored a value since (a putIfAbsent's, which must not be shadowed here by this
              // load's): the callers get what they loaded, and this L1 reads the L2's from now on.
              kept = false;
              flight.shadowed = true;
            }
          }
        }
      }
      if (lease != null) {
        // After the L2 write: the instances waiting on the lease find the value as soon as they can take it.
        lease.send();
      }
      boolean install = kept;
      int weight = install ? l1.weigh(k, value) : 1;
      flight.ownValue = true;
      finishAhead(() -> {
        if (install) {
          l1.install(k, value, flight.tags(), flight.stamp, loadNanos, weight);
        }
        finish(k, flight, value);
        return true;
      });
    } catch (Throwable t) {
      if (lease != null) {
        lease.send();
      }
      flights.remove(k, flight);
      flight.result.completeExceptionally(t);
    } finally {
      if (lease != null) {
        lease.end();
      }
    }
  }

  /** Whether the L2 holds a value (or absence) for the key now; false when it cannot tell. */
  private boolean heldByL2(String k) {
    L2Read read = l2.get(k);
    return read != null && read.isHit();
  }

  /**
   * A {@link TieredCache#putIfAbsent} whose conditional write the L2 refused: another instance may have stored a
   * value since this one read. If the L2 holds one now, the flight finishes with it (filled into the L1), not its
   * own.
   *
   * @return whether the flight was finished so
   */
  private boolean storedByAnother(String k, Flight<V> flight, LoadLease lease) {
    L2Read read = l2.get(k);
    L2Tier.Hit<V> found = read == null ? null : l2.decode(read);
    return found != null && served(k, flight, found, lease);
  }

  /**
   * Serves what a flight read from the L2, unless an invalidation made here that covers the entry (its own tags
   * included, which the caller's tags may lack) overtook the read: then the flight goes on to the loader, so that no
   * reader, not even one that joined after the invalidation returned, gets what it covered. An invalidation received
   * from another instance only keeps the value out of the L1: serving it once is within the staleness bound, and a
   * put on another instance announces itself exactly so, so a read of that very put must not cost a load.
   *
   * @param lease the load lease the flight holds, released before it finishes; or null
   * @return whether the flight was finished with the entry
   */
  private boolean served(String k, Flight<V> flight, L2Tier.Hit<V> found, LoadLease lease) {
    return served(k, flight, found, lease, l1.weigh(k, found.value()));
  }

  /** As {@link #served(String, Flight, L2Tier.Hit, LoadLease)}, with the entry weighed already (see finishAhead). */
  private boolean served(String k, Flight<V> flight, L2Tier.Hit<V> found, LoadLease lease, int weight) {
    flight.widen(found.tags());
    // As finishAhead, without a lambda: this is every L2 hit's path.
    boolean opened = L1Upkeep.holdUpkeep();
    try {
      if (!admit(k, found.value(), found.tags(), flight.stamp, weight)) {
        return false;
      }
      if (lease != null) {
        lease.send();
      }
      finish(k, flight, found.value());
      return true;
    } finally {
      L1Upkeep.runHeldUpkeep(opened);
    }
  }

  /**
   * Runs the installs and completions of {@code finishing} ahead of the L1 upkeep they schedule, which then runs on
   * this thread ({@link L1Upkeep#fillAfterLock}): the readers waiting for the flights get their values at once, and
   * only this thread, which loaded, waits while that upkeep expires a backlog of entries past their TTL, however many.
   * No user code runs inside. Values are decoded and weighed before, since a {@code getAsync} that user code waited
   * on there would complete only once the scope closes; and a {@code getAsync} caller's future, whose callbacks run
   * on the completing thread, completes after the upkeep ({@link Waits#forAsync}), so such a caller still waits for
   * it.
   */
  private static boolean finishAhead(BooleanSupplier finishing) {
    return L1Upkeep.fillAfterLock(finishing);
  }

  /**
   * Whether an entry read from the L2 after {@code stamp} may be served: the L1 took it (no invalidation that covers
   * it runs or ended since), or only another instance's invalidation overtook the read (see {@link #served}). An L1
   * that keeps nothing is not filled (Caffeine would insert and evict the entry: most of the cost of a bulk read
   * served by the L2); then only the second question is asked.
   */
  boolean admit(String k, V value, Tags tags, long stamp) {
    return admit(k, value, tags, stamp, l1.weigh(k, value));
  }

  /** As {@link #admit(String, Object, Tags, long)}, the value weighed already ({@link L1Tier#weigh}). */
  private boolean admit(String k, V value, Tags tags, long stamp, int weight) {
    return l1.install(k, value, tags, stamp, 0, weight) || !log.coveredLocally(k, tags, stamp);
  }

  /** What waiting for another instance's load gave: the last read, and whether this instance took the lease over. */
  private record OtherLoad(L2Read read, boolean leaseTaken) {}

  /**
   * Another instance holds the load lease: polls the L2 until its value appears, at most for the lease's length.
   * Each poll that misses also tries to take the lease, so that when the holder fails, gives up, or had its write
   * refused, a waiter loads at once instead of waiting out the lease.
   */
  private OtherLoad awaitOtherLoad(String k, LoadLease lease) {
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
      if (lease.tryTake()) {
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
   * The keys a {@code getAll} owns: {@code batch} positions {@code at[j]}, each with its flight, and what loads them
   * (the tags of what it returns).
   */
  record Owned<K, V>(
      Batch<K> batch,
      int[] at,
      Flight<V>[] flights,
      Tags tags,
      Function<? super Set<K>, ? extends Map<K, V>> bulkLoader) {}

  /**
   * Loads the keys a {@code getAll} owns, {@code owned} {@code [0, count)}:
   * one L2 read for all, one bulk loader call for what the L2 misses; completes every flight, whatever happens.
   *
   * @param versions what the caller's L2 read before registering the flights found for each (made after
   *     {@code stamp}; {@link #NO_VERSION} where it failed), when no flight finished since; null to read the L2 now,
   *     after a stamp taken now
   */
  void loadAll(Owned<K, V> owned, int count, long[] versions, long stamp) {
    Batch<K> batch = owned.batch();
    int[] at = owned.at();
    Flight<V>[] flights = owned.flights();
    if (versions == null) {
      // Taken after every flight was registered, as a single load takes it.
      stamp = log.stamp();
    }
    for (int j = 0; j < count; j++) {
      flights[j].stamp = stamp;
    }
    try {
      int pending = count;
      if (versions == null) {
        versions = new long[count];
        java.util.Arrays.fill(versions, NO_VERSION);
        if (l2Trusted()) {
          pending = servedFromL2(batch, at, flights, count, versions);
        }
      }
      if (pending > 0) {
        loadMissing(owned, pending, versions, stamp);
      }
    } catch (Throwable t) {
      // Every flight not finished yet: those the L2 served are done, and so are those before a failure midway.
      for (int j = 0; j < count; j++) {
        if (!flights[j].result.isDone()) {
          this.flights.remove(batch.keys[at[j]], flights[j]);
          flights[j].result.completeExceptionally(t);
        }
      }
    }
  }

  /**
   * Reads the flights' keys from the L2 and finishes those it serves; the others are compacted to the front of
   * {@code at}, {@code flights} and {@code versions} (their read's version).
   *
   * @return how many the L2 did not serve
   */
  private int servedFromL2(Batch<K> batch, int[] at, Flight<V>[] flights, int count, long[] versions) {
    L2Read[] reads = l2.getAll(batch.keysAt(at, count));
    if (reads == null) {
      return count;
    }
    // Decoded and weighed (user code) before the scope, up to the first failure, which is rethrown once the keys
    // before it were served.
    @SuppressWarnings("unchecked")
    L2Tier.Hit<V>[] hits = new L2Tier.Hit[count];
    int[] weights = new int[count];
    int ready = 0;
    RuntimeException failure = null;
    try {
      for (; ready < count; ready++) {
        hits[ready] = l2.decode(reads[ready]);
        weights[ready] = hits[ready] == null ? 1 : l1.weigh(batch.keys[at[ready]], hits[ready].value());
      }
    } catch (RuntimeException e) {
      failure = e;
    }
    int left = 0;
    // One upkeep for the batch, after every flight it served finished (see finishAhead).
    boolean opened = L1Upkeep.holdUpkeep();
    try {
      for (int j = 0; j < ready; j++) {
        String k = batch.keys[at[j]];
        if (hits[j] != null && served(k, flights[j], hits[j], null, weights[j])) {
          continue;
        }
        at[left] = at[j];
        flights[left] = flights[j];
        versions[left++] = reads[j].version();
      }
    } finally {
      L1Upkeep.runHeldUpkeep(opened);
    }
    if (failure != null) {
      throw failure;
    }
    return left;
  }

  /**
   * Calls the bulk loader for {@code at[0, count)}, writes back what it returned (conditionally, where a version is
   * known), installs it and finishes the flights.
   */
  private void loadMissing(Owned<K, V> owned, int count, long[] versions, long stamp) {
    Batch<K> batch = owned.batch();
    int[] at = owned.at();
    Flight<V>[] flights = owned.flights();
    Tags tags = owned.tags();
    Function<? super Set<K>, ? extends Map<K, V>> bulkLoader = owned.bulkLoader();
    Set<K> toLoad = new LinkedHashSet<>();
    for (int j = 0; j < count; j++) {
      toLoad.add(batch.originals[at[j]]);
    }
    Map<K, V> loaded = timedLoad(() -> bulkLoader.apply(Collections.unmodifiableSet(toLoad)));
    Objects.requireNonNull(loaded, "bulkLoader returned null");
    List<V> values = new ArrayList<>(count);
    Map<String, L2Write> present = new HashMap<>();
    Map<String, L2Write> absent = new HashMap<>();
    for (int j = 0; j < count; j++) {
      String k = batch.keys[at[j]];
      V value = loaded.get(batch.originals[at[j]]);
      values.add(value);
      // Encoded even when the L2 is not written now: a value the codec rejects fails the same way either way.
      L2Entry encoded = l2 == null || (value == null && !cacheAbsent) ? null : l2.encode(value, tags);
      if (versions[j] != NO_VERSION && encoded != null && l2.fits(encoded)) {
        (value == null ? absent : present).put(k, new L2Write(encoded, versions[j]));
      }
    }
    Set<String> shadowing = Set.of();
    if (!(present.isEmpty() && absent.isEmpty()) && l2Trusted()) {
      Collection<String> writtenPresent = l2.putIfCurrent(present, false);
      Collection<String> writtenAbsent = l2.putIfCurrent(absent, true);
      shadowing = heldByL2(refused(present, writtenPresent, absent, writtenAbsent));
    }
    // Weighed (user code) before the scope, up to the first failure, which is rethrown once the keys before it were
    // installed and finished.
    int[] weights = new int[count];
    int ready = 0;
    RuntimeException failure = null;
    try {
      for (; ready < count; ready++) {
        V value = values.get(ready);
        weights[ready] = value != null || cacheAbsent ? l1.weigh(batch.keys[at[ready]], value) : 1;
      }
    } catch (RuntimeException e) {
      failure = e;
    }
    int weighed = ready;
    Set<String> shadowed = shadowing;
    finishAhead(() -> {
      for (int j = 0; j < weighed; j++) {
        String k = batch.keys[at[j]];
        V value = values.get(j);
        // As a single load: a value refused while the L2 holds another is not kept here, where it would hide that.
        if ((value != null || cacheAbsent) && !shadowed.contains(k)) {
          l1.install(k, value, tags, stamp, 0, weights[j]);
        } else if (shadowed.contains(k)) {
          flights[j].shadowed = true;
        }
        finish(k, flights[j], value);
      }
      return true;
    });
    if (failure != null) {
      throw failure;
    }
  }

  /** The keys of both conditional writes that the L2 refused (none when it failed: it cannot tell). */
  private static Set<String> refused(
      Map<String, L2Write> present, Collection<String> writtenPresent, Map<String, L2Write> absent,
      Collection<String> writtenAbsent) {
    Set<String> refused = new LinkedHashSet<>();
    if (writtenPresent != null) {
      present.keySet().stream().filter(k -> !writtenPresent.contains(k)).forEach(refused::add);
    }
    if (writtenAbsent != null) {
      absent.keySet().stream().filter(k -> !writtenAbsent.contains(k)).forEach(refused::add);
    }
    return refused;
  }

  /** Of {@code keys}, those the L2 holds a value (or absence) for now, in one bulk read; none when it cannot tell. */
  private Set<String> heldByL2(Set<String> keys) {
    if (keys.isEmpty()) {
      return Set.of();
    }
    String[] asked = keys.toArray(String[]::new);
    L2Read[] reads = l2.getAll(asked);
    if (reads == null) {
      return Set.of();
    }
    Set<String> held = new HashSet<>();
    for (int i = 0; i < asked.length && i < reads.length; i++) {
      if (reads[i] != null && reads[i].isHit()) {
        held.add(asked[i]);
      }
    }
    return held;
  }
}
