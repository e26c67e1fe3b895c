package dev.tiercache.redis;

import static dev.tiercache.redis.StoreKit.entry;
import static dev.tiercache.redis.StoreKit.join;
import static dev.tiercache.redis.StoreKit.uniqueName;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.tiercache.redis.testing.RedisExtension;
import io.lettuce.core.ScanArgs;
import io.lettuce.core.ScanIterator;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Review of bb381ca on a Cluster: the again pass (finish() from ScanCursor.INITIAL) over Lettuce's cluster SCAN, with
 * the pattern invalidated many times while the sweep runs. The sweep ends, unlinks every covered entry of every
 * bucket, and nothing else.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class RedisClusterSweepAgainReviewTest {

  @RegisterExtension static final RedisExtension REDIS = RedisExtension.cluster(3);

  private static final Duration TTL = Duration.ofMinutes(5);

  @Test
  void aClusterSweepAskedForMorePassesEndsAndUnlinksExactlyWhatThePatternCovers() throws Exception {
    RedisClusterClient client = RedisClusterClient.create(REDIS.uris());
    try (StatefulRedisClusterConnection<String, String> raw = client.connect();
        RedisTier writer = RedisTier.create(client);
        RedisTier sweeper = RedisTier.create(client, RedisTierOptions.builder().scanBatch(10).build())) {
      String cache = uniqueName("csweep");
      int covered = 2000;
      int others = 100;
      List<CompletableFuture<Void>> puts = new ArrayList<>();
      for (int i = 0; i < covered; i++) {
        puts.add(writer.put(cache, "p:" + i, entry("v"), TTL));
      }
      for (int i = 0; i < others; i++) {
        puts.add(writer.put(cache, "q:" + i, entry("v"), TTL));
      }
      CompletableFuture.allOf(puts.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
      join(sweeper.invalidatePattern(cache, "p:*"));
      int again = 0;
      for (int i = 0; i < 5 && sweeper.isSweeping(cache, "p:*"); i++) {
        join(sweeper.invalidatePattern(cache, "p:*"));
        again++;
      }
      await().atMost(Duration.ofSeconds(90)).until(() -> !sweeper.isSweeping(cache, "p:*"));
      long p = 0;
      long q = 0;
      ScanIterator<String> scan = ScanIterator.scan(raw.sync(), ScanArgs.Builder.matches("tiercache:{" + cache + "#*").limit(500));
      while (scan.hasNext()) {
        String key = scan.next();
        if (key.contains("}:k:p:")) {
          p++;
        } else if (key.contains("}:k:q:")) {
          q++;
        }
      }
      System.out.println("REVIEW cluster: again " + again + ", covered left " + p + ", others " + q);
      assertThat(q).isEqualTo(others);
      assertThat(p).isZero();
      for (int i = 0; i < covered; i += 97) {
        assertThat(join(writer.get(cache, "p:" + i)).isHit()).isFalse();
      }
    } finally {
      client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
  }
}
