package dev.tiercache.redis.history;

import dev.tiercache.TieredCache;
import dev.tiercache.redis.history.CacheInstances.Instance;
import dev.tiercache.redis.history.Op.Kind;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Drives several cache instances over one {@link VersionedDatabase} while a {@link Fault} is injected, and records
 * the {@link History}. Reads are read-through gets with the key's tags; a write updates the database, then makes one
 * cache call: an invalidation of one of the four kinds covering the key, or a put of the new version. Writes of one
 * key are serialized (a row lock held across the database update and the cache call, as an application's transaction
 * would), so that the history never holds two puts racing each other, which no cache could order.
 */
final class Workload {

  /**
   * The shape of a workload.
   *
   * @param instances cache instances
   * @param threads threads per instance
   * @param keys distinct keys
   * @param writesPerSecond writes per second per instance, spread over its threads; every other operation is a read.
   *     A fixed rate, not a share, so that how long an L1 entry lives between invalidations does not depend on how
   *     fast the machine runs the reads: it must outlive the bound for cross-instance staleness to be observable
   * @param maxLoadDelay a load waits between zero and this after reading the database
   * @param pace each thread parks this long between operations (the machine is shared)
   * @param maxOpsPerThread a bound on the history's size
   */
  record Config(
      int instances,
      int threads,
      int keys,
      int writesPerSecond,
      Duration maxLoadDelay,
      Duration pace,
      int maxOpsPerThread) {

    /**
     * Issue 9's shape (3 instances, 4 threads each, 50 keys, loads of up to 2 ms) with 20 writes per second per
     * instance: an instance then invalidates a given key about once a second itself (key and put writes cover one key,
     * prefix, tag and pattern writes a fifth, a seventh and a tenth of them), so its L1 entries live long enough to
     * show whether it hears of other instances' writes within the bound.
     */
    static Config standard() {
      return new Config(3, 4, 50, 20, Duration.ofMillis(2), Duration.ofMillis(1), 300_000);
    }
  }

  /** A fault, injected from the test's thread while the workload runs. */
  @FunctionalInterface
  interface Fault {
    void inject(FaultContext context) throws Exception;

    Fault NONE = context -> {};
  }

  /** The clock of a run, as a fault sees it. */
  static final class FaultContext {
    private final long runStart;
    private final long runEnd;
    private final History.Recorder recorder;

    FaultContext(long runStart, long runEnd, History.Recorder recorder) {
      this.runStart = runStart;
      this.runEnd = runEnd;
      this.recorder = recorder;
    }

    /** Parks until {@code offset} after the run began (pacing, not waiting for a condition). */
    void at(Duration offset) {
      parkUntil(runStart + offset.toNanos());
    }

    /** Parks for {@code duration}. */
    void hold(Duration duration) {
      parkUntil(System.nanoTime() + duration.toNanos());
    }

    /** Records that {@code what} was in force from {@code from} until now. */
    void window(String what, long from) {
      recorder.fault(what, from, System.nanoTime());
    }

    long runEnd() {
      return runEnd;
    }
  }

  /** Writes by kind: the broad ones (prefix, tag, pattern) a third of them. */
  private static final Kind[] WRITE_KINDS = {
    Kind.KEY, Kind.KEY, Kind.KEY, Kind.PUT, Kind.PUT, Kind.PUT, Kind.PREFIX, Kind.TAG, Kind.PATTERN
  };
  private static final Duration WRITE_LOCK_WAIT = Duration.ofSeconds(2);
  /** How long a worker may take to finish its last operation once told to stop. */
  private static final Duration STOP_WAIT = Duration.ofSeconds(15);

  private final Config config;
  private final Keyspace keys;
  private final ReentrantLock[] rowLocks;

  Workload(Config config) {
    this.config = config;
    this.keys = new Keyspace(config.keys());
    this.rowLocks = new ReentrantLock[config.keys()];
    for (int k = 0; k < rowLocks.length; k++) {
      rowLocks[k] = new ReentrantLock();
    }
  }

