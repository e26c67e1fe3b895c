package dev.tiercache;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tiercache.MultiNodeTest.BusSpy;
import dev.tiercache.MultiNodeTest.Cluster;
import dev.tiercache.MultiNodeTest.Mode;
import dev.tiercache.MultiNodeTest.Node;
import dev.tiercache.spi.InvalidationMessage;
import dev.tiercache.spi.L2Store;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Each invalidation strategy (the four built-ins and a custom one) across three nodes sharing one bus, with and
 * without a shared L2: an invalidation on node A makes every node, A included, read the covered keys afresh and keep
 * serving the uncovered ones from its L1, and the L2 stops serving the covered keys.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class InvalidationStrategiesTest {

  /** A custom strategy: every key that ends with the argument. */
  static final InvalidationStrategy SUFFIX =
      new InvalidationStrategy() {
        @Override
        public String name() {
          return "suffix";
        }

        @Override
        public EntryMatcher matcher(String argument) {
          if (argument == null || argument.isEmpty()) {
            throw new IllegalArgumentException("suffix must not be empty");
          }
          return (key, tags) -> key.endsWith(argument);
        }

        @Override
        public CompletableFuture<Void> applyTo(L2Store store, String cache, String argument) {
          return store.invalidatePattern(cache, "*" + Glob.escape(argument));
        }
      };

  /** Keys with their tags, an invalidation, and the keys it covers. */
  record Scenario(String name, Map<String, Tags> keys, Invalidation invalidation, Set<String> covered) {
    @Override
    public String toString() {
      return name;
    }
  }

  private static Scenario scenario(String name, Invalidation invalidation, Set<String> covered, Object... keysAndTags) {
    Map<String, Tags> keys = new LinkedHashMap<>();
    for (int i = 0; i < keysAndTags.length; i += 2) {
      keys.put((String) keysAndTags[i], (Tags) keysAndTags[i + 1]);
    }
    assertThat(keys.keySet()).containsAll(covered);
    return new Scenario(name, keys, invalidation, covered);
  }

  private static final Tags NONE = Tags.empty();

  static List<Scenario> builtInScenarios() {
    return List.of(
        scenario(
            "key",
            Invalidation.key("user:1"),
            Set.of("user:1"),
            "user:1", NONE, "user:10", NONE, "user:2", NONE, "user", NONE),
        scenario(
            "key with glob metacharacters",
            Invalidation.key("k[ab]*"),
            Set.of("k[ab]*"),
            "k[ab]*", NONE, "ka", NONE, "kb", NONE, "k[ab]", NONE, "k[ab]*x", NONE),
        scenario(
            "prefix",
            Invalidation.prefix("user:1"),
            Set.of("user:1", "user:10", "user:1:profile"),
            "user:1", NONE, "user:10", NONE, "user:1:profile", NONE, "user:2", NONE, "order:1", NONE,
            "xuser:1", NONE, "user:", NONE),
        scenario(
            "prefix is literal",
            Invalidation.prefix("a*"),
            Set.of("a*b", "a*"),
            "a*b", NONE, "a*", NONE, "ab", NONE, "a", NONE, "ba*", NONE),
        scenario(
            "tag",
            Invalidation.tag("tenant:7"),
            Set.of("user:1", "user:3"),
            "user:1", Tags.of("tenant:7"), "user:2", Tags.of("tenant:8"),
            "user:3", Tags.of("region:eu", "tenant:7"), "user:4", NONE, "user:5", Tags.of("tenant:77")),
        scenario(
            "pattern",
            Invalidation.pattern("user:*:profile"),
            Set.of("user:1:profile", "user:22:profile"),
            "user:1:profile", NONE, "user:22:profile", NONE, "user:1:settings", NONE, "account:1:profile", NONE,
            "user:profile", NONE, "user:1:profile:old", NONE),
        scenario(
            "all",
            Invalidation.all(),
            Set.of("user:1", "order:2", "*"),
            "user:1", NONE, "order:2", Tags.of("tenant:7"), "*", NONE));
  }

  static Stream<Arguments> builtInScenariosInEveryMode() {
    List<Arguments> arguments = new ArrayList<>();
    for (Scenario scenario : builtInScenarios()) {
      for (Mode mode : Mode.values()) {
        arguments.add(Arguments.of(scenario, mode));
      }
    }
    return arguments.stream();
  }

  private Cluster cluster;

  @AfterEach
  void closeNodes() {
    if (cluster != null) {
      cluster.close();
    }
  }

  @ParameterizedTest(name = "{0}, {1}")
  @MethodSource("builtInScenariosInEveryMode")
  void anInvalidationOnOneNodeReachesEveryNodeAndTheL2(Scenario scenario, Mode mode) {
    cluster = new Cluster(mode);
    Node a = cluster.node("A");
    Node b = cluster.node("B");
    Node c = cluster.node("C");

    invalidateOnAAndCheckEveryNode(scenario, a, b, c);
  }

  @ParameterizedTest
  @EnumSource(Mode.class)
  void aCustomStrategyTravelsOnTheBusAndAppliesOnEveryNode(Mode mode) {
    cluster = new Cluster(mode);
    Node a = cluster.node("A", SUFFIX);
    Node b = cluster.node("B", SUFFIX);
    Node c = cluster.node("C", SUFFIX);
    BusSpy spy = new BusSpy();
    cluster.bus.subscribe(MultiNodeTest.NAME, spy);
    Scenario scenario =
        scenario(
            "suffix",
            Invalidation.of(SUFFIX, ":profile"),
            Set.of("user:1:profile", "user:2:profile", ":profile"),
            "user:1:profile", NONE, "user:2:profile", NONE, ":profile", NONE, "user:1:settings", NONE,
            "user:1:profile:old", NONE, "profile", NONE);

    invalidateOnAAndCheckEveryNode(scenario, a, b, c);

    assertThat(spy.items()).containsExactly(new InvalidationMessage.Item("suffix", ":profile"));
  }

  @ParameterizedTest
  @EnumSource(Mode.class)
  void aNodeThatDoesNotKnowAStrategyClearsItsWholeL1OnReceipt(Mode mode) {
    cluster = new Cluster(mode);
    Node a = cluster.node("A", SUFFIX);
    Node b = cluster.node("B", SUFFIX);
    Node unaware = cluster.node("C");
    List<String> keys = List.of("user:1:profile", "user:1:settings", "order:1");
    Map<String, Tags> untagged = new LinkedHashMap<>();
    keys.forEach(key -> untagged.put(key, NONE));
    fill(untagged, a, b, unaware);

    cluster.db.put("user:1:profile", "v2:user:1:profile");
    a.cache.invalidate(Invalidation.of(SUFFIX, ":profile"));

    for (Node node : List.of(unaware, b, a)) {
      node.resetCounts();
      for (String key : keys) {
        String expected = key.equals("user:1:profile") ? "v2:" + key : "v1:" + key;
        assertThat(node.get(key)).as("%s reads %s", node, key).isEqualTo(expected);
      }
    }
    assertThat(unaware.belowL1).as("the unaware node reads everything afresh").isEqualTo(keys.size());
    if (mode == Mode.L1_ONLY) {
      assertThat(unaware.loadedKeys).containsExactlyInAnyOrderElementsOf(keys);
    }
    assertThat(b.belowL1).as("a node that knows the strategy drops only what it covers").isEqualTo(1);
    assertThat(a.belowL1).isEqualTo(1);
  }

  /**
   * Fills {@code scenario}'s keys on every node, changes the database for the covered keys, invalidates on
   * {@code a}, and checks each node in turn ({@code b}, {@code c}, then {@code a}).
   */
  private void invalidateOnAAndCheckEveryNode(Scenario scenario, Node a, Node b, Node c) {
    Map<String, Tags> keys = scenario.keys();
    Set<String> covered = scenario.covered();
    fill(keys, a, b, c);

    covered.forEach(key -> cluster.db.put(key, "v2:" + key));
    a.cache.invalidate(scenario.invalidation());

    if (cluster.mode == Mode.SHARED_L2) {
      for (String key : keys.keySet()) {
        if (covered.contains(key)) {
          assertThat(cluster.l2Value(key)).as("the L2 serves covered %s", key).isNull();
        } else {
          assertThat(cluster.l2Value(key)).as("the L2 serves uncovered %s", key).isEqualTo("v1:" + key);
          assertThat(cluster.l2.holds(MultiNodeTest.NAME, key)).as("the L2 holds %s", key).isTrue();
        }
      }
    }

    for (Node node : List.of(b, c, a)) {
      node.resetCounts();
      keys.forEach(
          (key, tags) ->
              assertThat(node.get(key, tags))
                  .as("%s reads %s", node, key)
                  .isEqualTo((covered.contains(key) ? "v2:" : "v1:") + key));
      assertThat(node.belowL1).as("reads of %s that its L1 did not answer", node).isEqualTo(covered.size());
      if (cluster.mode == Mode.L1_ONLY || node == b) {
        // B reads first, and finds nothing below its L1 for the covered keys: its loader runs for each of them.
        assertThat(node.loadedKeys).as("keys %s loaded", node).containsExactlyInAnyOrderElementsOf(covered);
      } else {
        // B's loads refilled the L2, so the other nodes find the new values there.
        assertThat(node.loadedKeys).as("keys %s loaded", node).isEmpty();
      }
    }

    // Nothing else is dropped afterwards, and the reloaded values stay in each L1.
    for (Node node : List.of(a, b, c)) {
      node.resetCounts();
      keys.forEach((key, tags) -> node.get(key, tags));
      assertThat(node.belowL1).as("reads of %s that its L1 did not answer", node).isZero();
    }
  }

  /** Puts {@code "v1:" + key} in the database, reads every key on every node, and checks they stay in the L1s. */
  private void fill(Map<String, Tags> keys, Node... nodes) {
    keys.keySet().forEach(key -> cluster.db.put(key, "v1:" + key));
    for (Node node : nodes) {
      keys.forEach((key, tags) -> assertThat(node.get(key, tags)).isEqualTo("v1:" + key));
    }
    Node first = nodes[0];
    if (cluster.mode == Mode.SHARED_L2) {
      assertThat(first.loadedKeys).containsExactlyInAnyOrderElementsOf(keys.keySet());
      for (int i = 1; i < nodes.length; i++) {
        assertThat(nodes[i].loadedKeys).as("%s filled from the L2", nodes[i]).isEmpty();
      }
    } else {
      for (Node node : nodes) {
        assertThat(node.loadedKeys).containsExactlyInAnyOrderElementsOf(keys.keySet());
      }
    }
    for (Node node : nodes) {
      node.resetCounts();
      keys.forEach((key, tags) -> node.get(key, tags));
      assertThat(node.belowL1).as("reads of %s that its L1 did not answer", node).isZero();
      node.resetCounts();
    }
  }
}
