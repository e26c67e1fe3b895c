package dev.tiercache.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.awaitility.Awaitility.await;

import dev.tiercache.Invalidation;
import dev.tiercache.Tags;
import dev.tiercache.TieredCache;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A benchmark operation whose invalidation or write Redis does not take within the L2 timeout does what a correct
 * caller does with {@code InvalidationPendingException} (the invalidation took effect here and is retried until the
 * others have it) instead of ending the JMH run: on a 2-core machine under load one such timeout aborted a whole run.
 * Redis is made to miss the timeout for real, with {@code CLIENT PAUSE}.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class PendingInvalidationBenchTest {

  private static final Duration PAUSE = Duration.ofSeconds(1);

  private static BenchRedis redis;
  private static Path counts;

  @BeforeAll
  static void start() throws Exception {
    redis = BenchRedis.start();
    BenchRedis.useShared(redis);
    counts = Files.createTempFile("pending", ".tsv");
    System.setProperty(PendingCount.FILE_PROPERTY, counts.toString());
  }

  @AfterAll
  static void stop() throws Exception {
    System.clearProperty(PendingCount.FILE_PROPERTY);
    Files.deleteIfExists(counts);
    BenchRedis.useShared(null);
    redis.close();
  }

  /** What the suite's results say of the trial of {@code name}, which met what was counted since the last trial. */
  private static String noteAfterTrial(String name) throws Exception {
    Files.deleteIfExists(counts);
    PendingCount.trialEnds(name);
    return PendingCount.note(counts);
  }

  /** Holds every client's commands for {@link #PAUSE}, past the 250 ms L2 timeout. */
  private static void pauseRedis() {
    redis.withCommands(c -> c.clientPause(PAUSE.toMillis()));
  }

  /** Returns once Redis answers again (a command sent during the pause waits for its end). */
  private static void awaitRedis() {
    redis.withCommands(c -> c.ping());
  }

  @Test
  void aTrialThatMetNoneIsNamedInTheNote() throws Exception {
    assertThat(noteAfterTrial("L2Hit.tiercache_get")).endsWith("None in `L2Hit.tiercache_get`.");
  }

  @Test
  void anInvalidationRedisDoesNotTakeInTimeStillEndsWithBDroppingTheKey() throws Exception {
    InvalidationBenchmark.Nodes nodes = new InvalidationBenchmark.Nodes();
    nodes.setUp();
    try {
      InvalidationBenchmark.TiercacheRound round = new InvalidationBenchmark.TiercacheRound();
      round.prepare(nodes);
      assertThat(nodes.cacheB.estimatedL1Size()).isEqualTo(1);

      PendingCount.iterationStarts(PendingCount.Phase.MEASUREMENT);
      pauseRedis();
      assertThatCode(() -> new InvalidationBenchmark().tiercache_invalidate(nodes, round))
          .doesNotThrowAnyException();
      assertThat(nodes.cacheB.estimatedL1Size()).as("B dropped the key once the retry got through").isZero();
      PendingCount.iterationEnds();
      assertThat(noteAfterTrial("Invalidation.tiercache_invalidate")).contains(
          "`Invalidation.tiercache_invalidate`: 1 in measurement iterations, 0 in warm-up iterations, 0 in setup or"
              + " teardown");
    } finally {
      awaitRedis();
      nodes.close();
    }
  }

  @Test
  void aWriteOrAnInvalidationRedisDoesNotTakeInTimeDoesNotEndTheMixedBenchmark() throws Exception {
    PeerL1Benchmark.TiercacheState s = new PeerL1Benchmark.TiercacheState();
    s.namespace = BenchRedis.namespace("peers-pending");
    s.node = new Peers.TiercacheNode(s.namespace, "peers", 16);
    s.other = new Peers.TiercacheNode(s.namespace, "peers", 16);
    try {
      PeerL1Benchmark.Cursor cursor = new PeerL1Benchmark.Cursor();
      cursor.index = 0;
      String written = PeerL1Benchmark.DRAWN[0];
      String invalidated = PeerL1Benchmark.DRAWN[1];
      assertThat(s.other.cache.get(written, k -> "old")).isEqualTo("old");
      assertThat(s.other.cache.get(invalidated, k -> "old")).isEqualTo("old");

      PendingCount.iterationStarts(PendingCount.Phase.WARMUP);
      pauseRedis();
      PeerL1Benchmark bench = new PeerL1Benchmark();
      cursor.op = 6;
      assertThatCode(() -> bench.tiercache_mixed(s, cursor)).as("a write").doesNotThrowAnyException();
      assertThatCode(() -> bench.tiercache_mixed(s, cursor)).as("an invalidation").doesNotThrowAnyException();

      PendingCount.iterationEnds();
      assertThat(noteAfterTrial("PeerL1.tiercache_mixed")).contains(
          "`PeerL1.tiercache_mixed`: 0 in measurement iterations, 2 in warm-up iterations, 0 in setup or teardown");

      awaitRedis();
      // Both are applied later: the other instance drops its copies once the retries get through.
      await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
        assertThat(s.other.cache.get(written, k -> "new")).isNotEqualTo("old");
        assertThat(s.other.cache.get(invalidated, k -> "new")).isNotEqualTo("old");
      });
    } finally {
      awaitRedis();
      s.close();
    }
  }

  /** Suite 7 and suite 3 populate through it: a tagged setup write Redis refuses for a while lands with its tag. */
  @Test
  void aTaggedSetupWriteIsRetriedUntilRedisTakesIt() throws Exception {
    String namespace = BenchRedis.namespace("pending-tags");
    try (Node node = new Node(namespace); Node other = new Node(namespace)) {
      TieredCache<String, String> writer = node.cache("tags", b -> {});
      TieredCache<String, String> reader = other.cache("tags", b -> b.l1(l1 -> l1.maximumSize(0)));
      pauseRedis();
      PendingCount.putUntilStored(writer, "item:1", "v1", Tags.of("tenant-1"));

      assertThat(noteAfterTrial("Tags.populate")).containsPattern(
          "`Tags.populate`: 0 in measurement iterations, 0 in warm-up iterations, [1-9][0-9]* in setup or teardown");
      assertThat(reader.get("item:1", k -> "loaded")).as("stored in Redis").isEqualTo("v1");
      writer.invalidate(Invalidation.tag("tenant-1"));
      assertThat(reader.get("item:1", k -> "loaded")).as("stored with its tag").isEqualTo("loaded");
    } finally {
      awaitRedis();
      BenchRedis.shared().deleteNamespace(namespace);
    }
  }
}