  /**
   * Opens the instances, runs the workload for {@code length} with {@code fault} injected, closes the instances and
   * returns the history.
   */
  History run(CacheInstances opener, String cacheName, Duration maxStaleness, Duration length, Fault fault)
      throws Exception {
    History.Recorder recorder = new History.Recorder(config.instances(), config.keys());
    long writeInterval = Duration.ofSeconds(1).toNanos() / Math.max(1, config.writesPerSecond());
    VersionedDatabase database = new VersionedDatabase(config.keys(), recorder, config.maxLoadDelay());
    List<Instance> instances = new ArrayList<>();
    List<Thread> workers = new ArrayList<>();
    Throwable failure = null;
    long opening = System.nanoTime();
    try {
      for (int i = 0; i < config.instances(); i++) {
        instances.add(opener.open(i, cacheName, maxStaleness));
      }
      slow("opening the instances", cacheName, opening);
      long start = System.nanoTime();
      long end = start + length.toNanos();
      for (int i = 0; i < config.instances(); i++) {
        AtomicLong nextWrite = new AtomicLong(start);
        for (int t = 0; t < config.threads(); t++) {
          Worker worker = new Worker(i, instances.get(i).cache(), database, recorder.newThreadLog(), end, nextWrite,
              config.writesPerSecond() > 0 ? writeInterval : Long.MAX_VALUE);
          Thread thread = new Thread(worker, "history-" + cacheName + "-i" + i + "-t" + t);
          thread.setDaemon(true);
          workers.add(thread);
          thread.start();
        }
      }
      try {
        fault.inject(new FaultContext(start, end, recorder));
      } finally {
        parkUntil(end);
      }
    } catch (Throwable t) {
      failure = t;
    } finally {
      // No interrupt: a cache call that sees one may throw, which would be recorded as the product's failure.
      // Each worker checks the deadline itself, and each operation is bounded by the cache's own timeouts.
      long stopDeadline = System.nanoTime() + STOP_WAIT.toNanos();
      for (Thread worker : workers) {
        worker.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(stopDeadline - System.nanoTime())));
        if (worker.isAlive() && failure == null) {
          failure = new IllegalStateException(worker.getName() + " did not finish its operation within "
              + STOP_WAIT + " of the end of the run");
        }
      }
      long closing = System.nanoTime();
      for (Instance instance : instances) {
        try {
          instance.close();
        } catch (Exception e) {
          if (failure == null) {
            failure = e;
          } else {
            failure.addSuppressed(e);
          }
        }
      }
      slow("closing the instances", cacheName, closing);
    }
    if (failure instanceof Exception e) {
      throw e;
    } else if (failure != null) {
      throw (Error) failure;
    }
    return recorder.build();
  }

  private final class Worker implements Runnable {
    private final int instance;
    private final TieredCache<String, String> cache;
    private final VersionedDatabase database;
    private final List<Op> log;
    private final long end;
    private final AtomicLong nextWrite;
    private final long writeInterval;

    Worker(int instance, TieredCache<String, String> cache, VersionedDatabase database, List<Op> log, long end,
        AtomicLong nextWrite, long writeInterval) {
      this.nextWrite = nextWrite;
      this.writeInterval = writeInterval;
      this.instance = instance;
      this.cache = cache;
      this.database = database;
      this.log = log;
      this.end = end;
    }

    @Override
    public void run() {
      ThreadLocalRandom random = ThreadLocalRandom.current();
      for (int n = 0; n < config.maxOpsPerThread() && System.nanoTime() < end; n++) {
        int key = random.nextInt(config.keys());
        if (!writeTurn()) {
          log.add(read(key));
        } else {
          Op write = write(key, WRITE_KINDS[random.nextInt(WRITE_KINDS.length)]);
          if (write != null) {
            log.add(write);
          }
        }
        if (!config.pace().isZero()) {
          LockSupport.parkNanos(config.pace().toNanos());
        }
      }
    }

    /** True for the thread that claims the instance's next write slot. */
    private boolean writeTurn() {
      long due = nextWrite.get();
      long now = System.nanoTime();
      return now >= due && writeInterval != Long.MAX_VALUE
          && nextWrite.compareAndSet(due, Math.max(due + writeInterval, now - writeInterval));
    }

    private Op read(int key) {
      String name = keys.name(key);
      String value = null;
      String error = null;
      long start = System.nanoTime();
      try {
        value = cache.get(name, keys.tags(key), k -> keys.value(key, database.load(key)));
      } catch (Throwable t) {
        error = describe(t);
      }
      long finish = System.nanoTime();
      long version = 0;
      String anomaly = null;
      if (error == null) {
        if (value == null) {
          anomaly = "null";
        } else if (!value.startsWith(name + "@")) {
          anomaly = "another key's value";
        } else {
          try {
            version = Long.parseLong(value.substring(name.length() + 1));
          } catch (NumberFormatException e) {
            anomaly = "unparsable value";
          }
        }
      }
      return Op.read(instance, key, start, finish, version, error, anomaly);
    }

    private Op write(int key, Kind kind) {
      ReentrantLock lock = rowLocks[key];
      try {
        if (!lock.tryLock(WRITE_LOCK_WAIT.toNanos(), TimeUnit.NANOSECONDS)) {
          return null;
        }
      } catch (InterruptedException e) {
        return null; // the run is over
      }
      try {
        long version = database.update(key);
        String error = null;
        long start = System.nanoTime();
        try {
          if (kind == Kind.PUT) {
            cache.put(keys.name(key), keys.value(key, version), keys.tags(key));
          } else {
            cache.invalidate(keys.invalidation(kind, key));
          }
        } catch (Throwable t) {
          error = describe(t);
        }
        return Op.write(instance, key, start, System.nanoTime(), version, kind, keys.covered(kind, key), error);
      } finally {
        lock.unlock();
      }
    }
  }

  /** The exception's class, and its root cause's when it has one: no message, which may carry a key. */
  static String describe(Throwable t) {
    Throwable root = t;
    for (int depth = 0; depth < 20 && root.getCause() != null && root.getCause() != root; depth++) {
      root = root.getCause();
    }
    return root == t
        ? t.getClass().getSimpleName()
        : t.getClass().getSimpleName() + " (cause " + root.getClass().getSimpleName() + ")";
  }

  /** Says so when a phase outside the run took more than a second: it costs CI time. */
  private static void slow(String what, String cacheName, long since) {
    long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - since);
    if (millis > 1_000) {
      System.out.printf("HISTORY %s: %s took %d ms%n", cacheName, what, millis);
    }
  }

  static void parkUntil(long deadline) {
    for (long left = deadline - System.nanoTime(); left > 0; left = deadline - System.nanoTime()) {
      LockSupport.parkNanos(left);
    }
  }
}
