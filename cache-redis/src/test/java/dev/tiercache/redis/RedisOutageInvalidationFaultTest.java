package dev.tiercache.redis;

import static dev.tiercache.redis.FaultKit.elapsedSince;
import static dev.tiercache.redis.FaultKit.ms;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.tiercache.Invalidation;
import dev.tiercache.InvalidationPendingException;
import dev.tiercache.TieredCacheBuilder;
import dev.tiercache.redis.FaultKit.Database;
import dev.tiercache.redis.FaultKit.Node;
import dev.tiercache.redis.FaultKit.Proxy;
import dev.tiercache.redis.testing.RedisExtension;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.output.StatusOutput;
import io.lettuce.core.protocol.CommandArgs;
import io.lettuce.core.protocol.CommandType;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * DESIGN.md invariants 1 and 2 through an outage (issue 4): an invalidation issued while Redis is unreachable is not
 * lost, it reaches the L2 and every node once Redis is back; and a put whose L2 write failed leaves nothing behind
 * that a later invalidation cannot reach.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class RedisOutageInvalidationFaultTest {

  @RegisterExtension
  static final RedisExtension REDIS = RedisExtension.standalone().withProcessControl();

  private static final Duration CALL_BOUND = FaultKit.L2_TIMEOUT.multipliedBy(2).plus(Duration.ofSeconds(1));
  private static final Duration RECOVERY = Duration.ofSeconds(8);

  private final String name = "outage-" + Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 1);
  private final List<AutoCloseable> resources = new ArrayList<>();
  private final Database database = new Database(Duration.ofMillis(1));
  private final AtomicInteger probes = new AtomicInteger();

  @AfterEach
  void close() throws Exception {
    for (int i = resources.size() - 1; i >= 0; i--) {
      resources.get(i).close();
    }
  }

  private Node node(String label) {
    return node(label, null, b -> {});
  }

  /** A node on Redis directly, or through {@code proxy} so that it alone can be cut off. */
  private Node node(String label, Proxy proxy, Consumer<TieredCacheBuilder<String, String>> settings) {
    Node node = new Node(label, proxy == null ? REDIS.uri() : proxy.uri(), name, settings);
    resources.add(node);
    return node;
  }

  private Proxy proxy() {
    Proxy proxy = new Proxy(REDIS.uri());
    resources.add(proxy);
    return proxy;
  }

  private String read(Node node, String key) {
    return node.cache.get(key, database::load);
  }

  /** Waits until {@code writer}'s puts are read from the L2 by {@code reader}: both talk to Redis again. */
  private void awaitL2Shared(Node writer, Node reader) {
    await()
        .atMost(RECOVERY)
        .pollInterval(Duration.ofMillis(20))
        .until(() -> {
          String key = "probe:" + probes.incrementAndGet();
          return FaultKit.completed(() -> writer.cache.put(key, "p")) && "p".equals(reader.cache.getIfPresent(key));
        });
  }

  @Test
  void anInvalidationDuringARedisOutageTakesEffectOnEveryNodeAfterRecovery() {
    Node a = node("A");
    Node b = node("B");
    String key = "row:1";
    String v1 = database.currentValue(key);
    assertThat(read(a, key)).isEqualTo(v1);
    assertThat(read(b, key)).isEqualTo(v1); // B holds v1 in its L1, and the L2 holds it
    int loads = database.loads.get();
    assertThat(loads).isEqualTo(1);

    REDIS.stop();
    database.update(key);
    long start = System.nanoTime();
    assertThatThrownBy(() -> a.cache.invalidate(Invalidation.key(key)))
        .isInstanceOf(InvalidationPendingException.class);
    long took = elapsedSince(start);
    assertThat(Duration.ofNanos(took)).isLessThan(CALL_BOUND);
    assertThat(a.pending()).as("the invalidation waits for Redis").isGreaterThanOrEqualTo(1);
    // Invariant 1 during the outage: A reads what it invalidated from nowhere.
    assertThat(read(a, key)).isEqualTo(database.currentValue(key));

    REDIS.start();
    long back = System.nanoTime();
    await()
        .atMost(RECOVERY)
        .untilAsserted(() -> assertThat(read(b, key)).isEqualTo(database.currentValue(key)));
    long bFresh = elapsedSince(back);
    await().atMost(RECOVERY).until(() -> a.pending() == 0);
    System.out.println("FAULT outage: invalidate during Redis outage took " + ms(took) + "; B read the new row "
        + ms(bFresh) + " after Redis was back");
    assertThat(read(a, key)).isEqualTo(database.currentValue(key));
  }

  /**
   * The stricter form: only A loses Redis, so nothing else (no restart, no resubscription on B) would make B drop
   * v1. A's queued invalidation, applied and re-published when A is back, is the only thing that can.
   */
  @Test
  void anInvalidationMadeWhileOneNodeIsCutOffReachesTheL2AndTheOtherNodesWhenItReconnects() {
    Proxy proxy = proxy();
    Node a = node("A", proxy, x -> {});
    Node b = node("B");
    String key = "row:2";
    String v1 = database.currentValue(key);
    assertThat(read(a, key)).isEqualTo(v1);
    assertThat(read(b, key)).isEqualTo(v1);
    assertThat(database.loads.get()).isEqualTo(1); // B read the L2

    proxy.cut();
    database.update(key);
    long start = System.nanoTime();
    assertThatThrownBy(() -> a.cache.invalidate(Invalidation.key(key)))
        .isInstanceOf(InvalidationPendingException.class);
    long took = elapsedSince(start);
    assertThat(Duration.ofNanos(took)).isLessThan(CALL_BOUND);
    assertThat(a.pending()).isGreaterThanOrEqualTo(1);
    assertThat(read(a, key)).isEqualTo(database.currentValue(key));
    // Nothing reached Redis or B yet: B still serves v1 (the precondition that makes the rest meaningful).
    assertThat(read(b, key)).isEqualTo(v1);

    proxy.heal();
    long healed = System.nanoTime();
    await()
        .atMost(RECOVERY)
        .untilAsserted(() -> assertThat(read(b, key)).isEqualTo(database.currentValue(key)));
    long bFresh = elapsedSince(healed);
    await().atMost(RECOVERY).until(() -> a.pending() == 0);
    // The L2 lost v1 too: a node that starts now, with an empty L1, reads the new row.
    Node c = node("C");
    assertThat(read(c, key)).isEqualTo(database.currentValue(key));
    System.out.println("FAULT outage: invalidation made while A was cut off reached B " + ms(bFresh)
        + " after A's link healed");
  }

  /**
   * A put while A is cut off cannot reach the L2 and must not stay in A's L1 either (TieredCache#put: "cached
   * nowhere"): A's bus is down too, so a later invalidation on B could not reach that L1 entry. A's staleness bound
   * is long here (availability preferred), so an L1 entry, if there were one, would be served. The put tells its
   * caller it is pending.
   */
  @Test
  void aPutDuringAnOutageLeavesNoValueThatALaterInvalidationOnAnotherNodeCannotReach() {
    Proxy proxy = proxy();
    Node a = node("A", proxy, x -> x.maxStaleness(Duration.ofMinutes(1)));
    Node b = node("B");
    String key = "row:3";
    assertThat(read(a, key)).isEqualTo(database.currentValue(key));
    assertThat(read(b, key)).isEqualTo(database.currentValue(key));

    proxy.cut();
    long v2 = database.update(key);
    long start = System.nanoTime();
    assertThatThrownBy(() -> a.cache.put(key, Database.value(key, v2)))
        .isInstanceOf(InvalidationPendingException.class);
    assertThat(Duration.ofNanos(elapsedSince(start))).isLessThan(CALL_BOUND);
    // B, still on Redis, updates the row and invalidates; A cannot hear it.
    database.update(key);
    b.cache.invalidate(Invalidation.key(key));
    assertThat(read(b, key)).isEqualTo(database.currentValue(key));
    int loads = database.loads.get();
    assertThat(read(a, key)).as("A must not serve its failed put from its L1").isEqualTo(database.currentValue(key));
    assertThat(database.loads.get()).as("A loaded the row").isEqualTo(loads + 1);

    proxy.heal();
    awaitL2Shared(a, b);
    await().atMost(RECOVERY).until(() -> a.pending() == 0);
    // A's deferred supersede of its failed put must not undo B's invalidation either.
    long v4 = database.update(key);
    b.cache.invalidate(Invalidation.key(key));
    await()
        .atMost(RECOVERY)
        .untilAsserted(() -> {
          assertThat(read(a, key)).isEqualTo(Database.value(key, v4));
          assertThat(read(b, key)).isEqualTo(Database.value(key, v4));
        });
  }

  /**
   * A put that timed out on a slow Redis may still be executed by Redis later, after a newer invalidation from B
   * (Redis serves its clients in any order once it is free). A's deferred supersede must remove it again.
   */
  @Test
  void aPutThatTimedOutOnASlowRedisCannotOutliveALaterInvalidation() throws Exception {
    Node a = node("A");
    Node b = node("B");
    Node c = node("C");
    String key = "row:4";
    assertThat(read(b, key)).isEqualTo(database.currentValue(key));
    assertThat(read(c, key)).isEqualTo(database.currentValue(key));

    RedisClient admin = RedisClient.create(REDIS.uri());
    resources.add(() -> admin.shutdown(Duration.ZERO, Duration.ofSeconds(2)));
    StatefulRedisConnection<String, String> connection = admin.connect();
    resources.add(connection);
    RedisFuture<String> sleep = connection.async().dispatch(
        CommandType.DEBUG, new StatusOutput<>(StringCodec.UTF8),
        new CommandArgs<>(StringCodec.UTF8).add("SLEEP").add(1));
    // Wait until the server is really asleep: a get on A times out.
    double errors = a.l2Errors("get");
    await()
        .atMost(Duration.ofSeconds(2))
        .pollDelay(Duration.ZERO)
        .pollInterval(Duration.ofMillis(5))
        .until(() -> {
          a.cache.getIfPresent("probe:" + probes.incrementAndGet());
          return a.l2Errors("get") > errors;
        });
    double putErrors = a.l2Errors("put");
    double invalidateErrors = b.l2Errors("invalidate");
    long v2 = database.update(key);
    // Times out (and says so), but stays queued in Redis's socket.
    assertThatThrownBy(() -> a.cache.put(key, Database.value(key, v2)))
        .isInstanceOf(InvalidationPendingException.class);
    long v3 = database.update(key);
    // Also waits behind the sleep, and says so.
    assertThatThrownBy(() -> b.cache.invalidate(Invalidation.key(key)))
        .isInstanceOf(InvalidationPendingException.class);
    assertThat(sleep.isDone()).as("both calls were made while Redis slept").isFalse();
    assertThat(a.l2Errors("put")).as("A's put timed out").isGreaterThan(putErrors);
    assertThat(b.l2Errors("invalidate")).as("B's invalidation timed out").isGreaterThan(invalidateErrors);
    assertThat(sleep.get(5, TimeUnit.SECONDS)).isEqualTo("OK");

    await()
        .atMost(RECOVERY)
        .untilAsserted(() -> {
          assertThat(a.pending()).isZero();
          assertThat(b.pending()).isZero();
          for (Node node : List.of(a, b, c)) {
            assertThat(read(node, key)).as("%s reads %s", node, key).isEqualTo(Database.value(key, v3));
          }
        });
    // And the L2 itself does not hold the old put: a new node reads the current row.
    Node d = node("D");
    assertThat(read(d, key)).isEqualTo(Database.value(key, v3));
  }
}
