package dev.tiercache.redis;

import static dev.tiercache.redis.StoreKit.entry;
import static dev.tiercache.redis.StoreKit.join;
import static dev.tiercache.redis.StoreKit.uniqueName;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.tiercache.redis.RedisMgetReplayTest.CuttingProxy;
import dev.tiercache.redis.testing.RedisExtension;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.ScanArgs;
import io.lettuce.core.ScanIterator;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.protocol.ProtocolVersion;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A pattern sweep's {@code SCAN} whose reply a closing connection cut short, replayed by Lettuce's default client
 * options into the same output: {@code KeyScanOutput} keeps the first run's cursor and takes the replayed reply's
 * cursor for a key, then the replayed keys after the partial first ones. The sweep must still end, unlink every entry
 * the pattern covers and nothing else; a covered entry is never served meanwhile (the recorded pattern hides it
 * whatever the sweep does).
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class RedisSweepScanReplayTest {

  @RegisterExtension static final RedisExtension REDIS = RedisExtension.standalone();

  private static final Duration TTL = Duration.ofMinutes(5);
  private static final int COVERED = 60;
  private static final int OTHERS = 20;
  private static final int BATCH = 20;
  private static final int FILLERS = 300;

  @Test
  void aSweepWhoseScanReplyIsCutAtAnyOffsetUnlinksWhatThePatternCoversAndNothingElse() throws Exception {
    sweep(null);
  }

  @Test
  void aSweepWhoseScanReplyIsCutAtAnyOffsetUnlinksWhatThePatternCoversAndNothingElseOverResp2() throws Exception {
    sweep(ProtocolVersion.RESP2);
  }

  private void sweep(ProtocolVersion protocol) throws Exception {
    RedisClient direct = RedisClient.create(REDIS.uri());
    direct.setOptions(RedisTier.recommendedClientOptions());
    try (CuttingProxy proxy = new CuttingProxy(REDIS.host(), REDIS.port());
        StatefulRedisConnection<String, String> raw = direct.connect()) {
      // Lettuce's default client options: commands in flight at a disconnect are replayed after the reconnect.
      RedisClient viaProxy = RedisClient.create(
          RedisURI.builder().withHost("127.0.0.1").withPort(proxy.port()).withTimeout(Duration.ofSeconds(5)).build());
      if (protocol != null) {
        viaProxy.setOptions(io.lettuce.core.ClientOptions.builder().protocolVersion(protocol).build());
      }
      try (RedisTier writer = RedisTier.create(direct);
          RedisTier sweeper = RedisTier.create(viaProxy, RedisTierOptions.builder().scanBatch(BATCH).build())) {
        List<String> wrong = new ArrayList<>();
        int cut = 0;
        List<String> leftBehind = new ArrayList<>();
        // A SCAN reply: *2, the cursor, *n and about 20 keys of ~40 bytes: ~900 bytes. Cut densely in the header,
        // the cursor and the first keys, then sparsely.
        for (int offset = 1; offset < 1_000; offset += offset < 120 ? 3 : 37) {
          String cache = uniqueName("scan");
          for (int i = 0; i < COVERED; i++) {
            join(writer.put(cache, "p:" + i, entry("v"), TTL));
          }
          for (int i = 0; i < OTHERS; i++) {
            join(writer.put(cache, "q:" + i, entry("v"), TTL));
          }
          // Keys written between the cut SCAN and its replay: the replay collects its COUNT sooner, or over a grown
          // table, and stops at another cursor than the first run, whose cursor the output keeps.
          String[] fillers = new String[FILLERS];
          for (int i = 0; i < FILLERS; i++) {
            fillers[i] = cache + ":filler:" + i;
          }
          proxy.atCut = () -> {
            java.util.Map<String, String> values = new java.util.HashMap<>();
            for (String filler : fillers) {
              values.put(filler, "x");
            }
            raw.sync().mset(values);
          };
          int cutsBefore = proxy.cuts.get();
          proxy.cutNextReplyAfter("SCAN", offset);
          try {
            sweeper.invalidatePattern(cache, "p:*").get(20, TimeUnit.SECONDS);
          } catch (java.util.concurrent.ExecutionException e) {
            // The pattern's script went through the proxy too; the cut is armed for the SCAN only.
            throw new AssertionError("the pattern invalidation failed at offset " + offset, e);
          }
          await().atMost(Duration.ofSeconds(20)).until(() -> !sweeper.isSweeping(cache, "p:*"));
          if (proxy.cuts.get() == cutsBefore) {
            proxy.cutNextReplyAfter("SCAN", -1);
            break; // past the end of the first reply
          }
          cut++;
          for (int i = 0; i < COVERED; i += 7) {
            if (join(writer.get(cache, "p:" + i)).isHit()) {
              wrong.add("offset " + offset + ": p:" + i + " served");
            }
          }
          List<String> left = entryKeys(raw, cache);
          long covered = left.stream().filter(k -> k.contains("}:k:p:")).count();
          long others = left.stream().filter(k -> k.contains("}:k:q:")).count();
          if (others != OTHERS) {
            wrong.add("offset " + offset + ": " + (OTHERS - others) + " entries the pattern does not cover unlinked");
          }
          if (covered > 0) {
            leftBehind.add("offset " + offset + ": " + covered);
          }
          raw.sync().unlink(fillers);
          // Keeps the next sweep's SCAN replies dense: the MATCH skips other caches' keys, but COUNT still visits them.
          if (!left.isEmpty()) {
            raw.sync().unlink(left.toArray(String[]::new));
          }
        }
        System.out.println("SWEEP scan (" + protocol + "): " + cut + " cut and replayed; covered entries left in Redis"
            + " by " + leftBehind + "; wrong: " + wrong);
        assertThat(cut).as("replies cut").isGreaterThan(10);
        assertThat(wrong).isEmpty();
        assertThat(leftBehind).as("sweeps that left covered entries in Redis").isEmpty();
      } finally {
        viaProxy.shutdown(Duration.ZERO, Duration.ofSeconds(2));
      }
    } finally {
      direct.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
  }

  private static List<String> entryKeys(StatefulRedisConnection<String, String> raw, String cache) {
    List<String> found = new ArrayList<>();
    ScanIterator<String> scan =
        ScanIterator.scan(raw.sync(), ScanArgs.Builder.matches("tiercache:{" + cache + "}:k:*").limit(500));
    while (scan.hasNext()) {
      found.add(scan.next());
    }
    return found;
  }
}
