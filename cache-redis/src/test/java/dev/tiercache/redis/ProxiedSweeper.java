package dev.tiercache.redis;

import static dev.tiercache.redis.StoreKit.entry;
import static dev.tiercache.redis.StoreKit.join;

import dev.tiercache.redis.RedisMgetReplayTest.CuttingProxy;
import dev.tiercache.redis.testing.RedisExtension;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.ScanArgs;
import io.lettuce.core.ScanIterator;
import io.lettuce.core.api.StatefulRedisConnection;
import java.io.IOException;
import java.time.Duration;

/**
 * Pattern sweeps whose replies a {@link CuttingProxy} can cut: {@link #sweeper} reaches Redis through the proxy with
 * Lettuce's default client options (commands in flight at a disconnect are replayed after the reconnect), while
 * {@link #writer} and {@link #raw} go to Redis directly, to write entries and to count what Redis holds.
 */
final class ProxiedSweeper implements AutoCloseable {

  static final Duration TTL = Duration.ofMinutes(5);

  final CuttingProxy proxy;
  final RedisTier writer;
  final RedisTier sweeper;
  final StatefulRedisConnection<String, String> raw;
  private final RedisClient direct;
  private final RedisClient viaProxy;

  ProxiedSweeper(RedisExtension redis, int scanBatch) throws IOException {
    direct = RedisClient.create(redis.uri());
    direct.setOptions(RedisTier.recommendedClientOptions());
    proxy = new CuttingProxy(redis.host(), redis.port());
    viaProxy = RedisClient.create(
        RedisURI.builder().withHost("127.0.0.1").withPort(proxy.port()).withTimeout(Duration.ofSeconds(10)).build());
    raw = direct.connect();
    writer = RedisTier.create(direct);
    sweeper = RedisTier.create(viaProxy, RedisTierOptions.builder().scanBatch(scanBatch).build());
  }

  /** Writes {@code count} entries {@code prefix + i} through the writer and waits for each. */
  void write(String cache, String prefix, int count) {
    for (int i = 0; i < count; i++) {
      join(writer.put(cache, prefix + i, entry("v"), TTL));
    }
  }

  /** How many entry keys of the cache Redis holds whose name contains {@code marker} (e.g. "}:k:p:"). */
  long count(String cache, String marker) {
    return entries(raw, cache, marker);
  }

  /** {@link #count} over any connection. */
  static long entries(StatefulRedisConnection<String, String> raw, String cache, String marker) {
    long found = 0;
    ScanIterator<String> scan =
        ScanIterator.scan(raw.sync(), ScanArgs.Builder.matches("tiercache:{" + cache + "}:k:*").limit(500));
    while (scan.hasNext()) {
      if (scan.next().contains(marker)) {
        found++;
      }
    }
    return found;
  }

  @Override
  public void close() {
    try (proxy; raw; writer; sweeper) {
      // closed in reverse order, then the clients below
    } finally {
      viaProxy.shutdown(Duration.ZERO, Duration.ofSeconds(2));
      direct.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
  }
}
