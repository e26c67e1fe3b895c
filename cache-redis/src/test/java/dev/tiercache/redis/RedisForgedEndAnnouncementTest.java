package dev.tiercache.redis;

import static dev.tiercache.redis.StoreKit.uniqueName;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.tiercache.Tags;
import dev.tiercache.TieredCache;
import dev.tiercache.codec.ValueCodecs;
import dev.tiercache.redis.testing.RedisExtension;
import dev.tiercache.spi.InvalidationMessage;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.codec.ByteArrayCodec;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Review s8-review2: one well-formed announcement on a cache's bus channel (forged, replayed, or published by anything
 * that may publish there, which RedisBusFramesTest already treats as hostile input) must not end a healthy bucket.
 * The version an announcement carries becomes the tier's seen figure for the bucket (SeenVersions.observeAnnounced);
 * the next script the tier runs there takes a clock below it for a rollback and moves the clock to
 * {@code min(max(now, SEEN + 1), 2^53 - 1)}. An announced 2^53 - 2 therefore sets the clock straight to 2^53 - 1: the
 * bucket is exhausted in Redis, for every instance, until an operator deletes its keys (every read misses, every
 * write is dropped, the WARN that observeAnnounced deliberately does not raise for a forged 2^53 - 1 is raised by
 * the script's reply instead). Only 2^53 - 1 itself is harmless (its seen figure counts as none).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RedisForgedEndAnnouncementTest {

  @RegisterExtension static final RedisExtension REDIS = RedisExtension.standalone();

  private static final long LARGEST = SeenVersions.MAX_VERSION;

  private static TierSession session;
  private String cache;

  @BeforeAll
  static void connect() {
    session = new TierSession(REDIS.uri());
  }

  @AfterAll
  static void disconnect() {
    session.close();
  }

  @BeforeEach
  void name() {
    cache = uniqueName("forged");
  }

  private String clock() {
    return session.redis.get(StoreKit.meta(cache, "clock"));
  }

  private final class Node implements AutoCloseable {
    final RedisClient client = RedisClient.create(REDIS.uri());
    final RedisTier tier = RedisTier.create(client);
    final TieredCache<String, String> cache =
        TieredCache.<String, String>builder(RedisForgedEndAnnouncementTest.this.cache)
            .keyCodec(k -> k)
            .l2(tier)
            .valueCodec(ValueCodecs.string())
            .build();
    final AtomicInteger loads = new AtomicInteger();

    String read(String key, AtomicReference<String> database) {
      return cache.get(key, Tags.of("t"), k -> {
        loads.incrementAndGet();
        return database.get();
      });
    }

    @Override
    public void close() {
      cache.close();
      tier.close();
      client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
  }

  /** A well-formed announcement for bucket 0 of the cache: "drop k", stamped with {@code version}. */
  private void forge(long version) {
    InvalidationMessage message = RecordingListener.message("forger", 1, "k");
    byte[] stamped = BusFrames.announcement(message, 0);
    byte[] digits = Long.toString(version).getBytes(StandardCharsets.US_ASCII);
    byte[] frame = Arrays.copyOf(stamped, stamped.length + digits.length);
    System.arraycopy(digits, 0, frame, stamped.length, digits.length);
    RedisClient client = RedisClient.create(REDIS.uri());
    try (StatefulRedisConnection<byte[], byte[]> forger = client.connect(ByteArrayCodec.INSTANCE)) {
      forger.sync().publish(("tiercache:bus:" + cache).getBytes(StandardCharsets.UTF_8), frame);
    } finally {
      client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
  }

  /** a holds "k" in its L1; one forged announcement stamped {@code version} arrives; a goes on working. */
  private void aHealthyBucketSurvivesOneAnnouncementOf(long version) {
    try (Node a = new Node()) {
      AtomicReference<String> database = new AtomicReference<>("v1");
      assertThat(a.read("k", database)).isEqualTo("v1");
      long healthy = Long.parseLong(clock());
      assertThat(healthy).isLessThan(LARGEST - 1_000_000);

      forge(version);
      // The frame also drops "k": once a's L1 is empty, the frame (and its version) was taken in.
      await().atMost(Duration.ofSeconds(10)).until(() -> a.cache.estimatedL1Size() == 0);

      // The frame dropped a's copy only: the L2 still holds "v1", which a healthy bucket serves without a load.
      database.set("v2");
      int loads = a.loads.get();
      assertThat(a.read("k", database)).as("k from the L2 after the frame").isEqualTo("v1");
      assertThat(a.loads.get()).isEqualTo(loads);
      a.cache.put("p", "x");
      assertThat(clock()).as("the bucket's clock after one announcement of %s", version).isNotEqualTo(
          Long.toString(LARGEST));
      try (Node b = new Node()) {
        AtomicReference<String> none = new AtomicReference<>("loaded by b");
        assertThat(b.read("p", none)).as("a's put reached the L2").isEqualTo("x");
        assertThat(b.loads.get()).isZero();
      }
    }
  }

  @Test
  void oneAnnouncementOfTheLastButOneVersionDoesNotExhaustAHealthyBucket() {
    aHealthyBucketSurvivesOneAnnouncementOf(LARGEST - 1);
  }

  /** 2^53 - 3: the clock moves to 2^53 - 2, and the next change (a's put) finds no version left. */
  @Test
  void oneAnnouncementJustBelowTheEndDoesNotExhaustAHealthyBucketAtItsNextChange() {
    aHealthyBucketSurvivesOneAnnouncementOf(LARGEST - 2);
  }

  /** A thousand versions below the end: the bucket ends after a thousand changes, in a busy bucket within a second. */
  @Test
  void oneAnnouncementNearTheEndDoesNotLeaveAHealthyBucketAFewChangesFromIt() {
    try (Node a = new Node()) {
      AtomicReference<String> database = new AtomicReference<>("v1");
      assertThat(a.read("k", database)).isEqualTo("v1");
      forge(LARGEST - 1_000);
      await().atMost(Duration.ofSeconds(10)).until(() -> a.cache.estimatedL1Size() == 0);
      for (int i = 0; i < 1_100; i++) {
        a.cache.put("p", "x" + i);
      }
      assertThat(clock()).as("the clock after 1,100 puts").isNotEqualTo(Long.toString(LARGEST));
    }
  }

  /** Holds: hearsay of the end itself counts as none (SeenVersions.version). */
  @Test
  void oneAnnouncementOfTheLastVersionDoesNotExhaustAHealthyBucket() {
    aHealthyBucketSurvivesOneAnnouncementOf(LARGEST);
  }

  private static String capturingStdErr(Runnable body) {
    java.io.PrintStream original = System.err;
    java.io.ByteArrayOutputStream captured = new java.io.ByteArrayOutputStream();
    System.setErr(new java.io.PrintStream(captured, true, StandardCharsets.UTF_8));
    try {
      body.run();
    } finally {
      System.err.flush();
      System.setErr(original);
    }
    return captured.toString(StandardCharsets.UTF_8);
  }

  /**
   * One WARN per bucket per tier (README, "Exhausted buckets"): a forged announcement of any version below the end
   * replaces the tier's record of the end (SeenVersions.record: "below the end after it"), and the next read of the
   * still exhausted bucket warns again: one WARN per forged frame.
   */
  @Test
  void forgedAnnouncementsDoNotRepeatTheWarningOfAnExhaustedBucket() {
    try (Node a = new Node()) {
      AtomicReference<String> database = new AtomicReference<>("v1");
      assertThat(a.read("k", database)).isEqualTo("v1");
      session.redis.set(StoreKit.meta(cache, "clock"), Long.toString(LARGEST));
      String log =
          capturingStdErr(
              () -> {
                for (int i = 0; i < 3; i++) {
                  // Drops "k" from a's L1 too, so that the read below goes to the L2.
                  forge(5);
                  await().atMost(Duration.ofSeconds(10)).until(() -> a.cache.estimatedL1Size() == 0);
                  database.set("v" + (i + 2));
                  // Exhausted: a miss and a load.
                  assertThat(a.read("k", database)).isEqualTo("v" + (i + 2));
                }
              });
      long warnings =
          log.lines().filter(l -> l.contains("WARN") && l.contains("exhausted") && l.contains("'" + cache + "'")).count();
      assertThat(warnings).as("warnings:%n%s", log).isEqualTo(1);
    }
  }

  /**
   * "Each instance logs one WARN per bucket the first time it finds the bucket exhausted" (README): an instance that
   * heard of the end on the bus before it found the end itself records the end without a warning, and its own reads
   * then find it already recorded, so it never warns.
   */
  @Test
  void anInstanceThatHeardOfTheEndFirstStillWarnsWhenItFindsIt() {
    try (Node a = new Node(); Node b = new Node()) {
      AtomicReference<String> database = new AtomicReference<>("v1");
      assertThat(b.read("k", database)).isEqualTo("v1");
      session.redis.set(StoreKit.meta(cache, "clock"), Long.toString(LARGEST));
      String log =
          capturingStdErr(
              () -> {
                a.cache.invalidate(dev.tiercache.Invalidation.key("k")); // announced at the end: b hears it
                await().atMost(Duration.ofSeconds(10)).until(() -> b.cache.estimatedL1Size() == 0);
                database.set("v2");
                assertThat(b.read("k", database)).isEqualTo("v2"); // b finds the bucket exhausted
                b.cache.invalidate(dev.tiercache.Invalidation.key("k"));
              });
      long warnings =
          log.lines().filter(l -> l.contains("WARN") && l.contains("exhausted") && l.contains("'" + cache + "'")).count();
      assertThat(warnings).as("a and b, once each:%n%s", log).isEqualTo(2);
    }
  }
}
