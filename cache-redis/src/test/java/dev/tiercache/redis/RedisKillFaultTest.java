package dev.tiercache.redis;

import static dev.tiercache.redis.FaultKit.elapsedSince;
import static dev.tiercache.redis.FaultKit.ms;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.tiercache.Invalidation;
import dev.tiercache.redis.FaultKit.Database;
import dev.tiercache.redis.FaultKit.Node;
import dev.tiercache.redis.testing.RedisExtension;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * DESIGN.md invariants 1 and 3 when Redis dies under load: several threads on three nodes read and invalidate while
 * the server is stopped and started again. No exception reaches a caller, every call is bounded, no node reads what
 * its own invalidation removed, the L2 is used again within seconds, and every node ends on the database's rows.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class RedisKillFaultTest {

  @RegisterExtension
  static final RedisExtension REDIS = RedisExtension.standalone().withProcessControl();

  private static final Duration LOADER_COST = Duration.ofMillis(2);
  /** A get makes at most one bounded L2 read and one bounded write-back; an invalidation one bounded L2 call. */
  private static final Duration CALL_BOUND =
      FaultKit.L2_TIMEOUT.multipliedBy(2).plus(LOADER_COST).plus(Duration.ofSeconds(1));

  private static final int THREADS = 4;
  private static final int KEYS = 16;
  private static final Duration LOAD_LIMIT = Duration.ofSeconds(15);
  private static final long OPS_LIMIT_PER_THREAD = 2_000_000;

  private static final int BEFORE = 0;
  private static final int OUTAGE = 1;
  private static final int AFTER = 2;

  private final String name = "kill-" + Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 1);
  private final List<Node> nodes = new ArrayList<>();

  @AfterEach
  void close() {
    nodes.forEach(Node::close);
  }

  private Node node(String label) {
    Node node = new Node(label, REDIS.uri(), name, b -> {});
    nodes.add(node);
    return node;
  }

  /** What the load threads saw, by phase. */
  private static final class Observed {
    final AtomicLongArray maxLatency = new AtomicLongArray(3);
    final AtomicLongArray calls = new AtomicLongArray(3);
    final AtomicLong exceptions = new AtomicLong();
    final AtomicLong staleReads = new AtomicLong();
    /** Writes that told their caller the invalidation is pending (the documented outcome while Redis is down). */
    final AtomicLong pendingWrites = new AtomicLong();
    final List<String> examples = new CopyOnWriteArrayList<>();

    void record(int phase, long nanos) {
      calls.incrementAndGet(phase);
      maxLatency.accumulateAndGet(phase, nanos, Math::max);
    }

    void example(String what) {
      if (examples.size() < 10) {
        examples.add(what);
      }
    }
  }

  @Test
  void killingRedisUnderAMixedLoadSurfacesNoErrorBoundsEveryCallAndHealsWithoutStaleReads() throws Exception {
    Node a = node("A");
    Node b = node("B");
    Node c = node("C");
    Node[] all = {a, b, c};
    Database database = new Database(LOADER_COST);
    List<String> keys = new ArrayList<>();
    for (int i = 0; i < KEYS; i++) {
      keys.add("row:" + i);
    }
    for (Node node : all) {
      for (String key : keys) {
        assertThat(node.cache.get(key, database::load)).isEqualTo(database.currentValue(key));
      }
    }

    // Per node and key: the highest version whose invalidation on that node has returned. A read on that node
    // that starts later must not return an older version (invariant 1).
    Map<String, AtomicLong> floors = new ConcurrentHashMap<>();
    Observed observed = new Observed();
    AtomicInteger phase = new AtomicInteger(BEFORE);
    AtomicBoolean stop = new AtomicBoolean();
    long loadDeadline = System.nanoTime() + LOAD_LIMIT.toNanos();
    CountDownLatch started = new CountDownLatch(THREADS);
    List<Thread> workers = new ArrayList<>();
    for (int t = 0; t < THREADS; t++) {
      Thread worker = new Thread(() -> {
        started.countDown();
        ThreadLocalRandom random = ThreadLocalRandom.current();
        for (long op = 0; op < OPS_LIMIT_PER_THREAD && !stop.get() && System.nanoTime() < loadDeadline; op++) {
          Node node = all[random.nextInt(all.length)];
          String key = keys.get(random.nextInt(KEYS));
          AtomicLong floor = floors.computeIfAbsent(node.label + "/" + key, k -> new AtomicLong());
          int p = phase.get();
          long start = System.nanoTime();
          try {
            if (random.nextInt(100) < 75) {
              long atLeast = floor.get();
              String value = node.cache.get(key, database::load);
              long version = Database.versionOf(value);
              if (version < atLeast) {
                observed.staleReads.incrementAndGet();
                observed.example("stale read on " + node + ": " + value + " after invalidating version " + atLeast);
              }
            } else {
              long version = database.update(key);
              // A pending invalidation is not complete: it sets no floor other nodes must respect yet.
              if (FaultKit.completed(() -> node.cache.invalidate(Invalidation.key(key)))) {
                floor.accumulateAndGet(version, Math::max);
              } else {
                observed.pendingWrites.incrementAndGet();
              }
            }
          } catch (Throwable e) {
            observed.exceptions.incrementAndGet();
            observed.example("exception on " + node + ": " + e);
          } finally {
            observed.record(Math.max(p, phase.get()), System.nanoTime() - start);
          }
        }
      }, "kill-load-" + t);
      worker.setDaemon(true);
      workers.add(worker);
      worker.start();
    }
    assertThat(started.await(5, TimeUnit.SECONDS)).isTrue();

    try {
      // Some load on a healthy Redis first.
      await().atMost(Duration.ofSeconds(5)).until(() -> observed.calls.get(BEFORE) >= 2_000);

      phase.set(OUTAGE);
      long stoppedAt = System.nanoTime();
      REDIS.stop();
      AtomicBoolean breakerOpened = new AtomicBoolean();
      // Keep the load going for at least 1.5 s of outage; the breakers must open meanwhile.
      await()
          .atMost(Duration.ofSeconds(6))
          .pollInterval(Duration.ofMillis(20))
          .until(() -> {
            for (Node node : all) {
              if (node.circuit() == 2) {
                breakerOpened.set(true);
              }
            }
            return breakerOpened.get()
                && observed.calls.get(OUTAGE) >= 1_000
                && elapsedSince(stoppedAt) >= Duration.ofMillis(1_500).toNanos();
          });
      long outage = elapsedSince(stoppedAt);

      REDIS.start();
      long restartedAt = System.nanoTime();
      phase.set(AFTER);

      // Time to heal: Redis back -> the first value one node puts is read by another from the L2, without loading.
      AtomicInteger probes = new AtomicInteger();
      AtomicLong healedAt = new AtomicLong();
      await()
          .atMost(Duration.ofSeconds(8))
          .pollDelay(Duration.ZERO)
          .pollInterval(Duration.ofMillis(10))
          .until(() -> {
            String key = "heal:" + probes.incrementAndGet();
            if (FaultKit.completed(() -> a.cache.put(key, "from-A"))
                && "from-A".equals(b.cache.get(key, k -> "loaded-by-B"))) {
              healedAt.set(System.nanoTime());
              return true;
            }
            return false;
          });
      long heal = healedAt.get() - restartedAt;

      // Then a while of load on the healed cache.
      await()
          .atMost(Duration.ofSeconds(5))
          .until(() -> observed.calls.get(AFTER) >= 2_000 && elapsedSince(healedAt.get()) >= 500_000_000L);
      stop.set(true);
      for (Thread worker : workers) {
        assertThat(FaultKit.join(worker, Duration.ofSeconds(5))).as("%s ended", worker.getName()).isTrue();
      }

      long worst = Math.max(observed.maxLatency.get(BEFORE),
          Math.max(observed.maxLatency.get(OUTAGE), observed.maxLatency.get(AFTER)));
      System.out.println("FAULT kill: outage " + ms(outage) + ", calls before/during/after "
          + observed.calls.get(BEFORE) + "/" + observed.calls.get(OUTAGE) + "/" + observed.calls.get(AFTER));
      System.out.println("FAULT kill: max call latency during outage = " + ms(observed.maxLatency.get(OUTAGE))
          + " (before " + ms(observed.maxLatency.get(BEFORE)) + ", after " + ms(observed.maxLatency.get(AFTER))
          + "; bound " + CALL_BOUND.toMillis() + " ms)");
      System.out.println("FAULT kill: time to heal (Redis back -> first L2 hit across nodes) = " + ms(heal)
          + " (" + probes.get() + " probes)");
      System.out.println("FAULT kill: exceptions surfaced = " + observed.exceptions.get()
          + ", stale reads after own invalidation = " + observed.staleReads.get());

      assertThat(observed.exceptions.get()).as("exceptions that reached callers: %s", observed.examples).isZero();
      assertThat(observed.staleReads.get()).as("stale reads: %s", observed.examples).isZero();
      assertThat(Duration.ofNanos(worst)).isLessThan(CALL_BOUND);
      assertThat(observed.calls.get(OUTAGE)).isGreaterThanOrEqualTo(1_000);

      // Settled: nothing waits for the L2, every breaker is closed, and every node reads every row's current
      // version (from its L1, the L2 or the database) within the bus's propagation delay.
      await()
          .atMost(Duration.ofSeconds(10))
          .untilAsserted(() -> {
            for (Node node : all) {
              assertThat(node.pending()).as("pending on %s", node).isZero();
              assertThat(node.circuit()).as("circuit of %s", node).isZero();
            }
          });
      await()
          .atMost(Duration.ofSeconds(5))
          .untilAsserted(() -> {
            for (Node node : all) {
              for (String key : keys) {
                assertThat(node.cache.get(key, database::load))
                    .as("%s reads %s", node, key)
                    .isEqualTo(database.currentValue(key));
              }
            }
          });
    } finally {
      stop.set(true);
    }
  }

  /**
   * Invariant 1 across a Redis restart: a load on B read the L2 (and its version) before the restart and its
   * database row before an update; after the restart A updates the row and invalidates the key. B's late
   * conditional write must be refused, or A, which invalidated, reads B's old row from the L2.
   */
  @Test
  void aLoadInFlightAcrossARedisRestartCannotWriteItsOldRowIntoTheNewL2() throws Exception {
    Node a = node("A");
    Node b = node("B");
    Database database = new Database(Duration.ZERO);
    String key = "row:restart";
    // Move the bucket's version clock well past what the fresh server will reach in this test.
    for (int i = 0; i < 500; i++) {
      a.cache.put("filler:" + i, "x");
    }

    CountDownLatch loaderRead = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    AtomicReference<String> bResult = new AtomicReference<>();
    AtomicReference<Throwable> bFailure = new AtomicReference<>();
    Thread reader = new Thread(() -> {
      try {
        bResult.set(b.cache.get(key, k -> {
          String row = database.load(k); // the old row
          loaderRead.countDown();
          try {
            if (!release.await(15, TimeUnit.SECONDS)) {
              throw new IllegalStateException("never released");
            }
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
          return row;
        }));
      } catch (Throwable e) {
        bFailure.set(e);
      }
    }, "slow-load-on-B");
    reader.setDaemon(true);
    reader.start();
    assertThat(loaderRead.await(5, TimeUnit.SECONDS)).isTrue();
    assertThat(database.currentValue(key)).isEqualTo(Database.value(key, 1));

    REDIS.restart();
    // Both nodes use the new server: what A puts, B reads from the L2.
    AtomicInteger probes = new AtomicInteger();
    await()
        .atMost(Duration.ofSeconds(10))
        .pollInterval(Duration.ofMillis(20))
        .until(() -> {
          String probe = "probe:" + probes.incrementAndGet();
          return FaultKit.completed(() -> a.cache.put(probe, "p")) && "p".equals(b.cache.getIfPresent(probe));
        });

    database.update(key);
    a.cache.invalidate(Invalidation.key(key));
    await().atMost(Duration.ofSeconds(5)).until(() -> a.pending() == 0 && b.pending() == 0);

    release.countDown();
    assertThat(FaultKit.join(reader, Duration.ofSeconds(5))).isTrue();
    assertThat(bFailure.get()).isNull();
    assertThat(bResult.get()).isEqualTo(Database.value(key, 1)); // it began before the update: fine to return

    // A invalidated after the update: A must not read the old row, and neither may B once the bus delivered.
    assertThat(a.cache.get(key, database::load))
        .as("A reads the row it invalidated; in Redis: %s", rawEntry(key))
        .isEqualTo(Database.value(key, 2));
    await()
        .atMost(Duration.ofSeconds(5))
        .untilAsserted(() -> assertThat(b.cache.get(key, database::load)).isEqualTo(Database.value(key, 2)));
  }

  /** The raw L2 entry of a key and its bucket's version clock, for failure messages. */
  private String rawEntry(String key) {
    KeySpace space = new KeySpace(RedisTierOptions.DEFAULT_NAMESPACE, RedisTierOptions.DEFAULT_STANDALONE_BUCKETS);
    RedisClient raw = RedisClient.create(REDIS.uri());
    try (StatefulRedisConnection<String, String> connection = raw.connect()) {
      return "entry " + connection.sync().get(space.entry(name, key)) + ", bucket clock " + connection.sync().get(space.clock(name, 0));
    } finally {
      raw.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
  }
}
