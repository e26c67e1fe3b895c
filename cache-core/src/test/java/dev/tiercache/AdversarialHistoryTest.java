package dev.tiercache;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tiercache.testkit.InMemoryBus;
import dev.tiercache.testkit.InMemoryL2Store;
import dev.tiercache.testkit.TestCodec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A concurrent history check: three instances over one InMemoryL2Store and one InMemoryBus, several threads each,
 * a versioned in-memory "database", reads of every kind (get, getAsync, getAll, getIfPresent; refresh-ahead on) and
 * writes of every kind (database update then invalidate by key, prefix, tag, pattern, all, or write-through put),
 * plus bus faults (suspect, a freeze longer than maxStaleness, connection lost and restored) while it runs. Every operation is time-stamped on one
 * clock and checked offline:
 *
 * <ul>
 *   <li>same instance: no read returns a version older than one whose invalidation (or put) completed on that
 *       instance before the read began (invalidate's contract; also for one that threw InvalidationPendingException,
 *       which "took effect here");
 *   <li>other instances: nor older than one whose invalidation returned normally on any instance more than
 *       maxStaleness (plus scheduling slack) before the read began.
 * </ul>
 */
@Timeout(120)
class AdversarialHistoryTest {

  private static final int KEYS = 12;
  private static final int INSTANCES = 3;
  private static final int THREADS_PER_INSTANCE = 3;
  private static final long RUN_NANOS = TimeUnit.SECONDS.toNanos(4);
  private static final int MAX_OPS_PER_THREAD = 200_000;
  private static final Duration MAX_STALENESS = Duration.ofMillis(200);
  private static final long CROSS_SLACK_NANOS = TimeUnit.MILLISECONDS.toNanos(300);

  private record Write(int instance, int key, long version, long start, long end, boolean normal, String kind) {}

  private record Read(int instance, int key, long version, long start, long end, String kind) {}

  private final Map<Integer, AtomicLong> db = new ConcurrentHashMap<>();
  private final ReentrantLock[] rowLocks = new ReentrantLock[KEYS];
  private final Queue<Write> writes = new ConcurrentLinkedQueue<>();
  private final Queue<Read> reads = new ConcurrentLinkedQueue<>();
  private final Queue<Throwable> readFailures = new ConcurrentLinkedQueue<>();

  private static String key(int i) {
    return "k" + i;
  }

  private static Tags tags(int i) {
    return Tags.of("g" + (i % 3));
  }

  private String load(int i) {
    return key(i) + "@" + db.get(i).get();
  }

  private static long versionOf(String value) {
    return Long.parseLong(value.substring(value.indexOf('@') + 1));
  }

  @Test
  void noReadReturnsAVersionOlderThanACompletedInvalidation() throws Exception {
    for (int i = 0; i < KEYS; i++) {
      db.put(i, new AtomicLong());
      rowLocks[i] = new ReentrantLock();
    }
    InMemoryL2Store store = new InMemoryL2Store();
    InMemoryBus bus = new InMemoryBus();
    ExecutorService loaders = Executors.newFixedThreadPool(4);
    List<TieredCache<String, String>> nodes = new ArrayList<>();
    for (int n = 0; n < INSTANCES; n++) {
      nodes.add(TieredCache.<String, String>builder("adv-history").keyCodec(k -> k)
          .l1(l1 -> l1.maximumSize(1_000).expireAfterWrite(Duration.ofMillis(40)))
          .refreshAhead(0.5)
          .l2(store).bus(bus).valueCodec(TestCodec.STRING)
          .maxStaleness(MAX_STALENESS).l2RetryInterval(Duration.ofMillis(20))
          .executor(loaders).build());
    }
    ExecutorService workers = Executors.newFixedThreadPool(INSTANCES * THREADS_PER_INSTANCE + 1);
    CountDownLatch start = new CountDownLatch(1);
    long deadline = System.nanoTime() + RUN_NANOS;
    List<Future<?>> running = new ArrayList<>();
    try {
      for (int n = 0; n < INSTANCES; n++) {
        for (int t = 0; t < THREADS_PER_INSTANCE; t++) {
          int instance = n;
          running.add(workers.submit(() -> {
            start.await(10, TimeUnit.SECONDS);
            run(instance, nodes.get(instance), deadline);
            return null;
          }));
        }
      }
      running.add(workers.submit(() -> {
        start.await(10, TimeUnit.SECONDS);
        faults(bus, deadline);
        return null;
      }));
      start.countDown();
      for (Future<?> f : running) {
        f.get(60, TimeUnit.SECONDS);
      }
    } finally {
      workers.shutdownNow();
      nodes.forEach(TieredCache::close);
      loaders.shutdownNow();
    }

    List<String> report = check();
    System.out.printf("history: %d reads, %d writes, %d read failures%n", reads.size(), writes.size(),
        readFailures.size());
    assertThat(readFailures).as("reads never throw here").isEmpty();
    assertThat(reads.size()).isGreaterThan(1_000);
    assertThat(report).as("stale reads").isEmpty();
  }

