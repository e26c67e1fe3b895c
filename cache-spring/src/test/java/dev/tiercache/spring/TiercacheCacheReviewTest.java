package dev.tiercache.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.tiercache.codec.ValueCodec;
import dev.tiercache.codec.ValueCodecs;
import dev.tiercache.redis.RedisTier;
import dev.tiercache.redis.testing.RedisExtension;
import io.lettuce.core.RedisClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.assertj.core.api.SoftAssertions;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.cache.Cache;

/** Review (s14): Spring's {@code Cache} contract attacked across two instances on one real Redis. */
class TiercacheCacheReviewTest {

  @RegisterExtension static RedisExtension redis = RedisExtension.standalone();

  /** A string codec that, for the value {@code "a"}, holds the encoding (done between the L2 miss and the L2 write). */
  static final class GatedCodec implements ValueCodec<Object> {
    private final ValueCodec<String> strings = ValueCodecs.string();
    final CountDownLatch entered = new CountDownLatch(1);
    final CountDownLatch release = new CountDownLatch(1);

    @Override
    public String id() {
      return "string";
    }

    @Override
    public byte[] encode(Object value) {
      if ("a".equals(value)) {
        entered.countDown();
        try {
          release.await(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      return strings.encode((String) value);
    }

    @Override
    public Object decode(byte[] bytes) {
      return strings.decode(bytes);
    }
  }

  private final List<Runnable> closers = new ArrayList<>();
  private RedisClient client;

  @BeforeEach
  void connect() {
    redis.flushAll();
    client = RedisClient.create(redis.uri());
    client.setOptions(RedisTier.recommendedClientOptions());
  }

  @AfterEach
  void close() {
    for (int i = closers.size() - 1; i >= 0; i--) {
      closers.get(i).run();
    }
    client.shutdown();
  }

  private TiercacheCacheManager instance(ValueCodec<?> codec) {
    RedisTier tier = RedisTier.create(client);
    closers.add(tier::close);
    TiercacheCacheManager manager = TiercacheCacheManager.builder(tier).defaults(s -> s.valueCodec(codec)).build();
    closers.add(manager::destroy);
    return manager;
  }

  /**
   * Breaks: README "Semantics": "{@code putIfAbsent} is atomic on an instance and conditional in Redis", and Spring's
   * {@code Cache.putIfAbsent} contract ("returning null is therefore an indicator that the given value has been
   * associated with the key").
   *
   * <p>How: instance A's {@code putIfAbsent(k, "a")} misses both tiers and, before its conditional L2 write lands
   * (held here in the value codec, as a pause or a slow network would hold it), instance B's
   * {@code putIfAbsent(k, "b")} stores "b". Redis refuses A's write ("b" is newer than A's read), yet A returns null
   * (telling its caller "a" was stored) and installs "a" in its own L1. Both callers are told they won, and the two
   * instances then serve different values for the key (A "a" from its L1, B and Redis "b") with no invalidation to
   * end it: {@code putIfAbsent} is a read-through whose "loader" yields a caller-chosen value, and a read-through's
   * refused fill still goes into the local L1.
   *
   * <p>Once fixed: exactly one caller gets null, and both instances serve that caller's value.
   */
  @Test
  void putIfAbsentOnTwoInstancesAtOnceHasOneWinnerAndBothServeItsValue() throws Exception {
    GatedCodec gated = new GatedCodec();
    Cache a = instance(gated).getCache("review-pia");
    Cache b = instance(ValueCodecs.string()).getCache("review-pia");
    ExecutorService thread = Executors.newSingleThreadExecutor();
    closers.add(thread::shutdownNow);

    Future<Cache.ValueWrapper> onA = thread.submit(() -> a.putIfAbsent("k", "a"));
    assertThat(gated.entered.await(10, TimeUnit.SECONDS)).as("A missed both tiers and is writing").isTrue();
    Cache.ValueWrapper fromB = b.putIfAbsent("k", "b");
    gated.release.countDown();
    Cache.ValueWrapper fromA = onA.get(10, TimeUnit.SECONDS);

    boolean agree;
    try {
      await().atMost(Duration.ofSeconds(3)).pollInterval(Duration.ofMillis(50))
          .until(() -> String.valueOf(a.get("k").get()).equals(String.valueOf(b.get("k").get())));
      agree = true;
    } catch (ConditionTimeoutException e) {
      agree = false;
    }
    String servedByA = String.valueOf(a.get("k").get());
    String servedByB = String.valueOf(b.get("k").get());

    SoftAssertions soft = new SoftAssertions();
    soft.assertThat(fromB).as("B found nothing and stored \"b\"").isNull();
    soft.assertThat(fromA)
        .as("A's putIfAbsent ended after B stored \"b\" and Redis refused \"a\": it must report \"b\", not null")
        .isNotNull();
    soft.assertThat(agree)
        .as("both instances serve one value within 3 s (A serves %s, B serves %s)", servedByA, servedByB)
        .isTrue();
    soft.assertAll();
  }

  /**
   * Breaks: DESIGN.md invariant 1 ("when invalidate(...) returns on node A, no read on A returns a value that the
   * invalidation covered, from L1 or L2") and {@link TiercacheEvictor}'s class javadoc (an eviction outside a
   * transaction "runs at once, on every instance's L1 and in the L2, before the method returns"), for
   * {@link TiercacheEvictor#evictTagEverywhere}.
   *
   * <p>How: caches are created on first use ({@code dynamic}, the default) and each instance creates only the ones it
   * has used. Instance B caches {@code reports:a1} tagged {@code t:a}; instance A has not used {@code reports} yet.
   * {@code evictTagEverywhere("t:a")} on A iterates A's created caches only, so it invalidates nothing of
   * {@code reports}, in Redis or on B: right after it returns, A's own first read of {@code reports:a1} returns the
   * covered value from Redis, and B keeps serving it. (The method's javadoc says "from every cache the manager has
   * created", which is this instance's accident of usage, not the application's caches.)
   */
  @Test
  void evictTagEverywhereReachesACacheThisInstanceHasNotUsedYet() {
    TiercacheCacheManager a =
        TiercacheCacheManager.builder(tier())
            .defaults(s -> s.valueCodec(ValueCodecs.string()).tags(key -> dev.tiercache.Tags.of("t:a")))
            .build();
    closers.add(a::destroy);
    TiercacheCacheManager b =
        TiercacheCacheManager.builder(tier())
            .defaults(s -> s.valueCodec(ValueCodecs.string()).tags(key -> dev.tiercache.Tags.of("t:a")))
            .build();
    closers.add(b::destroy);
    Cache reportsOnB = b.getCache("reports");
    reportsOnB.put("a1", "covered");

    new TiercacheEvictor(a).evictTagEverywhere("t:a");

    assertThat(a.getCache("reports").get("a1"))
        .as("A reads, after its evictTagEverywhere(\"t:a\") returned, an entry tagged t:a")
        .isNull();
    try {
      await().atMost(Duration.ofSeconds(3)).pollInterval(Duration.ofMillis(50)).until(() -> reportsOnB.get("a1") == null);
    } catch (ConditionTimeoutException e) {
      throw new AssertionError("B still serves reports:a1 (tagged t:a) 3 s after evictTagEverywhere(\"t:a\")", e);
    }
  }

  private RedisTier tier() {
    RedisTier tier = RedisTier.create(client);
    closers.add(tier::close);
    return tier;
  }
}
