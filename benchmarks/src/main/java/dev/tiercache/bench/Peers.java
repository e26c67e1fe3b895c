package dev.tiercache.bench;

import com.alicp.jetcache.Cache;
import com.alicp.jetcache.CacheBuilder;
import com.alicp.jetcache.SimpleCacheManager;
import com.alicp.jetcache.anno.CacheConsts;
import com.alicp.jetcache.anno.CacheType;
import com.alicp.jetcache.embedded.CaffeineCacheBuilder;
import com.alicp.jetcache.redis.lettuce.JetCacheCodec;
import com.alicp.jetcache.redis.lettuce.RedisLettuceCacheBuilder;
import com.alicp.jetcache.support.JavaValueDecoder;
import com.alicp.jetcache.support.JavaValueEncoder;
import com.alicp.jetcache.template.CacheBuilderTemplate;
import com.alicp.jetcache.template.NotifyMonitorInstaller;
import com.alicp.jetcache.template.QuickConfig;
import dev.tiercache.TieredCache;
import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.redisson.Redisson;
import org.redisson.api.RLocalCachedMap;
import org.redisson.api.RedissonClient;
import org.redisson.api.options.LocalCachedMapOptions;
import org.redisson.api.options.LocalCachedMapOptions.EvictionPolicy;
import org.redisson.api.options.LocalCachedMapOptions.ReconnectionStrategy;
import org.redisson.api.options.LocalCachedMapOptions.SyncStrategy;
import org.redisson.client.codec.StringCodec;
import org.redisson.config.Config;

/**
 * How suite 4 sets up each library as an application instance with a local cache in front of Redis and cross-node
 * invalidation on. benchmarks/README.md describes the same configuration in words.
 */
final class Peers {

  static final Duration REMOTE_TTL = Duration.ofMinutes(30);

  private Peers() {}

  /**
   * Proves that cross-node invalidation is on: the other instance caches a key locally, this instance writes it,
   * and the other instance must see the new value within 5 s (a local cache that is not invalidated keeps the old
   * one until its TTL).
   */
  static void verifyCrossNode(String library, Supplier<String> readOnOther, Consumer<String> writeOnThis) {
    String key = "cross-node-probe";
    writeOnThis.accept("old");
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (!"old".equals(readOnOther.get())) {
      check(deadline, library + ": the other instance never saw the first value");
    }
    // A library may subscribe asynchronously (JetCache does): a message sent before its subscription is active is
    // lost, and nothing tells. The write is repeated every 200 ms until it lands, and a repeat is reported.
    int writes = 0;
    long nextWrite = System.nanoTime();
    while (!"new".equals(readOnOther.get())) {
      if (System.nanoTime() - nextWrite >= 0) {
        writeOnThis.accept("new");
        writes++;
        nextWrite = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(200);
      }
      check(deadline, library + ": the other instance kept serving its local copy after " + writes
          + " writes elsewhere");
    }
    if (writes > 1) {
      System.out.println(library + ": the other instance dropped its local copy only after write " + writes
          + " (a message sent before its subscription was active was lost)");
    }
  }