  /** Bus faults while the workload runs: a suspected gap, and a connection lost then restored. */
  private void faults(InMemoryBus bus, long deadline) throws InterruptedException {
    for (int round = 0; round < 200 && System.nanoTime() - deadline < 0; round++) {
      Thread.sleep(150); // pacing the fault injector, not waiting for a condition
      if (round % 3 == 0) {
        bus.suspect("adv-history");
      } else if (round % 3 == 1) {
        bus.freeze(); // a frozen Redis: messages and heartbeats held, delivered in order on thaw
        Thread.sleep(MAX_STALENESS.toMillis() * 2); // length of the freeze: longer than the bound
        bus.thaw();
      } else {
        bus.connectionLost("adv-history");
        Thread.sleep(30); // length of the outage
        bus.connectionRestored("adv-history");
      }
    }
  }

  private void run(int instance, TieredCache<String, String> cache, long deadline) {
    ThreadLocalRandom random = ThreadLocalRandom.current();
    for (int op = 0; op < MAX_OPS_PER_THREAD && System.nanoTime() - deadline < 0; op++) {
      int i = random.nextInt(KEYS);
      int dice = random.nextInt(100);
      if (dice < 15) {
        write(instance, cache, i, random.nextInt(7));
      } else {
        read(instance, cache, i, dice % 4);
      }
    }
  }

  private void write(int instance, TieredCache<String, String> cache, int i, int kind) {
    String name;
    Invalidation invalidation;
    switch (kind) {
      case 0 -> { name = "key"; invalidation = Invalidation.key(key(i)); }
      case 1 -> { name = "prefix"; invalidation = Invalidation.prefix(key(i)); }
      case 2 -> { name = "tag"; invalidation = Invalidation.tag("g" + (i % 3)); }
      case 3 -> { name = "pattern"; invalidation = Invalidation.pattern("*" + (i % 10)); }
      case 4 -> { name = "all"; invalidation = Invalidation.all(); }
      default -> { name = "put"; invalidation = null; }
    }
    ReentrantLock row = rowLocks[i];
    long version;
    long start;
    boolean normal = true;
    if (invalidation == null) {
      // Write-through: the database row and the cache are written under the row's lock, as an application must.
      row.lock();
      try {
        version = db.get(i).incrementAndGet();
        start = System.nanoTime();
        try {
          cache.put(key(i), key(i) + "@" + version, tags(i));
        } catch (InvalidationPendingException e) {
          normal = false;
        }
      } finally {
        row.unlock();
      }
    } else {
      row.lock();
      try {
        version = db.get(i).incrementAndGet();
      } finally {
        row.unlock();
      }
      start = System.nanoTime();
      try {
        cache.invalidate(invalidation);
      } catch (InvalidationPendingException e) {
        normal = false;
      }
    }
    writes.add(new Write(instance, i, version, start, System.nanoTime(), normal, name));
  }

