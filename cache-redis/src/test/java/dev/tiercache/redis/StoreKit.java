package dev.tiercache.redis;

import dev.tiercache.Tags;
import dev.tiercache.spi.L2Entry;
import io.lettuce.core.RestoreArgs;
import io.lettuce.core.ScanArgs;
import io.lettuce.core.ScanIterator;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.output.StatusOutput;
import io.lettuce.core.protocol.CommandArgs;
import io.lettuce.core.protocol.CommandType;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/** What the store-level Redis tests share: bounded waits on store calls, entries, names, and raw server commands. */
final class StoreKit {

  private StoreKit() {}

  /** Waits at most 10 s for a store call; a failure or a timeout fails the test with its cause. */
  static <T> T join(CompletableFuture<T> future) {
    try {
      return future.get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError("store call failed: " + e, e);
    }
  }

  /** An entry of codec {@code c} whose value is {@code text} as UTF-8. */
  static L2Entry entry(String text, String... tags) {
    return new L2Entry("c", text.getBytes(StandardCharsets.UTF_8), Tags.of(tags));
  }

  /** A cache name no other test uses. */
  static String uniqueName(String prefix) {
    return prefix + "-" + Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 1);
  }

  /** A meta key of a one-bucket cache in the default namespace. */
  static String meta(String cache, String name) {
    return "tiercache:{" + cache + "}:m:" + name;
  }

  /** Runs {@code DEBUG <args>} (Lettuce has no method for RELOAD NOSAVE or POPULATE). */
  static void debug(RedisCommands<String, String> redis, Object... args) {
    CommandArgs<String, String> command = new CommandArgs<>(StringCodec.UTF8);
    for (Object arg : args) {
      command.add(arg.toString());
    }
    redis.dispatch(CommandType.DEBUG, new StatusOutput<>(StringCodec.UTF8), command);
  }

  /** The keys matching a glob, by SCAN in batches (never KEYS: DESIGN.md, invariant 6). */
  static List<String> scanKeys(RedisCommands<String, String> redis, String match) {
    List<String> keys = new ArrayList<>();
    ScanIterator.scan(redis, ScanArgs.Builder.matches(match).limit(500)).forEachRemaining(keys::add);
    return keys;
  }

  /** Every key of a cache (its entries and its bucket's state), dumped. */
  static Map<String, byte[]> snapshot(RedisCommands<String, String> redis, String cache) {
    Map<String, byte[]> out = new LinkedHashMap<>();
    for (String k : scanKeys(redis, "tiercache:{" + cache + "}*")) {
      byte[] dumped = redis.dump(k);
      if (dumped != null) {
        out.put(k, dumped);
      }
    }
    return out;
  }

  /** A snapshot of cache {@code from} copied into cache {@code into}'s keys, replacing them (no value names a cache). */
  static void restore(RedisCommands<String, String> redis, Map<String, byte[]> snap, String from, String into) {
    List<String> now = scanKeys(redis, "tiercache:{" + into + "}*");
    if (!now.isEmpty()) {
      redis.del(now.toArray(String[]::new));
    }
    String prefix = "tiercache:{" + from + "}";
    snap.forEach(
        (k, v) -> redis.restore("tiercache:{" + into + "}" + k.substring(prefix.length()), v, RestoreArgs.Builder.ttl(0)));
  }
}
