package dev.tiercache.testkit;

import dev.tiercache.Glob;
import dev.tiercache.spi.L2Entry;
import dev.tiercache.spi.L2Read;
import dev.tiercache.spi.L2Store;
import dev.tiercache.spi.L2Write;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongSupplier;

/**
 * A real, if small, implementation of the L2 contract kept in test scope: the reference the conformance kit checks
 * and the L2 the core's tests run against. Every method takes one lock, so it is linearizable; tag invalidation is
 * logical (checked on read) as a Redis store's would be, prefix and pattern invalidation also remove physically.
 */
public final class InMemoryL2Store implements L2Store {

  private record Stored(L2Entry entry, long writtenAt, long expiresAtNanos) {}

  private record Lease(String owner, long until) {}

  private static final class Namespace {
    final Map<String, Stored> entries = new HashMap<>();
    final Map<String, Long> keyVersions = new HashMap<>();
    final Map<String, Long> tagEpochs = new HashMap<>();
    final Map<String, Long> prefixEpochs = new HashMap<>();
    final Map<Glob, Long> patternEpochs = new HashMap<>();
    final Map<String, Lease> leases = new HashMap<>();
  }

  private final Map<String, Namespace> caches = new HashMap<>();
  private final LongSupplier nanoTime;
  private long clock;
  private volatile boolean down;

  /** How many read calls ({@code get} plus {@code getAll}) the store answered. */
  public final AtomicInteger reads = new AtomicInteger();

  /** How many calls reached the store, failed ones included. */
  public final AtomicInteger attempts = new AtomicInteger();

  /** How many keys were written (conditional writes that were accepted, and unconditional ones). */
  public final AtomicInteger writes = new AtomicInteger();

  /** Creates a store whose TTLs follow {@link System#nanoTime()}. */
  public InMemoryL2Store() {
    this(System::nanoTime);
  }

  /**
   * Creates a store whose TTLs follow a clock of the test's.
   *
   * @param nanoTime the clock
   */
  public InMemoryL2Store(LongSupplier nanoTime) {
    this.nanoTime = nanoTime;
  }

  /**
   * Makes every call fail, as a Redis that is down would.
   *
   * @param down whether the store is down
   */
  public void setDown(boolean down) {
    this.down = down;
  }

  /**
   * Writes an entry behind the cache's back, as another program sharing the store could.
   *
   * @param cache the cache name
   * @param key the key
   * @param entry the entry
   */
  public synchronized void writeRaw(String cache, String key, L2Entry entry) {
    ns(cache).entries.put(key, new Stored(entry, ++clock, Long.MAX_VALUE));
  }

  /**
   * Tells whether the store physically holds a key (whether or not it is logically invalidated).
   *
   * @param cache the cache name
   * @param key the key
   * @return true if an unexpired entry is stored
   */
  public synchronized boolean holds(String cache, String key) {
    Stored stored = ns(cache).entries.get(key);
    return stored != null && !expired(stored);
  }

  @Override
  public CompletableFuture<L2Read> get(String cache, String key) {
    return call(() -> {
      reads.incrementAndGet();
      return new L2Read(valid(ns(cache), key), clock);
    });
  }

  @Override
  public CompletableFuture<L2Read[]> getAll(String cache, String[] keys) {
    return call(() -> {
      reads.incrementAndGet();
      Namespace ns = ns(cache);
      L2Read[] result = new L2Read[keys.length];
      for (int i = 0; i < keys.length; i++) {
        result[i] = new L2Read(valid(ns, keys[i]), clock);
      }
      return result;
    });
  }

  @Override
  public CompletableFuture<Collection<String>> putIfCurrent(
      String cache, Map<String, L2Write> writes, Duration ttl) {
    return call(() -> {
      Namespace ns = ns(cache);
      List<String> written = new ArrayList<>();
      writes.forEach((key, write) -> {
        if (changedSince(ns, key, write.entry(), write.version())) {
          return;
        }
        ns.entries.put(key, new Stored(write.entry(), ++clock, nanoTime.getAsLong() + ttl.toNanos()));
        InMemoryL2Store.this.writes.incrementAndGet();
        written.add(key);
      });
      return written;
    });
  }

