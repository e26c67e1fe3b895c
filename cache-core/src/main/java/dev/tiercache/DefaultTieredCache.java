package dev.tiercache;

import dev.tiercache.codec.KeyCodec;
import dev.tiercache.spi.InvalidationBus;
import dev.tiercache.spi.L2Entry;
import dev.tiercache.spi.L2Read;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The tiered cache: reads through L1, L2 and the loader; writes and invalidates through the log. */
final class DefaultTieredCache<K, V> implements TieredCache<K, V> {

  private static final Logger LOG = LoggerFactory.getLogger(TieredCache.class);


  /** How many reads of the key in flight a putIfAbsent joins, and then looks again, before it gives up. */
  private static final int PUT_IF_ABSENT_ATTEMPTS = 16;

  private final String name;
  private final KeyCodec<? super K> keyCodec;
  private final CacheMetrics metrics;
  private final InvalidationLog log = new InvalidationLog(InvalidationLog.DEFAULT_CAPACITY);
  private final L1Tier<V> l1;
  private final L2Tier<V> l2;
  private final BusLink bus;
  private final Executor executor;
  private final Flights<V> flights = new Flights<>();
  private final Invalidator invalidator;
  private final Waits<V> waits;
  private final KeyRules keyRules;
  private final boolean cachesAbsence;
  private final Loads<K, V> loads;
  private final BulkReads<K, V> bulkReads;
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
    this.executor = settings.executor;
    this.invalidator = new Invalidator(settings, instanceId, log, l1, l2, flights, metrics);
    this.waits = new Waits<>(name, flights, settings.loadTimeout);
    this.keyRules = new KeyRules(settings.maxKeyBytes);
    this.cachesAbsence = settings.negativeTtl != null;
    InvalidationBus storeBus = settings.l2 == null ? null : settings.l2.bus();
    InvalidationBus busToUse = settings.bus != null ? settings.bus : storeBus;
    this.bus = busToUse == null ? null : link(settings, busToUse);
    invalidator.connect(
        bus, bus != null && busToUse == storeBus && settings.l2.announcesInvalidations());
    if (l2 != null && bus == null) {
      LOG.warn("cache '{}' shares an L2 but has no bus: invalidations made on other instances never reach its L1,"
          + " which it serves without any staleness bound; give the store a bus or call bus(...)", name);
    }
    this.loads = new Loads<>(settings, log, l1, l2, bus, flights, invalidator, metrics, instanceId);
    this.bulkReads =
        new BulkReads<>(
            settings.l1.keepsNothing(),
            new BulkReads.Keys<>() {
              @Override
              public String encode(K key) {
                return DefaultTieredCache.this.encode(key);
              }

              @Override
              public Object l1Hit(String key) {
                return DefaultTieredCache.this.l1Hit(key);
              }
            },
            log, l2, flights, waits, loads, metrics);
  }

  @Override
  public String name() {
    return name;
  }

  // ---- reads ----

  // The one- and two-argument reads have their own hit paths rather than calling the fuller forms: those compile to
  // more code than the JIT inlines, and the call cost an L1 hit about a tenth (benchmarks, suite 1).

  @Override
  public V get(K key, Function<? super K, ? extends V> loader) {
    String k = lookupKey(key);
    Object hit = readThroughHit(k, key, Tags.empty(), loader);
    return hit != null ? L1Entry.value(hit) : load(k, key, Tags.empty(), loader);
  }

  @Override
  public V get(K key, Tags tags, Function<? super K, ? extends V> loader) {
    String k = lookupKey(key);
    Object hit = readThroughHit(k, key, tags, loader);
    return hit != null ? L1Entry.value(hit) : load(k, key, tags, loader);
  }

  /** What get does on an L1 miss: joins the key's load in flight, or loads it, and waits. */
  private V load(String k, K key, Tags tags, Function<? super K, ? extends V> loader) {
    keyRules.check(k);
    Flight<V> mine = new Flight<>(tags, true);
    Flight<V> flight = join(k, mine);
    if (flight == mine) {
      loads.load(k, key, mine, loader);
    }
    return await(k, flight);
  }

  @Override
  public CompletableFuture<V> getAsync(K key, Tags tags, Function<? super K, ? extends V> loader) {
    String k = lookupKey(key);
    Object hit = readThroughHit(k, key, tags, loader);
    if (hit != null) {
      return CompletableFuture.completedFuture(L1Entry.value(hit));
    }
    keyRules.check(k);
    Flight<V> mine = new Flight<>(tags, false);
    Flight<V> flight;
    try {
      flight = join(k, mine);
    } catch (IllegalStateException reentry) {
      return CompletableFuture.failedFuture(reentry);
    }
    if (flight == mine) {
      runAsync(k, mine, () -> loads.load(k, key, mine, loader));
    }
    return waits.forAsync(k, flight);
  }

  @Override
  public V getIfPresent(K key) {
    String k = lookupKey(key);
    Object hit = l1Hit(k);
    // A cached absence's value is null, which is what this form returns for one.
    return hit != null ? L1Entry.value(hit) : readPastL1(k, null);
  }

  @Override
  public V getIfPresent(K key, V ifAbsent) {
    String k = lookupKey(key);
    Object hit = l1Hit(k);
    if (hit != null) {
      return L1Entry.isAbsent(hit) ? ifAbsent : L1Entry.value(hit);
    }
    return readPastL1(k, ifAbsent);
  }

  /** What getIfPresent does on an L1 miss: reads the L2 if it is trusted, and fills the L1 with what it found. */
  private V readPastL1(String k, V ifAbsent) {
    keyRules.check(k);
    // Before the trust check (review 10): see BulkReads.readPastL1.
    long stamp = log.stamp();
    if (!l2Trusted()) {
      return null;
    }
    L2Read read = l2.get(k);
    L2Tier.Hit<V> found = read == null ? null : l2.decode(read);
    if (found == null) {
      return null;
    }
    // An invalidation made here that overtook this read may cover what it found: then it is a miss. The one check
    // get and getAll make (an L1 that keeps nothing is not filled).
    if (!loads.admit(k, found.value(), found.tags(), stamp)) {
      return null;
    }
    return found.value() == null ? ifAbsent : found.value();
  }

  @Override
  public CompletableFuture<V> getIfPresentAsync(K key, V ifAbsent) {
    Object hit = l1Hit(encode(key));
    if (hit != null) {
      return CompletableFuture.completedFuture(L1Entry.isAbsent(hit) ? ifAbsent : L1Entry.value(hit));
    }
    if (!l2Trusted()) {
      return CompletableFuture.completedFuture(null);
    }
    try {
      return CompletableFuture.supplyAsync(() -> getIfPresent(key, ifAbsent), executor);
    } catch (RejectedExecutionException e) {
      return CompletableFuture.completedFuture(getIfPresent(key, ifAbsent));
    }
  }

  /** The read-through L1 lookup of get and getAsync: validates the arguments, and refreshes a hit that is due. */
  private Object readThroughHit(String k, K key, Tags tags, Function<? super K, ? extends V> loader) {
    Objects.requireNonNull(tags, "tags");
    Objects.requireNonNull(loader, "loader");
    Object hit = l1Hit(k);
    if (hit != null) {
      refreshIfDue(k, key, tags, hit, loader);
    }
    return hit;
  }

  /**
   * The L1's hit for a key ({@link L1Tier#get}), unless this instance cannot prove its bus is caught up (then the L1
   * is not trusted).
   */
  private Object l1Hit(String k) {
    BusLink link = bus;
    long now = 0;
    if (link != null) {
      // One clock reading for the proof and for expiry: each costs as much as the rest of a hit on some VMs.
      now = System.nanoTime();
      if (!link.l1Servable(now)) {
        return null;
      }
    }
    return l1.get(k, link != null, now);
  }

  /** Whether the L2 may be read and written: there is one, and no invalidation waits to be applied to it. */
  private boolean l2Trusted() {
    return invalidator.l2Trusted();
  }

  /**
   * Starts a background reload of an entry that a read found due for refresh, unless a load of the key is already in
   * flight. Readers keep the current value; a reader that comes after expiry joins the reload.
   */
  private void refreshIfDue(
      String k, K key, Tags tags, Object hit, Function<? super K, ? extends V> loader) {
    if (L1Entry.isAbsent(hit) || !l1.wantsRefresh(hit)) {
      return;
    }
    // The reloaded value carries the caller's tags as a load would (and the old entry's, which can only widen what
    // invalidates it).
    Flight<V> mine = new Flight<>(tags.union(L1Entry.tags(hit)), false);
    mine.refresh = true;
    if (flights.putIfAbsent(k, mine) == null) {
      mine.stamp = log.stamp();
      mine.result.whenComplete((value, failure) -> metrics.refreshed(failure == null));
      runAsync(k, mine, () -> loads.load(k, key, mine, loader));
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
      waits.refuseReentry(existing);
      metrics.coalesced();
      return existing;
    }
    mine.stamp = log.stamp();
    return mine;
  }

  @Override
  public Map<K, V> getAll(
      Iterable<? extends K> keys, Function<? super Set<K>, ? extends Map<K, V>> bulkLoader) {
    return getAll(keys, Tags.empty(), bulkLoader);
  }

  @Override
  public Map<K, V> getAll(
      Iterable<? extends K> keys, Tags tags, Function<? super Set<K>, ? extends Map<K, V>> bulkLoader) {
    return bulkReads.getAll(keys, tags, bulkLoader);
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
    if (entry != null) {
      l2.requireFits(entry);
    }
    invalidator.put(k, value, tags, entry, l1);
  }

  @Override
  public void putAbsent(K key, Tags tags) {
    String k = encode(key);
    Objects.requireNonNull(tags, "tags");
    if (!cachesAbsence) {
      throw new IllegalStateException("cache '" + name + "' caches no absences: its builder set no negativeTtl");
    }
    invalidator.put(k, null, tags, l2 == null ? null : l2.encode(null, tags), l1);
  }

  @Override
  public V putIfAbsent(K key, V value, Tags tags, V ifAbsent) {
    String k = lookupKey(key);
    Objects.requireNonNull(value, "value");
    Objects.requireNonNull(tags, "tags");
    if (l2 != null) {
      // As put: a value that cannot reach the L2 must not be stored in one L1 only while others store theirs.
      l2.requireFits(l2.encode(value, tags));
    }
    for (int attempt = 0; attempt < PUT_IF_ABSENT_ATTEMPTS; attempt++) {
      if (Thread.currentThread().isInterrupted()) {
        // Interrupted while it waited for another read that ended anyway: it stops, as a wait that saw it would.
        throw new CompletionException(new InterruptedException("putIfAbsent was interrupted"));
      }
      Object hit = l1Hit(k);
      if (hit != null) {
        return L1Entry.isAbsent(hit) ? ifAbsent : L1Entry.value(hit);
      }
      keyRules.check(k);
      Flight<V> mine = new Flight<>(tags, true);
      mine.ifAbsent = true;
      Flight<V> flight = join(k, mine);
      if (flight != mine) {
        V present;
        try {
          present = await(k, flight);
        } catch (RuntimeException failed) {
          if (!flight.result.isDone()) {
            throw failed; // this caller was interrupted, or the load timeout passed: its own failure, not the load's
          }
          continue; // the other read's loader failed: nothing is present
        }
        if (flight.shadowed) {
          continue; // its value was not kept: the L2 holds another one, which a look again finds
        }
        if (present != null) {
          return present;
        }
        if (cachesAbsence) {
          return ifAbsent;
        }
        continue; // the read found nothing and cached nothing: try to store again
      }
      // A flight that ended between the L1 check and this one's start may have filled the L1 meanwhile.
      Object filled = l1Hit(k);
      if (filled != null) {
        flights.remove(k, mine);
        mine.result.complete(L1Entry.value(filled));
        return L1Entry.isAbsent(filled) ? ifAbsent : L1Entry.value(filled);
      }
      loads.load(k, key, mine, ignored -> value);
      V present = await(k, mine);
      return mine.ownValue ? null : present == null ? ifAbsent : present;
    }
    throw new IllegalStateException(
        "cache '" + name + "': putIfAbsent met " + PUT_IF_ABSENT_ATTEMPTS + " reads of the key in a row and none left a"
            + " value it could return; try again");
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
    keyRules.checkArgument(invalidation);
    invalidator.invalidate(invalidation);
  }

  @Override
  public CompletableFuture<Void> invalidateAsync(Invalidation invalidation) {
    Objects.requireNonNull(invalidation, "invalidation");
    ensureOpen();
    keyRules.checkArgument(invalidation);
    InvalidationLog.Entry running = invalidator.start(invalidation);
    return runOffCaller(() -> invalidator.complete(invalidation, running));
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
  public CacheStatus status() {
    ensureOpen();
    return new CacheStatus(
        bus == null || bus.l1Servable(),
        invalidator.l2Trusted(),
        invalidator.pendingCount(),
        l2 == null ? "none" : l2.circuitState());
  }

  @Override
  public long estimatedL1Size() {
    ensureOpen();
    return l1.estimatedSize();
  }

  /**
   * Links the bus; if subscribing throws (an Error included), the meters already registered are released before it
   * reaches the builder's caller, who never gets a cache to close.
   */
  private BusLink link(TieredCacheBuilder<K, V> settings, InvalidationBus busToUse) {
    try {
      return new BusLink(settings, instanceId, busToUse, metrics, invalidator::applyLocally, invalidator::clearL1);
    } catch (RuntimeException | Error e) {
      metrics.close();
      throw e;
    }
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    // Each step runs whatever an earlier one threw (a store's or a bus's Error reaches the caller unchanged): the
    // subscription is closed, and the meters are released from the user's registry, once and for all.
    try {
      invalidator.close();
    } finally {
      try {
        if (bus != null) {
          bus.close();
        }
      } finally {
        metrics.close();
        l1.clear();
      }
    }
  }

  /**
   * Encodes a key under one rule for every operation: not null, not empty, well-formed UTF-16 (a lone surrogate
   * would become another key's bytes in Redis), and at most {@code maxKeyBytes} of UTF-8.
   */
  private String encode(K key) {
    String k = lookupKey(key);
    keyRules.check(k);
    return k;
  }

  /**
   * Encodes a key for an L1 lookup, without the key rule: the L1 holds only keys that passed it when they were
   * installed, so a hit needs no check (it scanned every key for lone surrogates on every hit), and a read that
   * misses applies {@link KeyRules#check} before it goes anywhere else.
   */
  private String lookupKey(K key) {
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

  private V await(String k, Flight<V> flight) {
    return waits.await(k, flight);
  }

  @Override
  public String toString() {
    return "TieredCache[" + name + "]";
  }

}