  private void read(int instance, TieredCache<String, String> cache, int i, int kind) {
    long start = System.nanoTime();
    try {
      switch (kind) {
        case 0 -> record(instance, i, start, cache.get(key(i), tags(i), k -> load(i)), "get");
        case 1 -> record(instance, i, start,
            cache.getAsync(key(i), tags(i), k -> load(i)).get(10, TimeUnit.SECONDS), "getAsync");
        case 2 -> {
          List<String> keys = new ArrayList<>();
          Map<String, Integer> index = new HashMap<>();
          for (int j = i % 3; j < KEYS; j += 3) {
            keys.add(key(j));
            index.put(key(j), j);
          }
          Map<String, String> got = cache.getAll(keys, tags(i), (Set<String> missing) -> {
            Map<String, String> loaded = new LinkedHashMap<>();
            missing.forEach(k -> loaded.put(k, load(index.get(k))));
            return loaded;
          });
          got.forEach((k, v) -> record(instance, index.get(k), start, v, "getAll"));
        }
        default -> {
          String v = cache.getIfPresent(key(i));
          if (v != null) {
            record(instance, i, start, v, "getIfPresent");
          }
        }
      }
    } catch (Exception | Error e) {
      readFailures.add(e);
    }
  }

  private void record(int instance, int i, long start, String value, String kind) {
    reads.add(new Read(instance, i, versionOf(value), start, System.nanoTime(), kind));
  }

  /** Writes of one key (and instance), by end time, with the newest version seen so far at each point. */
  private static final class Timeline {
    final long[] ends;
    final Write[] newest;

    Timeline(List<Write> ws) {
      ws.sort(Comparator.comparingLong(Write::end));
      ends = new long[ws.size()];
      newest = new Write[ws.size()];
      Write best = null;
      for (int j = 0; j < ws.size(); j++) {
        Write w = ws.get(j);
        if (best == null || w.version() > best.version()) {
          best = w;
        }
        ends[j] = w.end();
        newest[j] = best;
      }
    }

    /** The newest-version write that ended strictly before {@code time}, or null. */
    Write before(long time) {
      int lo = 0;
      int hi = ends.length; // first index with end >= time
      while (lo < hi) {
        int mid = (lo + hi) >>> 1;
        if (ends[mid] - time < 0) {
          lo = mid + 1;
        } else {
          hi = mid;
        }
      }
      return lo == 0 ? null : newest[lo - 1];
    }
  }

  /** Offline check; returns one line per stale read (at most 20 lines, then a count). */
  private List<String> check() {
    Map<String, List<Write>> sameLists = new HashMap<>();
    Map<Integer, List<Write>> crossLists = new HashMap<>();
    for (Write w : writes) {
      sameLists.computeIfAbsent(w.instance() + "/" + w.key(), x -> new ArrayList<>()).add(w);
      if (w.normal()) {
        crossLists.computeIfAbsent(w.key(), x -> new ArrayList<>()).add(w);
      }
    }
    Map<String, Timeline> sameLines = new HashMap<>();
    sameLists.forEach((k, ws) -> sameLines.put(k, new Timeline(ws)));
    Map<Integer, Timeline> crossLines = new HashMap<>();
    crossLists.forEach((k, ws) -> crossLines.put(k, new Timeline(ws)));
    long crossBound = MAX_STALENESS.toNanos() + CROSS_SLACK_NANOS;
    List<String> report = new ArrayList<>();
    int same = 0;
    int cross = 0;
    Map<String, Integer> byKind = new HashMap<>();
    for (Read r : reads) {
      Timeline sl = sameLines.get(r.instance() + "/" + r.key());
      Write sw = sl == null ? null : sl.before(r.start());
      if (sw != null && sw.version() > r.version()) {
        same++;
        byKind.merge("same/" + r.kind() + "/" + sw.kind(), 1, Integer::sum);
        if (report.size() < 20) {
          report.add("same-instance " + r + " after " + sw + " (ended " + (r.start() - sw.end()) / 1000 + " us before)");
        }
        continue;
      }
      Timeline cl = crossLines.get(r.key());
      Write cw = cl == null ? null : cl.before(r.start() - crossBound);
      if (cw != null && cw.version() > r.version()) {
        cross++;
        byKind.merge("cross/" + r.kind() + "/" + cw.kind(), 1, Integer::sum);
        if (report.size() < 20) {
          report.add("cross-instance " + r + " after " + cw + " (ended " + (r.start() - cw.end()) / 1_000_000 + " ms before)");
        }
      }
    }
    if (same + cross > 0) {
      report.add("total: " + same + " same-instance, " + cross + " cross-instance stale reads; by read/write kind: "
          + byKind);
    }
    return report;
  }
}