  @Override
  public CompletableFuture<Void> put(String cache, String key, L2Entry entry, Duration ttl) {
    return call(() -> {
      Namespace ns = ns(cache);
      long now = ++clock;
      ns.keyVersions.put(key, now);
      ns.entries.put(key, new Stored(entry, now, nanoTime.getAsLong() + ttl.toNanos()));
      writes.incrementAndGet();
      return null;
    });
  }

  @Override
  public CompletableFuture<Boolean> tryLease(String cache, String key, String owner, Duration ttl) {
    return call(() -> {
      Map<String, Lease> leases = ns(cache).leases;
      Lease held = leases.get(key);
      long now = nanoTime.getAsLong();
      if (held != null && now - held.until() < 0) {
        return false;
      }
      leases.put(key, new Lease(owner, now + ttl.toNanos()));
      return true;
    });
  }

  @Override
  public CompletableFuture<Void> releaseLease(String cache, String key, String owner) {
    return call(() -> {
      Map<String, Lease> leases = ns(cache).leases;
      Lease held = leases.get(key);
      if (held != null && held.owner().equals(owner)) {
        leases.remove(key);
      }
      return null;
    });
  }

  @Override
  public CompletableFuture<Void> invalidateKey(String cache, String key) {
    return call(() -> {
      Namespace ns = ns(cache);
      ns.entries.remove(key);
      ns.keyVersions.put(key, ++clock);
      return null;
    });
  }

  @Override
  public CompletableFuture<Void> invalidatePrefix(String cache, String prefix) {
    return call(() -> {
      Namespace ns = ns(cache);
      ns.prefixEpochs.put(prefix, ++clock);
      ns.entries.keySet().removeIf(key -> key.startsWith(prefix));
      return null;
    });
  }

  @Override
  public CompletableFuture<Void> invalidateTag(String cache, String tag) {
    return call(() -> {
      ns(cache).tagEpochs.put(tag, ++clock);
      return null;
    });
  }

  @Override
  public CompletableFuture<Void> invalidatePattern(String cache, String glob) {
    return call(() -> {
      Namespace ns = ns(cache);
      Glob compiled = Glob.compile(glob);
      ns.patternEpochs.put(compiled, ++clock);
      ns.entries.keySet().removeIf(compiled::matches);
      return null;
    });
  }

  private interface Body<T> {
    T run();
  }

  private synchronized <T> CompletableFuture<T> call(Body<T> body) {
    attempts.incrementAndGet();
    if (down) {
      return CompletableFuture.failedFuture(new IllegalStateException("in-memory L2 is down"));
    }
    return CompletableFuture.completedFuture(body.run());
  }

  private Namespace ns(String cache) {
    return caches.computeIfAbsent(cache, c -> new Namespace());
  }

  private L2Entry valid(Namespace ns, String key) {
    Stored stored = ns.entries.get(key);
    if (stored == null || expired(stored)) {
      return null;
    }
    for (String tag : stored.entry().tags()) {
      if (ns.tagEpochs.getOrDefault(tag, 0L) > stored.writtenAt()) {
        return null;
      }
    }
    return stored.entry();
  }

  private boolean expired(Stored stored) {
    return nanoTime.getAsLong() - stored.expiresAtNanos() >= 0;
  }

  private static boolean changedSince(Namespace ns, String key, L2Entry entry, long version) {
    if (ns.keyVersions.getOrDefault(key, 0L) > version) {
      return true;
    }
    Stored current = ns.entries.get(key);
    if (current != null && current.writtenAt() > version) {
      return true; // rewritten since the read, by another load's write-back
    }
    for (String tag : entry.tags()) {
      if (ns.tagEpochs.getOrDefault(tag, 0L) > version) {
        return true;
      }
    }
    for (Map.Entry<String, Long> prefix : ns.prefixEpochs.entrySet()) {
      if (prefix.getValue() > version && key.startsWith(prefix.getKey())) {
        return true;
      }
    }
    for (Map.Entry<Glob, Long> pattern : ns.patternEpochs.entrySet()) {
      if (pattern.getValue() > version && pattern.getKey().matches(key)) {
        return true;
      }
    }
    return false;
  }
}
