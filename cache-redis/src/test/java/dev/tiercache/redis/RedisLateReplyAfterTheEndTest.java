package dev.tiercache.redis;

import static dev.tiercache.redis.StoreKit.join;
import static dev.tiercache.redis.StoreKit.uniqueName;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.tiercache.Invalidation;
import dev.tiercache.Tags;
import dev.tiercache.TieredCache;
import dev.tiercache.codec.ValueCodecs;
import dev.tiercache.redis.testing.RedisExtension;
import io.lettuce.core.RedisClient;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.DefaultClientResources;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Review s8-review2: an instance that heard of the end on the bus, then decoded a reply its read got just before the
 * end (its command connection's event loop was busy meanwhile: here, held by a callback of an earlier read), records
 * that reply's near-end clock over the end ("below the end after it" is taken for the fresh clock). README: "Instances
 * that found the bucket exhausted, or heard of it on the bus, take the fresh clock for what it is". This one takes it
 * for a rollback once the operator deleted the bucket, and moves the clock straight back to the end.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RedisLateReplyAfterTheEndTest {

  @RegisterExtension static final RedisExtension REDIS = RedisExtension.standalone();

  private static final long LARGEST = SeenVersions.MAX_VERSION;

  @Test
  void aReplyFromBeforeTheEndDecodedAfterTheBusToldOfItDoesNotEndTheFreshBucket() throws Exception {
    String name = uniqueName("late");
    ClientResources resources = DefaultClientResources.builder().ioThreadPoolSize(8).build();
    RedisClient bClient = RedisClient.create(resources, REDIS.uri());
    RedisTier bTier = RedisTier.create(bClient);
    RedisClient aClient = RedisClient.create(REDIS.uri());
    RedisTier aTier = RedisTier.create(aClient);
    try (TierSession session = new TierSession(REDIS.uri());
        TieredCache<String, String> a = TieredCache.<String, String>builder(name).keyCodec(k -> k).l2(aTier)
            .valueCodec(ValueCodecs.string()).build();
        TieredCache<String, String> b = TieredCache.<String, String>builder(name).keyCodec(k -> k).l2(bTier)
            .valueCodec(ValueCodecs.string()).build()) {
      assertThat(b.get("k", Tags.of("t"), k -> "v1")).isEqualTo("v1"); // b subscribed, "k" in b's L1
      session.redis.set(StoreKit.meta(name, "clock"), Long.toString(LARGEST - 5));

      // Both reads below reach Redis while it pauses, so that they run together when it resumes and their replies
      // arrive together: b decodes the first, whose callback then holds b's command event loop with the second's reply
      // read but not decoded.
      session.redis.clientPause(300);
      CountDownLatch held = new CountDownLatch(1);
      CountDownLatch release = new CountDownLatch(1);
      CompletableFuture<Void> first = bTier.get(name, "x").thenAccept(r -> {
        held.countDown();
        try {
          release.await(20, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      });
      // Run at 2^53 - 6, decoded after the release.
      CompletableFuture<dev.tiercache.spi.L2Read> late = bTier.get(name, "y");
      assertThat(held.await(10, TimeUnit.SECONDS)).isTrue();

      for (int i = 0; i < 5; i++) {
        a.invalidate(Invalidation.key("z")); // the last versions, then the end, announced
      }
      assertThat(session.redis.get(StoreKit.meta(name, "clock"))).isEqualTo(Long.toString(LARGEST));
      a.invalidate(Invalidation.key("k"));
      await().atMost(Duration.ofSeconds(10)).until(() -> b.estimatedL1Size() == 0); // b heard of the end
      release.countDown();
      join(first);
      assertThat(join(late).version()).as("the late read ran before the end").isEqualTo(LARGEST - 5);

      // The operator deletes the bucket.
      List<String> entries = StoreKit.scanKeys(session.redis, "tiercache:{" + name + "}:k:*");
      if (!entries.isEmpty()) {
        session.redis.unlink(entries.toArray(String[]::new));
      }
      String[] state = {"ts", "g", "gx", "plens", "pat", "gmax", "floor", "wfloor", "maxttl", "clock"};
      session.redis.unlink(java.util.Arrays.stream(state).map(s -> StoreKit.meta(name, s)).toArray(String[]::new));

      b.put("p", "x");
      b.invalidate(Invalidation.key("q"));
      b.put("p", "x2");
      long clock = Long.parseLong(session.redis.get(StoreKit.meta(name, "clock")));
      assertThat(clock).as("b took the fresh clock for what it is").isLessThan(LARGEST - 1_000_000);
    } finally {
      aTier.close();
      bTier.close();
      aClient.shutdown(Duration.ZERO, Duration.ofSeconds(2));
      bClient.shutdown(Duration.ZERO, Duration.ofSeconds(2));
      resources.shutdown();
    }
  }
}
