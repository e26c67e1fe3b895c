package dev.tiercache.redis;

import static dev.tiercache.redis.StoreKit.entry;
import static dev.tiercache.redis.StoreKit.join;
import static dev.tiercache.redis.StoreKit.uniqueName;
import static org.assertj.core.api.Assertions.assertThat;

import dev.tiercache.redis.RedisMgetReplayTest.CuttingProxy;
import dev.tiercache.redis.testing.RedisExtension;
import dev.tiercache.spi.L2Read;
import dev.tiercache.spi.L2Write;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Review 16: the read and write scripts' replies cut at many offsets (inside the header, at the first element's
 * boundary, inside the nested patterns list, between entries), then replayed by Lettuce's default options into the
 * same output. Each read must answer a key with its own value, a miss, or fail; each write must report as written
 * only keys that hold what it wrote.
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class RedisScriptReplaySweepTest {

  @RegisterExtension static final RedisExtension REDIS = RedisExtension.standalone();

  private static final Duration TTL = Duration.ofMinutes(5);
  private static final int KEYS = 4;

  @Test
  void aReadScriptReplyCutAtAnyOffsetAnswersEachKeyWithItsOwnValueOrFails() throws Exception {
    sweepReads(null);
  }

  @Test
  void aReadScriptReplyCutAtAnyOffsetAnswersEachKeyWithItsOwnValueOrFailsOverResp2() throws Exception {
    sweepReads(io.lettuce.core.protocol.ProtocolVersion.RESP2);
  }

  private void sweepReads(io.lettuce.core.protocol.ProtocolVersion protocol) throws Exception {
    String cache = uniqueName("sweep");
    RedisClient direct = RedisClient.create(REDIS.uri());
    direct.setOptions(RedisTier.recommendedClientOptions());
    try (CuttingProxy proxy = new CuttingProxy(REDIS.host(), REDIS.port())) {
      RedisClient viaProxy = RedisClient.create(
          RedisURI.builder().withHost("127.0.0.1").withPort(proxy.port()).withTimeout(Duration.ofSeconds(5)).build());
      if (protocol != null) {
        viaProxy.setOptions(io.lettuce.core.ClientOptions.builder().protocolVersion(protocol).build());
      }
      try (RedisTier writer = RedisTier.create(direct);
          RedisTier reader = RedisTier.create(viaProxy).alwaysMgetFirst()) {
        List<String> keys = new ArrayList<>();
        for (int i = 0; i < KEYS; i++) {
          keys.add("k" + i);
          join(writer.put(cache, "k" + i, entry("v" + i), TTL));
        }
        // Patterns recorded after the entries (none matches them): the script hands them back in its nested list,
        // and the MGET leaves the entries (older than gmax) to the script.
        for (int p = 0; p < 3; p++) {
          join(writer.invalidatePattern(cache, "zz" + p + "*"));
        }
        Map<String, L2Read> before = join(reader.getAll(cache, keys));
        for (int i = 0; i < KEYS; i++) {
          assertThat(text(before.get("k" + i))).as("k" + i).isEqualTo("v" + i);
        }
        List<String> wrong = new ArrayList<>();
        int failed = 0;
        int answered = 0;
        int missed = 0;
        // The reply: *7, the clock, the patterns list (6 bulk strings), 4 entries, the time: ~300 bytes.
        for (int offset = 1; offset < 330; offset += offset < 120 ? 3 : 11) {
          int cutsBefore = proxy.cuts.get();
          proxy.cutNextReplyAfter("EVALSHA", offset);
          Map<String, L2Read> after;
          try {
            after = reader.getAll(cache, keys).get(20, TimeUnit.SECONDS);
          } catch (ExecutionException e) {
            failed++;
            continue;
          }
          if (proxy.cuts.get() == cutsBefore) {
            break; // past the end of the reply
          }
          answered++;
          for (int i = 0; i < KEYS; i++) {
            L2Read read = after.get("k" + i);
            if (!read.isHit()) {
              missed++;
            } else if (!("v" + i).equals(text(read))) {
              wrong.add("offset " + offset + ": k" + i + " -> " + text(read));
            }
          }
        }
        System.out.println("SWEEP reads (" + protocol + "): " + answered + " answered (" + missed + " key misses), " + failed
            + " failed; wrong: " + wrong);
        assertThat(wrong).as("keys answered with another key's value").isEmpty();
      } finally {
        viaProxy.shutdown(Duration.ZERO, Duration.ofSeconds(2));
      }
    } finally {
      direct.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
  }

  @Test
  void anMgetReplyCutAtAnyOffsetAnswersEachKeyWithItsOwnValueOrFails() throws Exception {
    String cache = uniqueName("msweep");
    RedisClient direct = RedisClient.create(REDIS.uri());
    direct.setOptions(RedisTier.recommendedClientOptions());
    try (CuttingProxy proxy = new CuttingProxy(REDIS.host(), REDIS.port())) {
      RedisClient viaProxy = RedisClient.create(
          RedisURI.builder().withHost("127.0.0.1").withPort(proxy.port()).withTimeout(Duration.ofSeconds(5)).build());
      try (RedisTier writer = RedisTier.create(direct);
          RedisTier reader = RedisTier.create(viaProxy).alwaysMgetFirst()) {
        join(writer.put(cache, "seed", entry("seed"), TTL));
        join(reader.get(cache, "seed"));
        List<String> keys = new ArrayList<>();
        for (int i = 0; i < KEYS; i++) {
          keys.add("k" + i);
          join(writer.put(cache, "k" + i, entry("v" + i), TTL));
        }
        List<String> wrong = new ArrayList<>();
        int failed = 0;
        int answered = 0;
        // The reply: *7, clock, floor, gmax (bulk strings), 4 entries: ~250 bytes.
        for (int offset = 1; offset < 300; offset += offset < 90 ? 3 : 9) {
          int cutsBefore = proxy.cuts.get();
          proxy.cutNextReplyAfter("MGET", offset);
          Map<String, L2Read> after;
          try {
            after = reader.getAll(cache, keys).get(20, TimeUnit.SECONDS);
          } catch (ExecutionException e) {
            failed++;
            continue;
          }
          if (proxy.cuts.get() == cutsBefore) {
            break;
          }
          answered++;
          for (int i = 0; i < KEYS; i++) {
            L2Read read = after.get("k" + i);
            if (!read.isHit() || !("v" + i).equals(text(read))) {
              wrong.add("offset " + offset + ": k" + i + " -> " + text(read));
            }
          }
        }
        System.out.println("SWEEP mget: " + answered + " answered, " + failed + " failed; wrong: " + wrong);
        assertThat(wrong).as("keys answered with another key's value or a miss").isEmpty();
      } finally {
        viaProxy.shutdown(Duration.ZERO, Duration.ofSeconds(2));
      }
    } finally {
      direct.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
  }

  @Test
  void aWriteScriptReplyCutAtAnyOffsetReportsOnlyKeysItWrote() throws Exception {
    String cache = uniqueName("wsweep");
    RedisClient direct = RedisClient.create(REDIS.uri());
    direct.setOptions(RedisTier.recommendedClientOptions());
    try (CuttingProxy proxy = new CuttingProxy(REDIS.host(), REDIS.port())) {
      RedisClient viaProxy = RedisClient.create(
          RedisURI.builder().withHost("127.0.0.1").withPort(proxy.port()).withTimeout(Duration.ofSeconds(5)).build());
      try (RedisTier checker = RedisTier.create(direct); RedisTier writer = RedisTier.create(viaProxy)) {
        List<String> wrong = new ArrayList<>();
        int failed = 0;
        int answered = 0;
        // The reply: *6, clock, time, three positions: ~70 bytes.
        for (int offset = 1; offset < 80; offset += 2) {
          int cutsBefore = proxy.cuts.get();
          Map<String, L2Write> writes = new LinkedHashMap<>();
          for (int i = 0; i < KEYS; i++) {
            String key = "w" + i;
            long version = join(checker.get(cache, key)).version();
            // Key w1's load read a version too old (0): refused.
            writes.put(key, new L2Write(entry(key + "@" + offset), i == 1 ? 0 : version));
          }
          proxy.cutNextReplyAfter("EVALSHA", offset);
          Collection<String> written;
          try {
            written = writer.putIfCurrent(cache, writes, TTL).get(20, TimeUnit.SECONDS);
          } catch (ExecutionException e) {
            System.out.println("SWEEP write offset " + offset + " failed " + e.getCause());
            failed++;
            continue;
          }
          if (proxy.cuts.get() == cutsBefore) {
            break;
          }
          answered++;
          System.out.println("SWEEP write offset " + offset + " answered " + written);
          for (String key : written) {
            L2Read now = join(checker.get(cache, key));
            if (!now.isHit() || !(key + "@" + offset).equals(text(now))) {
              wrong.add("offset " + offset + ": " + key + " reported written, holds " + text(now));
            }
          }
        }
        System.out.println("SWEEP writes: " + answered + " answered, " + failed + " failed; wrong: " + wrong);
        assertThat(wrong).as("keys reported written that do not hold the write").isEmpty();
      } finally {
        viaProxy.shutdown(Duration.ZERO, Duration.ofSeconds(2));
      }
    } finally {
      direct.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
  }

  private static String text(L2Read read) {
    return read.entry() == null || read.entry().value() == null
        ? null
        : new String(read.entry().value(), StandardCharsets.UTF_8);
  }
}
