package dev.tiercache.redis;

import dev.tiercache.spi.InvalidationBus;
import dev.tiercache.spi.InvalidationMessage;
import dev.tiercache.spi.L2Entry;
import dev.tiercache.spi.L2Read;
import dev.tiercache.spi.L2Store;
import dev.tiercache.spi.L2Write;
import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisConnectionException;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulConnection;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.cluster.ClusterClientOptions;
import io.lettuce.core.cluster.ClusterTopologyRefreshOptions;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.metrics.CommandLatencyRecorder;
import io.lettuce.core.output.NestedMultiOutput;
import io.lettuce.core.protocol.Command;
import io.lettuce.core.protocol.CommandArgs;
import io.lettuce.core.protocol.CommandType;
import io.lettuce.core.protocol.RedisCommand;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.DefaultClientResources;
import io.lettuce.core.resource.Delay;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Redis L2 of a {@link dev.tiercache.TieredCache}, with its {@link #bus() invalidation bus}, on Lettuce.
 * Works with standalone Redis, Sentinel (through a Sentinel {@link RedisURI}) and Redis Cluster; TLS and ACL users
 * come through the {@link RedisURI} ({@code rediss://}, {@code withAuthentication(user, password)}).
 *
 * <pre>{@code
 * RedisClient client = RedisClient.create("redis://localhost:6379");
 * RedisTier redis = RedisTier.create(client);
 * TieredCache<String, User> users = TieredCache.<String, User>builder("users")
 *     .l2(redis)                 // the bus comes with it
 *     .valueCodec(JsonCodec.of(User.class))
 *     .build();
 * }</pre>
 *
 * <h2>How invalidation works in Redis</h2>
 * Every invalidation is logical and costs the caller one small script per bucket, however many keys it covers: a key
 * leaves a tombstone, a tag or prefix an epoch that reads compare entries against, a pattern a record that reads
 * hand back to the JVM to match (no user pattern is ever matched inside Redis), and {@link #invalidateAll} raises a
 * floor. Matching entries of a pattern are then removed in the background with {@code SCAN} (never {@code KEYS})
 * and {@code UNLINK}. The tier {@link #announcesInvalidations() announces} invalidations: the bus message is
 * published from the script that makes the change (the last bucket's, after all others), so a returned invalidation
 * has reached both the L2 and the bus, and neither happens alone.
 *
 * <h2>What holds for versions</h2>
 * Each bucket's clock ticks {@code max(clock + 1, server time in µs)} and never goes backwards while its key exists; a
 * clock that is missing or corrupt re-seeds from the server time and raises the bucket's floor to it, so entries and
 * reads older than the loss are misses and refused writes. A clock at {@code 2^53 - 1}, the largest exact version,
 * cannot tick: its bucket is exhausted (every read misses, every write is dropped, invalidations still reach the
 * other instances) until an operator deletes its keys, as the README says. A conditional write is refused when an
 * invalidation or unconditional put covering its key came after its read, when its read is older than
 * {@link RedisTierOptions#tombstoneTtl() the tombstone TTL} (how long tombstones are kept, so an expired tombstone
 * never lets it through), when any pattern was recorded after its read, and when its read is newer than the clock (a
 * rollback is evident: the floor rises to the server time). A rollback that no read or write ever saw the far side
 * of (a load whose read preceded the restored snapshot) cannot be told from the present and is not detected.
 * The state safety depends on carries no TTL, so a {@code volatile-*} eviction policy never removes it; it is bounded
 * instead ({@code Limits}): tombstones are kept for the tombstone TTL and at most 20,000 per bucket, tag and prefix
 * epochs and patterns for the longest entry TTL written to the bucket (at least the tombstone TTL) and at most
 * 10,000 epochs, 64 prefix lengths and 64 patterns per bucket; past a bound the oldest go and a floor rises, which
 * only ever refuses more writes or turns more old entries into misses. A read costs one {@code MGET} per bucket;
 * an entry written before its bucket's newest tag, prefix or pattern invalidation costs one script more, with one
 * {@code HMGET} for its tags and at most 64 prefixes, whatever the history.
 *
 * <p>A value this store cannot read (written by another program, by an incompatible version, or corrupt) is
 * reported as an entry of an unknown codec, which the cache counts as an undecodable miss; the next write replaces
 * it. Keys, tags, prefixes and patterns must be well-formed UTF-16: a lone surrogate fails the call with an
 * {@link IllegalArgumentException}.
 *
 * <h2>Ownership</h2>
 * A tier opens its own connections and closes them in {@link #close()}. It shuts down the client only when it
 * created it ({@link #create(RedisURI)}); a client passed in stays the caller's.
 */
public final class RedisTier implements L2Store {

  /** The request queue bound of {@link #recommendedClientOptions()}. */
  public static final int RECOMMENDED_REQUEST_QUEUE = 10_000;

  /** The least time between two adaptive topology reloads in {@link #recommendedClusterClientOptions()}. */
  public static final Duration RECOMMENDED_ADAPTIVE_REFRESH_TIMEOUT = Duration.ofMillis(500);

  /** The periodic topology reload of {@link #recommendedClusterClientOptions()}, a backstop. */
  public static final Duration RECOMMENDED_PERIODIC_REFRESH = Duration.ofSeconds(5);

  /** The longest wait between two reconnect attempts with {@link #recommendedReconnectDelay()}. */
  public static final Duration RECOMMENDED_MAX_RECONNECT_DELAY = Duration.ofMillis(500);

  private static final Logger LOG = LoggerFactory.getLogger(RedisTier.class);

  private final RedisConnections connections;
  private final RedisBus bus;
  private final PatternSweeper sweeper;
  private final TierReads reads;
  private final TierWrites writes;
  private final TierInvalidations invalidations;
  private final TierLeases leases;
  private final AutoCloseable ownedClient;

  private RedisTier(
      RedisTierOptions options,
      boolean cluster,
      RedisConnections connections,
      RedisBus.Connector busConnector,
      AutoCloseable ownedClient,
      Limits limits) {
    KeySpace keys = new KeySpace(options.namespace(), options.buckets(cluster));
    RedisScripting scripts = new RedisScripting(connections, keys, cluster);
    this.connections = connections;
    this.ownedClient = ownedClient;
    this.sweeper = new PatternSweeper(keys, connections, scripts, options.scanBatch());
    CacheKeyBytes keyBytes = new CacheKeyBytes(keys);
    this.reads = new TierReads(keys, keyBytes, scripts, connections, limits);
    this.writes = new TierWrites(keys, keyBytes, scripts, options, limits);
    this.invalidations = new TierInvalidations(keys, keyBytes, scripts, sweeper, options, limits);
    this.leases = new TierLeases(keys, connections, scripts);
    this.bus = new RedisBus(keys, connections, busConnector, options, scripts.seen);
  }

  /**
   * Creates a tier on a standalone or Sentinel Redis with default options.
   *
   * @param client the client; stays the caller's to shut down
   * @return the tier
   * @throws io.lettuce.core.RedisConnectionException if Redis cannot be reached or refuses the credentials
   */
  public static RedisTier create(RedisClient client) {
    return create(client, RedisTierOptions.create());
  }

  /**
   * Creates a tier on a standalone or Sentinel Redis.
   *
   * @param client the client; stays the caller's to shut down
   * @param options the options
   * @return the tier
   * @throws io.lettuce.core.RedisConnectionException if Redis cannot be reached or refuses the credentials
   */
  public static RedisTier create(RedisClient client, RedisTierOptions options) {
    return standalone(client, options, null, Limits.DEFAULT);
  }

  /**
   * Creates a tier, and a client it owns, for a Redis URI.
   *
   * @param uri the server, with credentials and TLS as the URI says
   * @return the tier; closing it shuts the client down
   * @throws io.lettuce.core.RedisConnectionException if Redis cannot be reached or refuses the credentials
   */
  @SuppressWarnings("deprecation") // getUsername: the credentials provider that replaces it is asynchronous
  public static RedisTier create(RedisURI uri) {
    Objects.requireNonNull(uri, "uri");
    ClientResources resources = ownedResources();
    RedisClient client = RedisClient.create(resources, uri);
    client.setOptions(recommendedClientOptions());
    AutoCloseable owned = () -> {
      client.shutdown();
      resources.shutdown().get(10, java.util.concurrent.TimeUnit.SECONDS);
    };
    try {
      return standalone(client, RedisTierOptions.create(), owned, Limits.DEFAULT);
    } catch (RedisConnectionException e) {
      closeQuietly(owned);
      throw new RedisConnectionException(
          "could not connect to Redis at " + uri.getHost() + ":" + uri.getPort()
              + (uri.getUsername() == null ? "" : " as user '" + uri.getUsername() + "'")
              + ": " + rootMessage(e),
          e);
    } catch (RuntimeException e) {
      closeQuietly(owned);
      throw e;
    }
  }

  private static void closeQuietly(AutoCloseable owned) {
    try {
      owned.close();
    } catch (Exception e) {
      LOG.debug("could not shut the client down: {}", e.toString());
    }
  }

  /**
   * Creates a tier on a Redis Cluster with default options ({@link RedisTierOptions#DEFAULT_CLUSTER_BUCKETS}
   * buckets per cache).
   *
   * @param client the cluster client; stays the caller's to shut down
   * @return the tier
   */
  public static RedisTier create(RedisClusterClient client) {
    return create(client, RedisTierOptions.create());
  }

  /**
   * Creates a tier on a Redis Cluster.
   *
   * @param client the cluster client; stays the caller's to shut down
   * @param options the options
   * @return the tier
   */
  public static RedisTier create(RedisClusterClient client, RedisTierOptions options) {
    return create(client, options, Limits.DEFAULT);
  }

  /** A standalone tier with other bounds on its invalidation state (tests). */
  static RedisTier create(RedisClient client, RedisTierOptions options, Limits limits) {
    return standalone(client, options, null, limits);
  }

  /** A Cluster tier with other bounds on its invalidation state (tests). */
  static RedisTier create(RedisClusterClient client, RedisTierOptions options, Limits limits) {
    Objects.requireNonNull(client, "client");
    return open(
        options,
        true,
        client.getOptions(),
        () -> client.connect(ByteArrayCodec.INSTANCE),
        c -> ((StatefulRedisClusterConnection<byte[], byte[]>) c).async(),
        () -> client.connectPubSub(ByteArrayCodec.INSTANCE),
        new TopologyRefresh(client)::failed,
        null,
        limits);
  }

  /** The server's own words (WRONGPASS, NOAUTH, connection refused) are at the bottom of Lettuce's chain. */
  private static String rootMessage(Throwable e) {
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    return root.getMessage();
  }

  private static RedisTier standalone(
      RedisClient client, RedisTierOptions options, AutoCloseable owned, Limits limits) {
    Objects.requireNonNull(client, "client");
    return open(
        options,
        false,
        client.getOptions(),
        () -> client.connect(ByteArrayCodec.INSTANCE),
        c -> ((StatefulRedisConnection<byte[], byte[]>) c).async(),
        () -> client.connectPubSub(ByteArrayCodec.INSTANCE),
        failure -> {},
        owned,
        limits);
  }

  /** What standalone and Cluster tiers share: only how connections are opened differs. */
  private static RedisTier open(
      RedisTierOptions options,
      boolean cluster,
      ClientOptions clientOptions,
      RedisConnections.Opener opener,
      Function<StatefulConnection<byte[], byte[]>, RedisClusterAsyncCommands<byte[], byte[]>> commandsOf,
      RedisBus.Connector pubSub,
      java.util.function.Consumer<Throwable> onFailure,
      AutoCloseable owned,
      Limits limits) {
    Objects.requireNonNull(options, "options");
    warnIfQueueingWhileDisconnected(clientOptions);
    warnIfReplaying(clientOptions);
    RedisConnections connections = new RedisConnections(opener, commandsOf, options.connectRetryInterval(), onFailure);
    StartupChecks checks = new StartupChecks(connections, options);
    if (connections.isConnected()) {
      try {
        checks.run();
      } catch (RuntimeException e) {
        connections.close();
        throw e;
      }
    } else {
      connections.whenConnected(() -> {
        try {
          checks.run();
        } catch (IllegalStateException e) {
          LOG.error("the tier will not use Redis: {}", e.getMessage());
          connections.refuse(e);
        }
      });
    }
    return new RedisTier(options, cluster, connections, pubSub, owned, limits);
  }

  /**
   * Client options that suit a cache: commands are rejected at once while disconnected instead of queued, the
   * request queue is bounded, and nothing buffered at a disconnect is replayed after the reconnect (a replayed write
   * could be older than what happened meanwhile). {@link #create(RedisURI)} uses them; pass them to a client of
   * your own with {@code client.setOptions(RedisTier.recommendedClientOptions())}.
   *
   * @return the options
   */
  public static ClientOptions recommendedClientOptions() {
    return ClientOptions.builder()
        .autoReconnect(true)
        .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
        .requestQueueSize(RECOMMENDED_REQUEST_QUEUE)
        .replayFilter(command -> true)
        .build();
  }

  /**
   * The Cluster counterpart of {@link #recommendedClientOptions()}, which also follows failovers as fast as the
   * cluster completes them: every adaptive trigger (MOVED and ASK replies, unknown nodes, uncovered slots, and each
   * reconnect attempt to a node), rate-limited to one reload per {@link #RECOMMENDED_ADAPTIVE_REFRESH_TIMEOUT}
   * instead of Lettuce's 30 s, so a reload after the replica's promotion is not swallowed by one that ran before it;
   * a periodic reload every {@link #RECOMMENDED_PERIODIC_REFRESH} as a backstop; and dynamic refresh sources, so a
   * reload asks the nodes the topology names, not only the seeds. A Cluster tier also reloads when its own calls
   * fail for want of a node.
   *
   * @return the options
   */
  public static ClusterClientOptions recommendedClusterClientOptions() {
    ClusterClientOptions.Builder builder =
        ClusterClientOptions.builder()
            .topologyRefreshOptions(
                ClusterTopologyRefreshOptions.builder()
                    .enableAllAdaptiveRefreshTriggers()
                    .adaptiveRefreshTriggersTimeout(RECOMMENDED_ADAPTIVE_REFRESH_TIMEOUT)
                    .refreshTriggersReconnectAttempts(1)
                    .enablePeriodicRefresh(RECOMMENDED_PERIODIC_REFRESH)
                    .dynamicRefreshSources(true)
                    .closeStaleConnections(true)
                    .build());
    builder
        .autoReconnect(true)
        .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
        .requestQueueSize(RECOMMENDED_REQUEST_QUEUE)
        .replayFilter(command -> true);
    return builder.build();
  }

  /**
   * A reconnect delay that brings an instance back within about half a second of its network or Redis coming back:
   * Lettuce's default doubles up to 30 s, so after a few seconds away the next attempt can be seconds late. Jittered,
   * so that many instances do not reconnect in lock step. Client resources carry it, not client options:
   * {@code DefaultClientResources.builder().reconnectDelay(RedisTier.recommendedReconnectDelay()).build()};
   * {@link #create(RedisURI)} uses it.
   *
   * @return a supplier of the delay, one per connection
   */
  public static Supplier<Delay> recommendedReconnectDelay() {
    return () -> Delay.equalJitter(
        Duration.ofMillis(20), RECOMMENDED_MAX_RECONNECT_DELAY, 10, java.util.concurrent.TimeUnit.MILLISECONDS);
  }

  /**
   * The client resources of a tier that owns its client ({@link #create(RedisURI)}): the recommended reconnect delay,
   * and no command latency recorder. Lettuce turns one on whenever LatencyUtils and HdrHistogram are on the class path
   * (Micrometer brings them), and it measures and records every command for an event nobody can subscribe to on
   * resources that only the tier sees; the cache's own meters time what the tier does.
   */
  static ClientResources ownedResources() {
    return DefaultClientResources.builder()
        .reconnectDelay(recommendedReconnectDelay())
        .commandLatencyRecorder(CommandLatencyRecorder.disabled())
        .build();
  }

  /**
   * Warns when the client replays, after a reconnect, the commands its connection had in flight (Lettuce's default):
   * a replayed script runs twice, and its second run can land after changes made meanwhile (an invalidation another
   * instance returned from), and a reply cut short is decoded again into the same output (the tier refuses a read
   * whose reply does not have its shape, but cannot undo a write that ran twice).
   */
  static boolean warnIfReplaying(ClientOptions clientOptions) {
    Predicate<RedisCommand<?, ?, ?>> filter = clientOptions.getReplayFilter();
    boolean replays = filter == null
        || replays(filter, CommandType.EVALSHA, Scripts.READ.sha)
        // The fallback sent when the server does not know a script (as right after a restart).
        || replays(filter, CommandType.EVAL, Scripts.READ.body);
    if (replays) {
      LOG.warn(
          "the Redis client replays commands in flight after a reconnect: a replayed write can land after an"
              + " invalidation that already returned; RedisTier.recommendedClientOptions() replays nothing");
    }
    return replays;
  }

  /**
   * Whether {@code filter} lets a script command be replayed. The probe is shaped as the tier sends its scripts
   * (arguments and output), so that a filter that reads either judges it as it would judge them; one that still
   * throws cannot be shown not to replay them.
   */
  private static boolean replays(Predicate<RedisCommand<?, ?, ?>> filter, CommandType type, String script) {
    CommandArgs<byte[], byte[]> args =
        new CommandArgs<>(ByteArrayCodec.INSTANCE).add(script).add(1).addKey(new byte[] {'k'});
    Command<byte[], byte[], ?> probe = new Command<>(type, new NestedMultiOutput<>(ByteArrayCodec.INSTANCE), args);
    try {
      return !filter.test(probe);
    } catch (RuntimeException e) {
      return true;
    }
  }

  private static void warnIfQueueingWhileDisconnected(ClientOptions clientOptions) {
    if (clientOptions.getDisconnectedBehavior() != ClientOptions.DisconnectedBehavior.REJECT_COMMANDS) {
      LOG.warn(
          "the Redis client queues commands while disconnected; RedisTier.recommendedClientOptions() rejects them"
              + " at once, so that an outage costs callers nothing");
    }
  }

  @Override
  public InvalidationBus bus() {
    return bus;
  }

  @Override
  public CompletableFuture<L2Read> get(String cache, String key) {
    return guarded(() -> reads.get(cache, key));
  }

  /** Sends every later read through the {@code MGET} first, never straight to the script (tests). */
  RedisTier alwaysMgetFirst() {
    reads.alwaysMgetFirst();
    return this;
  }

  /** A read by the read script alone, skipping the {@code MGET} (tests: both must answer the same). */
  CompletableFuture<L2Read> getByScript(String cache, String key) {
    return reads.getByScript(cache, key);
  }

  @Override
  public CompletableFuture<L2Read[]> getAll(String cache, String[] wanted) {
    return guarded(() -> reads.getAll(cache, wanted));
  }

  @Override
  public CompletableFuture<Collection<String>> putIfCurrent(
      String cache, Map<String, L2Write> writes, Duration ttl) {
    return guarded(() -> this.writes.putIfCurrent(cache, writes, ttl));
  }

  @Override
  public CompletableFuture<Void> put(String cache, String key, L2Entry entry, Duration ttl) {
    return guarded(() -> this.writes.put(cache, key, entry, ttl, null, null));
  }

  /** Writes and publishes the announcement in one script: neither happens without the other. */
  @Override
  public CompletableFuture<Void> put(
      String cache, String key, L2Entry entry, Duration ttl, InvalidationMessage announcement) {
    Objects.requireNonNull(announcement, "announcement");
    return guarded(() -> this.writes.put(cache, key, entry, ttl, announcement, null));
  }

  /**
   * Writes (and publishes the announcement, if any) in one script, which refuses the write once the server's time is
   * past {@code giveUpAfter} from now, as far as this tier can tell from the server times its replies carried (never
   * later than that; with no reply from the bucket yet, it asks the bucket for its server's time first).
   */
  @Override
  public CompletableFuture<Void> put(
      String cache,
      String key,
      L2Entry entry,
      Duration ttl,
      InvalidationMessage announcement,
      Duration giveUpAfter) {
    Objects.requireNonNull(giveUpAfter, "giveUpAfter");
    return guarded(() -> this.writes.put(cache, key, entry, ttl, announcement, giveUpAfter));
  }

  /** True: invalidations and puts handed an announcement publish it from the script that makes the L2 change. */
  @Override
  public boolean announcesInvalidations() {
    return true;
  }

  /**
   * {@inheritDoc}
   *
   * <p>A {@code TRYAGAIN} error: on a Redis Cluster, a bucket's script or {@code MGET} while the bucket's slot is
   * being migrated (the scripts refuse to run anywhere until the slot is stable, see the README's Redis Cluster
   * section). The other buckets are unaffected.
   */
  @Override
  public boolean isRefusal(Throwable failure) {
    Throwable cause = RedisScripting.unwrap(failure);
    return cause instanceof io.lettuce.core.RedisCommandExecutionException
        && cause.getMessage() != null
        && cause.getMessage().startsWith("TRYAGAIN");
  }

  /**
   * Applies the message's invalidations and publishes it from the last bucket's script, after every other bucket
   * was changed: a message that left means every covered entry stopped being served. A strategy that is not built
   * in fails the call, and nothing is published.
   */
  @Override
  public CompletableFuture<Void> invalidate(String cache, InvalidationMessage announcement) {
    return guarded(
        () -> invalidations.invalidate(cache, announcement.invalidations(), announcement));
  }

  @Override
  public CompletableFuture<Void> invalidateKey(String cache, String key) {
    return applyOne(cache, "key", key);
  }

  @Override
  public CompletableFuture<Void> invalidateTag(String cache, String tag) {
    return applyOne(cache, "tag", tag);
  }

  @Override
  public CompletableFuture<Void> invalidatePrefix(String cache, String prefix) {
    return applyOne(cache, "prefix", prefix);
  }

  /** Records the pattern (reads then match it in the JVM) and removes matching entries in the background. */
  @Override
  public CompletableFuture<Void> invalidatePattern(String cache, String glob) {
    return applyOne(cache, "pattern", glob);
  }

  /** Raises every bucket's floor: a fixed cost, however many entries the cache holds. */
  @Override
  public CompletableFuture<Void> invalidateAll(String cache) {
    return applyOne(cache, "all", "");
  }

  private CompletableFuture<Void> applyOne(String cache, String strategy, String argument) {
    return guarded(
        () -> invalidations.invalidate(cache, List.of(new InvalidationMessage.Item(strategy, argument)), null));
  }

  @Override
  public CompletableFuture<Boolean> tryLease(String cache, String key, String owner, Duration ttl) {
    return guarded(() -> leases.tryLease(cache, key, owner, ttl));
  }

  @Override
  public CompletableFuture<Void> releaseLease(String cache, String key, String owner) {
    return guarded(() -> leases.releaseLease(cache, key, owner));
  }

  /** Whether a background sweep of a pattern is running (tests). */
  boolean isSweeping(String cache, String glob) {
    return sweeper.isSweeping(cache, glob);
  }

  /** Malformed text (a lone surrogate) fails the call's future, as every other failure of a store call does. */
  private static <T> CompletableFuture<T> guarded(Supplier<CompletableFuture<T>> call) {
    try {
      return call.get();
    } catch (IllegalArgumentException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  /** Closes the bus and the connections, and shuts down the client if this tier created it. */
  @Override
  public void close() {
    bus.close();
    sweeper.close();
    connections.close();
    if (ownedClient != null) {
      try {
        ownedClient.close();
      } catch (Exception e) {
        throw new IllegalStateException("could not shut down the Redis client", e);
      }
    }
  }
}
