package dev.tiercache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tiercache.codec.ValueCodecs;
import dev.tiercache.spi.InvalidationBus;
import dev.tiercache.spi.InvalidationMessage;
import dev.tiercache.testkit.InMemoryBus;
import dev.tiercache.testkit.InMemoryL2Store;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Several {@link TieredCache} instances ("nodes") of one cache, sharing one L2 and one bus, as several application
 * instances would: puts and invalidations reach the other nodes, a node that may have missed messages stops trusting
 * its L1, a node ignores its own messages, and a closed node leaves the bus.
 *
 * <p>Whether a read was served by a node's L1 is measured exactly: an L1 hit neither reads the L2 nor calls the
 * loader, an L1 miss does at least one of the two ({@link Node#belowL1}). The in-memory bus delivers synchronously, so
 * no waiting is needed; background L1 sweeps do not change what a read returns.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class MultiNodeTest {

  static final String NAME = "multi-node";

  /** Whether the nodes share an L2, or are L1-only and kept coherent by the bus alone. */
  enum Mode {
    SHARED_L2,
    L1_ONLY
  }

  /** A store, a bus, a "database" that the loaders read, and the nodes built on them. */
  static final class Cluster implements AutoCloseable {
    final Mode mode;
    final InMemoryL2Store l2;
    final InMemoryBus bus = new InMemoryBus();
    final Map<String, String> db = new ConcurrentHashMap<>();
    final List<Node> nodes = new ArrayList<>();

    Cluster(Mode mode) {
      this.mode = mode;
      this.l2 = mode == Mode.SHARED_L2 ? new InMemoryL2Store() : null;
    }

    Node node(String id, InvalidationStrategy... custom) {
      TieredCacheBuilder<String, String> builder = TieredCache.<String, String>builder(NAME).bus(bus);
      if (l2 != null) {
        builder.l2(l2).valueCodec(ValueCodecs.string());
      }
      for (InvalidationStrategy strategy : custom) {
        builder.invalidationStrategy(strategy);
      }
      TieredCache<String, String> cache = builder.build();
      Node node = new Node(id, cache, this);
      nodes.add(node);
      return node;
    }

    /** What the L2 serves for a key, read directly from the store (null on a miss). */
    String l2Value(String key) {
      var read = l2.get(NAME, key).join();
      return read.isHit() ? ValueCodecs.string().decode(read.entry().value()) : null;
    }

    @Override
    public void close() {
      for (Node node : nodes) {
        node.cache.close();
      }
    }
  }

  /** One node, with a loader that reads the cluster's database and counts its calls. */
  static final class Node {
    final String id;
    final TieredCache<String, String> cache;
    final Cluster cluster;
    final AtomicInteger loads = new AtomicInteger();
    final List<String> loadedKeys = new CopyOnWriteArrayList<>();
    /** Reads (through {@link #get}) that the L1 did not answer. */
    int belowL1;

    Node(String id, TieredCache<String, String> cache, Cluster cluster) {
      this.id = id;
      this.cache = cache;
      this.cluster = cluster;
    }

    String get(String key) {
      return get(key, Tags.empty());
    }

    String get(String key, Tags tags) {
      int readsBefore = cluster.l2 == null ? 0 : cluster.l2.reads.get();
      int loadsBefore = loads.get();
      String value =
          cache.get(
              key,
              tags,
              k -> {
                loads.incrementAndGet();
                loadedKeys.add(k);
                return cluster.db.get(k);
              });
      int readsAfter = cluster.l2 == null ? 0 : cluster.l2.reads.get();
      if (loads.get() != loadsBefore || readsAfter != readsBefore) {
        belowL1++;
      }
      return value;
    }

    /** Forgets the counts, so that the next reads can be measured alone. */
    void resetCounts() {
      loads.set(0);
      loadedKeys.clear();
      belowL1 = 0;
    }

    @Override
    public String toString() {
      return "node " + id;
    }
  }

  /** Records what the bus carries, as one more subscriber. */
  static final class BusSpy implements InvalidationBus.Listener {
    final List<InvalidationMessage> messages = new CopyOnWriteArrayList<>();

    @Override
    public void onMessage(InvalidationMessage message) {
      messages.add(message);
    }

    @Override
    public void onSuspect(String reason) {}

    List<InvalidationMessage.Item> items() {
      return messages.stream().flatMap(m -> m.invalidations().stream()).toList();
    }
  }

  private Cluster cluster;

  @AfterEach
  void closeNodes() {
    if (cluster != null) {
      cluster.close();
    }
  }

  private Cluster cluster(Mode mode) {
    cluster = new Cluster(mode);
    return cluster;
  }

  /** Puts {@code "v1:" + key} in the database and reads every key on every node, in order. */
  private static void fill(Cluster cluster, List<String> keys, Node... nodes) {
    for (String key : keys) {
      cluster.db.put(key, "v1:" + key);
    }
    for (Node node : nodes) {
      for (String key : keys) {
        assertThat(node.get(key)).as("%s reads %s", node, key).isEqualTo("v1:" + key);
      }
    }
    assertServedFromL1(keys, nodes);
  }

  /** Asserts that every node answers every key from its L1, and resets the counts. */
  private static void assertServedFromL1(List<String> keys, Node... nodes) {
    for (Node node : nodes) {
      node.resetCounts();
      for (String key : keys) {
        node.get(key);
      }
      assertThat(node.belowL1).as("reads of %s that its L1 did not answer", node).isZero();
      node.resetCounts();
    }
  }

  // ---- puts ----

  @Test
  void aPutOnOneNodeIsWhatTheOthersReadNext() {
    Cluster c = cluster(Mode.SHARED_L2);
    Node a = c.node("A");
    Node b = c.node("B");
    Node n3 = c.node("C");
    fill(c, List.of("k", "other"), a, b, n3);

    a.cache.put("k", "v2:k");

    assertThat(b.get("k")).isEqualTo("v2:k");
    assertThat(b.belowL1).isEqualTo(1);
    assertThat(b.loads.get()).as("served by the L2, which holds the put").isZero();
    assertThat(n3.get("k")).isEqualTo("v2:k");
    assertThat(n3.belowL1).isEqualTo(1);
    assertThat(n3.loads.get()).isZero();
    assertThat(a.get("k")).isEqualTo("v2:k");
    assertThat(a.belowL1).as("the putting node keeps what it put in its L1").isZero();
    assertServedFromL1(List.of("other"), a, b, n3);
  }

  @Test
  void aTaggedPutOnOneNodeIsCoveredByATagInvalidationFromAnother() {
    Cluster c = cluster(Mode.SHARED_L2);
    Node a = c.node("A");
    Node b = c.node("B");
    Node n3 = c.node("C");
    fill(c, List.of("k", "other"), a, b, n3);

    a.cache.put("k", "v2:k", Tags.of("t"));
    assertThat(b.get("k")).isEqualTo("v2:k"); // B's L1 now holds the put, with its tag, from the L2
    assertThat(a.get("k")).isEqualTo("v2:k");
    c.db.put("k", "v3:k");
    n3.cache.invalidate(Invalidation.tag("t"));

    for (Node node : List.of(b, a, n3)) {
      node.resetCounts();
      assertThat(node.get("k")).as("%s reads k", node).isEqualTo("v3:k");
      assertThat(node.belowL1).as("%s", node).isEqualTo(1);
    }
    assertServedFromL1(List.of("other"), a, b, n3);
  }

  @Test
  void l1OnlyNodesPropagatePutsAndInvalidations() {
    Cluster c = cluster(Mode.L1_ONLY);
    Node a = c.node("A");
    Node b = c.node("B");
    Node n3 = c.node("C");
    List<String> keys = List.of("user:1", "user:2", "order:1");
    fill(c, keys, a, b, n3);
    assertThat(c.bus.subscribers(NAME)).isEqualTo(3);

    c.db.put("user:1", "v2:user:1");
    a.cache.put("user:1", "v2:user:1");
    assertThat(b.get("user:1")).isEqualTo("v2:user:1");
    assertThat(b.loadedKeys).containsExactly("user:1");
    assertThat(n3.get("user:1")).isEqualTo("v2:user:1");
    assertThat(n3.loadedKeys).containsExactly("user:1");
    assertThat(a.get("user:1")).isEqualTo("v2:user:1");
    assertThat(a.loads.get()).isZero();
    assertServedFromL1(keys, a, b, n3);

    c.db.put("user:2", "v2:user:2");
    b.cache.invalidate(Invalidation.prefix("user:2"));
    for (Node node : List.of(a, n3, b)) {
      assertThat(node.get("user:2")).as("%s", node).isEqualTo("v2:user:2");
      assertThat(node.loadedKeys).as("%s", node).containsExactly("user:2");
      node.resetCounts();
    }
    assertServedFromL1(keys, a, b, n3);
  }

  // ---- a load in flight on one node while another node changes the key ----

  /** What node A does to key {@code "k"} (tag {@code "t"}) while node B is loading it. */
  enum Change {
    INVALIDATE_KEY,
    INVALIDATE_PREFIX,
    INVALIDATE_TAG,
    INVALIDATE_PATTERN,
    PUT;

    void apply(TieredCache<String, String> cache) {
      switch (this) {
        case INVALIDATE_KEY -> cache.invalidate(Invalidation.key("k"));
        case INVALIDATE_PREFIX -> cache.invalidate(Invalidation.prefix("k"));
        case INVALIDATE_TAG -> cache.invalidate(Invalidation.tag("t"));
        case INVALIDATE_PATTERN -> cache.invalidate(Invalidation.pattern("?"));
        case PUT -> cache.put("k", "v2:k", Tags.of("t"));
      }
    }
  }

  /**
   * B misses, its loader reads the old row, and before the loader returns the row changes and A applies the change.
   * B's late result must reach neither B's L1 nor the L2 (DESIGN.md invariant 1, load-then-put, with the late writer
   * on another node).
   */
  @ParameterizedTest
  @EnumSource(Change.class)
  void aLoadInFlightOnOneNodeDoesNotInstallWhatAnotherNodeChangedMeanwhile(Change change) {
    Cluster c = cluster(Mode.SHARED_L2);
    Node a = c.node("A");
    Node b = c.node("B");
    Node n3 = c.node("C");
    c.db.put("k", "v1:k");

    String first =
        b.cache.get(
            "k",
            Tags.of("t"),
            k -> {
              String old = c.db.get(k);
              c.db.put(k, "v2:k");
              change.apply(a.cache);
              return old;
            });

    assertThat(first).as("the read that began before the change may see the old row").isEqualTo("v1:k");
    assertThat(c.l2Value("k")).as("the L2 after B's late write-back").isIn(null, "v2:k");
    b.resetCounts();
    assertThat(b.get("k", Tags.of("t"))).isEqualTo("v2:k");
    assertThat(b.belowL1).as("B did not install its stale load").isEqualTo(1);
    assertThat(n3.get("k", Tags.of("t"))).isEqualTo("v2:k");
    assertThat(a.get("k", Tags.of("t"))).isEqualTo("v2:k");
  }

  // ---- lost messages ----

  @ParameterizedTest
  @EnumSource(Mode.class)
  void aSuspectedBusClearsTheL1OfEveryNode(Mode mode) {
    Cluster c = cluster(mode);
    Node a = c.node("A");
    Node b = c.node("B");
    List<String> keys = List.of("k1", "k2", "k3");
    fill(c, keys, a, b);

    c.bus.suspect(NAME);

    for (Node node : List.of(a, b)) {
      for (String key : keys) {
        assertThat(node.get(key)).isEqualTo("v1:" + key);
      }
      assertThat(node.belowL1).as("%s distrusts its whole L1", node).isEqualTo(keys.size());
    }
    if (mode == Mode.L1_ONLY) {
      assertThat(a.loadedKeys).containsExactlyInAnyOrderElementsOf(keys);
      assertThat(b.loadedKeys).containsExactlyInAnyOrderElementsOf(keys);
    }
    assertServedFromL1(keys, a, b);
  }

  @Test
  void aMessageWithAnInvalidArgumentClearsTheL1() {
    Cluster c = cluster(Mode.L1_ONLY);
    Node b = c.node("B");
    List<String> keys = List.of("k1", "k2");
    fill(c, keys, b);

    // An empty prefix is refused by the strategy: the receiver cannot apply it, so it must not trust its L1.
    c.bus.publish(
        NAME,
        new InvalidationMessage(
            "some-other-node", 1, System.currentTimeMillis(), List.of(new InvalidationMessage.Item("prefix", ""))));

    for (String key : keys) {
      b.get(key);
    }
    assertThat(b.loadedKeys).containsExactlyInAnyOrderElementsOf(keys);
  }

  // ---- own messages ----

  @Test
  void aNodeIgnoresItsOwnPutMessage() {
    Cluster c = cluster(Mode.SHARED_L2);
    Node a = c.node("A");
    fill(c, List.of("k"), a);
    int published = c.bus.published.get();

    a.cache.put("k", "v2:k");

    assertThat(c.bus.published.get()).as("the put was announced").isEqualTo(published + 1);
    assertThat(a.get("k")).isEqualTo("v2:k");
    assertThat(a.belowL1).as("its own message did not drop what it just put").isZero();
  }

  @ParameterizedTest
  @EnumSource(Mode.class)
  void aNodeIgnoresItsOwnMessages(Mode mode) {
    Cluster c = cluster(mode);
    Node a = c.node("A");
    Node b = c.node("B");
    List<String> keys = List.of("k1", "k2", "k3");
    fill(c, keys, a, b);

    a.cache.invalidate(Invalidation.key("x1"));
    a.cache.invalidate(Invalidation.key("x2"));
    a.cache.invalidate(Invalidation.prefix("x3"));

    for (String key : keys) {
      assertThat(a.get(key)).isEqualTo("v1:" + key);
      b.get(key);
    }
    assertThat(a.belowL1).as("A's entries that its own invalidations do not cover survive").isZero();
    assertThat(a.loads.get()).isZero();
    assertThat(b.belowL1).as("B's entries that A's invalidations do not cover survive too").isZero();
  }

  // ---- close ----

  @Test
  void closeUnsubscribesAndLaterCallsThrow() {
    Cluster c = cluster(Mode.SHARED_L2);
    Node a = c.node("A");
    Node b = c.node("B");
    Node n3 = c.node("C");
    fill(c, List.of("k1", "k2"), a, b, n3);
    assertThat(c.bus.subscribers(NAME)).isEqualTo(3);

    b.cache.close();

    assertThat(c.bus.subscribers(NAME)).isEqualTo(2);
    TieredCache<String, String> closed = b.cache;
    assertFailsWithIllegalState(() -> closed.get("k1", k -> "x"));
    assertFailsWithIllegalState(() -> closed.get("k1", Tags.empty(), k -> "x"));
    assertFailsWithIllegalState(() -> closed.getAsync("k1", Tags.empty(), k -> "x"));
    assertFailsWithIllegalState(() -> closed.getIfPresent("k1"));
    assertFailsWithIllegalState(() -> closed.getAll(List.of("k1"), ks -> Map.of()));
    assertFailsWithIllegalState(() -> closed.getAllAsync(List.of("k1"), ks -> Map.of()));
    assertFailsWithIllegalState(() -> run(() -> closed.put("k1", "x")));
    assertFailsWithIllegalState(() -> run(() -> closed.put("k1", "x", Tags.of("t"))));
    assertFailsWithIllegalState(() -> closed.putAsync("k1", "x", Tags.empty()));
    assertFailsWithIllegalState(() -> run(() -> closed.invalidate(Invalidation.key("k1"))));
    assertFailsWithIllegalState(() -> closed.invalidateAsync(Invalidation.prefix("k")));
    assertFailsWithIllegalState(() -> run(() -> closed.invalidateKey("k1")));
    closed.close(); // closing twice is harmless
    assertThat(c.bus.subscribers(NAME)).isEqualTo(2);

    // The bus and the L2 were not closed with it: the other nodes still talk.
    c.db.put("k1", "v2:k1");
    a.cache.invalidate(Invalidation.key("k1"));
    n3.resetCounts();
    assertThat(n3.get("k1")).isEqualTo("v2:k1");
    assertThat(n3.belowL1).isEqualTo(1);
    assertThat(c.l2Value("k1")).isEqualTo("v2:k1");
  }

  private static Object run(Runnable call) {
    call.run();
    return null;
  }

  /** The call throws {@link IllegalStateException}, or returns a future that fails with one. */
  private static void assertFailsWithIllegalState(Supplier<?> call) {
    Object result;
    try {
      result = call.get();
    } catch (IllegalStateException expected) {
      return;
    }
    assertThat(result).as("neither threw nor returned a future").isInstanceOf(CompletableFuture.class);
    assertThatThrownBy(() -> ((CompletableFuture<?>) result).get(5, TimeUnit.SECONDS))
        .isInstanceOf(ExecutionException.class)
        .cause()
        .isInstanceOf(IllegalStateException.class);
  }
}