  private static void check(long deadline, String failure) {
    if (System.nanoTime() - deadline > 0) {
      throw new IllegalStateException(failure);
    }
    try {
      Thread.sleep(1);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** One Tiercache instance: its own client, a RedisTier (whose bus carries invalidations) and an L1. */
  static final class TiercacheNode implements AutoCloseable {
    final Node node;
    final TieredCache<String, String> cache;

    TiercacheNode(String namespace, String name, long localSize) {
      node = new Node(namespace);
      cache = node.cache(name, b -> b.l1(l1 -> l1.maximumSize(localSize)).l2Ttl(REMOTE_TTL));
    }

    @Override
    public void close() {
      cache.close();
      node.close();
    }
  }

  /**
   * One Redisson instance with an {@code RLocalCachedMap}, as Redisson's documentation configures a near cache:
   * {@code SyncStrategy.INVALIDATE} (the default: a change invalidates the entry on every other instance),
   * {@code ReconnectionStrategy.CLEAR} (drop the local cache after a reconnect, so missed messages cannot leave it
   * stale), a bounded local cache ({@code cacheSize} with LRU eviction), the default local store, and
   * {@code StringCodec} so values are plain UTF-8 strings as in Tiercache.
   */
  static final class RedissonNode implements AutoCloseable {
    final RedissonClient client;
    final RLocalCachedMap<String, String> map;

    RedissonNode(String namespace, String name, int localSize) {
      Config config = new Config();
      config.useSingleServer()
          .setAddress("redis://" + BenchRedis.shared().uri().getHost() + ":" + BenchRedis.shared().uri().getPort())
          .setConnectionMinimumIdleSize(2)
          .setConnectionPoolSize(8)
          .setSubscriptionConnectionMinimumIdleSize(1);
      config.setNettyThreads(4);
      client = Redisson.create(config);
      LocalCachedMapOptions<String, String> options = LocalCachedMapOptions.<String, String>name(namespace + ":" + name)
          .codec(StringCodec.INSTANCE)
          .cacheSize(localSize)
          .evictionPolicy(EvictionPolicy.LRU)
          .syncStrategy(SyncStrategy.INVALIDATE)
          .reconnectionStrategy(ReconnectionStrategy.CLEAR);
      map = client.getLocalCachedMap(options);
    }

    @Override
    public void close() {
      client.shutdown();
    }
  }

  /**
   * One JetCache instance with a two-level cache, as JetCache's documentation configures it without Spring: a
   * {@code SimpleCacheManager} whose template has a Caffeine local builder and a Lettuce remote builder with a
   * {@code broadcastChannel} (and the Pub/Sub connection its broadcast manager needs), the
   * {@code NotifyMonitorInstaller} that sends and applies local invalidations over
   * that channel, and a {@code QuickConfig} with {@code CacheType.BOTH}, {@code syncLocal(true)} and
   * {@code penetrationProtect(true)} (its single-flight for {@code computeIfAbsent}). Values go through JetCache's
   * built-in Java serialization encoder, the one its non-Spring example uses.
   */
  static final class JetCacheNode implements AutoCloseable {
    final RedisClient client;
    final SimpleCacheManager manager;
    final Cache<String, String> cache;

    @SuppressWarnings({"unchecked", "rawtypes"})
    JetCacheNode(String namespace, String name, int localSize) {
      client = RedisClient.create(BenchRedis.shared().uri());
      // As in JetCache's own non-Spring example.
      client.setOptions(ClientOptions.builder()
          .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
          .build());
      CacheBuilder local = CaffeineCacheBuilder.createCaffeineCacheBuilder().keyConvertor(k -> k);
      RedisLettuceCacheBuilder remote = RedisLettuceCacheBuilder.createRedisLettuceCacheBuilder()
          .redisClient(client)
          .keyConvertor(k -> k)
          .keyPrefix(namespace + ":")
          .valueEncoder(JavaValueEncoder.INSTANCE)
          .valueDecoder(JavaValueDecoder.INSTANCE)
          .broadcastChannel(namespace + ":jetcache-sync")
          .pubSubConnection(client.connectPubSub(new JetCacheCodec()));
      Map<String, CacheBuilder> locals = Map.of(CacheConsts.DEFAULT_AREA, local);
      Map<String, CacheBuilder> remotes = Map.of(CacheConsts.DEFAULT_AREA, (CacheBuilder) remote);
      CacheBuilderTemplate template = new CacheBuilderTemplate(true, locals, remotes);
      template.getCacheMonitorInstallers().add(new NotifyMonitorInstaller(remotes::get));
      manager = new SimpleCacheManager();
      manager.setCacheBuilderTemplate(template);
      cache = manager.getOrCreateCache(QuickConfig.newBuilder(name)
          .cacheType(CacheType.BOTH)
          .localLimit(localSize)
          .expire(REMOTE_TTL)
          .syncLocal(true)
          .penetrationProtect(true)
          .build());
    }

    @Override
    public void close() {
      manager.close();
      client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
  }
}
