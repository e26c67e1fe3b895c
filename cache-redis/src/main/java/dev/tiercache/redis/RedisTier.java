package dev.tiercache.redis;

import static dev.tiercache.redis.KeySpace.bytes;

import dev.tiercache.Tags;
import dev.tiercache.spi.InvalidationBus;
import dev.tiercache.spi.L2Entry;
import dev.tiercache.spi.L2Read;
import dev.tiercache.spi.L2Store;
import dev.tiercache.spi.L2Write;
import io.lettuce.core.ClientOptions;
import io.lettuce.core.KeyScanCursor;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisConnectionException;
import io.lettuce.core.RedisURI;
import io.lettuce.core.ScanArgs;
import io.lettuce.core.ScanCursor;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.SetArgs;
import io.lettuce.core.api.StatefulConnection;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.cluster.ClusterClientOptions;
import io.lettuce.core.cluster.ClusterTopologyRefreshOptions;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.DefaultClientResources;
import io.lettuce.core.resource.Delay;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;
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
 * Tag and prefix invalidations are logical: they record a version that reads compare entries against, so they cost
 * the caller one small script per bucket however many keys they cover; covered entries then expire by their TTL.
 * A key invalidation leaves a tombstone, and a pattern invalidation is recorded and then deletes matching keys with
 * {@code SCAN} (never {@code KEYS}) in batches on every master. A value this store cannot read (written by another
 * program, or by an incompatible version) is reported as an entry of an unknown codec, which the cache counts as an
 * undecodable miss.
 *
 * <h2>Ownership</h2>
 * A tier opens its own connections and closes them in {@link #close()}. It shuts down the client only when it
 * created it ({@link #create(RedisURI)}); a client passed in stays the caller's.
 */
public final class RedisTier implements L2Store {

  /** How many recent patterns each bucket remembers before it refuses every older write instead. */
  static final int PATTERNS_KEPT = 256;

  /** The request queue bound of {@link #recommendedClientOptions()}. */
  public static final int RECOMMENDED_REQUEST_QUEUE = 10_000;

  /** The least time between two adaptive topology reloads in {@link #recommendedClusterClientOptions()}. */
  public static final Duration RECOMMENDED_ADAPTIVE_REFRESH_TIMEOUT = Duration.ofMillis(500);

  /** The periodic topology reload of {@link #recommendedClusterClientOptions()}, a backstop. */
  public static final Duration RECOMMENDED_PERIODIC_REFRESH = Duration.ofSeconds(5);

  /** The longest wait between two reconnect attempts with {@link #recommendedReconnectDelay()}. */
  public static final Duration RECOMMENDED_MAX_RECONNECT_DELAY = Duration.ofMillis(500);

  private static final Logger LOG = LoggerFactory.getLogger(RedisTier.class);

  private static final byte[] FORMAT = bytes(Scripts.FORMAT);
  private static final byte[] FORCE = bytes("1");
  private static final byte[] CONDITIONAL = bytes("0");
  private static final byte[] ABSENT = bytes("a");
  private static final byte[] PRESENT = new byte[0];
  private static final String UNREADABLE = "!unreadable";

  private final RedisTierOptions options;
  private final KeySpace keys;
  private final RedisConnections connections;
  private final RedisScripting scripts;
  private final RedisBus bus;
  private final AutoCloseable ownedClient;

  private RedisTier(
      RedisTierOptions options,
      boolean cluster,
      RedisConnections connections,
      RedisBus.Connector busConnector,
      AutoCloseable ownedClient) {
    this.options = options;
    this.keys = new KeySpace(options.namespace(), options.buckets(cluster));
    this.connections = connections;
    this.scripts = new RedisScripting(connections);
    this.ownedClient = ownedClient;
    this.bus = new RedisBus(keys, connections, busConnector, options);
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
    return standalone(client, options, null);
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
    ClientResources resources = DefaultClientResources.builder().reconnectDelay(recommendedReconnectDelay()).build();
    RedisClient client = RedisClient.create(resources, uri);
    client.setOptions(recommendedClientOptions());
    AutoCloseable owned = () -> {
      client.shutdown();
      resources.shutdown().get(10, java.util.concurrent.TimeUnit.SECONDS);
    };
    try {
      return standalone(client, RedisTierOptions.create(), owned);
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
    Objects.requireNonNull(client, "client");
    return open(
        options,
        true,
        client.getOptions(),
        () -> client.connect(ByteArrayCodec.INSTANCE),
        c -> ((StatefulRedisClusterConnection<byte[], byte[]>) c).async(),
        () -> client.connectPubSub(ByteArrayCodec.INSTANCE),
        new TopologyRefresh(client)::failed,
        null);
  }

  /** The server's own words (WRONGPASS, NOAUTH, connection refused) are at the bottom of Lettuce's chain. */
  private static String rootMessage(Throwable e) {
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    return root.getMessage();
  }

  private static RedisTier standalone(RedisClient client, RedisTierOptions options, AutoCloseable owned) {
    Objects.requireNonNull(client, "client");
    return open(
        options,
        false,
        client.getOptions(),
        () -> client.connect(ByteArrayCodec.INSTANCE),
        c -> ((StatefulRedisConnection<byte[], byte[]>) c).async(),
        () -> client.connectPubSub(ByteArrayCodec.INSTANCE),
        failure -> {},
        owned);
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
      AutoCloseable owned) {
    Objects.requireNonNull(options, "options");
    warnIfQueueingWhileDisconnected(clientOptions);
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
    return new RedisTier(options, cluster, connections, pubSub, owned);
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

  // ---- reads ----

  @Override
  public CompletableFuture<L2Read> get(String cache, String key) {
    return readBucket(cache, keys.bucketOf(key), List.of(key)).thenApply(reads -> reads.get(key));
  }

  @Override
  public CompletableFuture<Map<String, L2Read>> getAll(String cache, Collection<String> wanted) {
    Map<Integer, List<String>> byBucket = byBucket(wanted);
    List<CompletableFuture<Map<String, L2Read>>> parts = new ArrayList<>();
    byBucket.forEach((bucket, bucketKeys) -> parts.add(readBucket(cache, bucket, bucketKeys)));
    return CompletableFuture.allOf(parts.toArray(CompletableFuture[]::new))
        .thenApply(
            done -> {
              Map<String, L2Read> all = new LinkedHashMap<>();
              parts.forEach(part -> all.putAll(part.join()));
              Map<String, L2Read> ordered = new LinkedHashMap<>();
              wanted.forEach(k -> ordered.put(k, all.get(k)));
              return ordered;
            });
  }

  private CompletableFuture<Map<String, L2Read>> readBucket(String cache, int bucket, List<String> bucketKeys) {
    byte[][] scriptKeys = new byte[bucketKeys.size() + 1][];
    scriptKeys[0] = bytes(keys.clock(cache, bucket));
    String entryPrefix = keys.entryPrefix(cache, bucket);
    for (int i = 0; i < bucketKeys.size(); i++) {
      scriptKeys[i + 1] = bytes(entryPrefix + bucketKeys.get(i));
    }
    return scripts
        .<List<Object>>run(
            Scripts.READ,
            ScriptOutputType.MULTI,
            scriptKeys,
            bytes(keys.metaPrefix(cache, bucket)),
            bytes(entryPrefix),
            FORMAT)
        .thenApply(
            reply -> {
              long version = (Long) reply.get(0);
              Map<String, L2Read> reads = new LinkedHashMap<>();
              for (int i = 0; i < bucketKeys.size(); i++) {
                reads.put(bucketKeys.get(i), new L2Read(entryOf(reply.get(i + 1)), version));
              }
              return reads;
            });
  }

  private static L2Entry entryOf(Object reply) {
    if (reply instanceof Long code) {
      return code == 0 ? null : new L2Entry(UNREADABLE, new byte[0], Tags.empty());
    }
    List<?> fields = (List<?>) reply;
    String codec = new String((byte[]) fields.get(0), StandardCharsets.UTF_8);
    boolean absent = ((byte[]) fields.get(1)).length > 0;
    byte[] data = (byte[]) fields.get(2);
    return new L2Entry(codec, absent ? null : data, decodeTags((byte[]) fields.get(3)));
  }

  /**
   * Tags as one field: each tag as its UTF-8 byte length, a colon, and its bytes. Lua splits it without a table per
   * tag field, and no tag content can break it.
   */
  static byte[] encodeTags(Tags tags) {
    if (tags.isEmpty()) {
      return PRESENT;
    }
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    for (String tag : tags) {
      byte[] utf8 = bytes(tag);
      out.writeBytes(bytes(utf8.length + ":"));
      out.writeBytes(utf8);
    }
    return out.toByteArray();
  }

  static Tags decodeTags(byte[] encoded) {
    if (encoded.length == 0) {
      return Tags.empty();
    }
    List<String> tags = new ArrayList<>();
    int i = 0;
    while (i < encoded.length) {
      int colon = i;
      while (encoded[colon] != ':') {
        colon++;
      }
      int length = Integer.parseInt(new String(encoded, i, colon - i, StandardCharsets.US_ASCII));
      tags.add(new String(encoded, colon + 1, length, StandardCharsets.UTF_8));
      i = colon + 1 + length;
    }
    return Tags.of(tags);
  }

  // ---- writes ----

  @Override
  public CompletableFuture<Collection<String>> putIfCurrent(
      String cache, Map<String, L2Write> writes, Duration ttl) {
    Map<Integer, List<String>> byBucket = byBucket(writes.keySet());
    List<CompletableFuture<List<String>>> parts = new ArrayList<>();
    byBucket.forEach((bucket, bucketKeys) -> parts.add(writeBucket(cache, bucket, bucketKeys, writes, ttl, false)));
    return CompletableFuture.allOf(parts.toArray(CompletableFuture[]::new))
        .thenApply(
            done -> {
              List<String> written = new ArrayList<>();
              parts.forEach(part -> written.addAll(part.join()));
              return written;
            });
  }

  @Override
  public CompletableFuture<Void> put(String cache, String key, L2Entry entry, Duration ttl) {
    return writeBucket(cache, keys.bucketOf(key), List.of(key), Map.of(key, new L2Write(entry, 0)), ttl, true)
        .thenApply(written -> null);
  }

  private CompletableFuture<List<String>> writeBucket(
      String cache, int bucket, List<String> bucketKeys, Map<String, L2Write> writes, Duration ttl, boolean force) {
    String entryPrefix = keys.entryPrefix(cache, bucket);
    byte[][] scriptKeys = new byte[bucketKeys.size() + 1][];
    scriptKeys[0] = bytes(keys.clock(cache, bucket));
    List<byte[]> args = new ArrayList<>();
    args.add(bytes(keys.metaPrefix(cache, bucket)));
    args.add(bytes(entryPrefix));
    args.add(FORMAT);
    args.add(bytes(Long.toString(cappedTtl(ttl))));
    args.add(force ? FORCE : CONDITIONAL);
    for (int i = 0; i < bucketKeys.size(); i++) {
      String key = bucketKeys.get(i);
      scriptKeys[i + 1] = bytes(entryPrefix + key);
      L2Write write = writes.get(key);
      L2Entry entry = write.entry();
      args.add(bytes(Long.toString(write.version())));
      args.add(bytes(entry.codecId()));
      args.add(entry.isAbsent() ? ABSENT : PRESENT);
      args.add(entry.isAbsent() ? PRESENT : entry.value());
      args.add(encodeTags(entry.tags()));
    }
    return scripts
        .<List<Long>>run(Scripts.WRITE, ScriptOutputType.MULTI, scriptKeys, args.toArray(byte[][]::new))
        .thenApply(
            positions -> {
              List<String> written = new ArrayList<>(positions.size());
              positions.forEach(p -> written.add(bucketKeys.get(p.intValue() - 1)));
              return written;
            });
  }

  private long cappedTtl(Duration ttl) {
    return Math.max(1, Math.min(ttl.toMillis(), options.invalidationMemory().toMillis()));
  }

  // ---- load leases ----

  @Override
  public CompletableFuture<Boolean> tryLease(String cache, String key, String owner, Duration ttl) {
    byte[] lease = bytes(keys.lease(cache, key));
    SetArgs onlyIfFree = SetArgs.Builder.nx().px(Math.max(1, ttl.toMillis()));
    return connections.call(
        c -> c.set(lease, bytes(owner), onlyIfFree).toCompletableFuture().thenApply("OK"::equals));
  }

  @Override
  public CompletableFuture<Void> releaseLease(String cache, String key, String owner) {
    return scripts
        .<Long>run(
            Scripts.RELEASE_LEASE, ScriptOutputType.INTEGER, new byte[][] {bytes(keys.lease(cache, key))},
            bytes(owner))
        .thenApply(released -> null);
  }

  // ---- invalidation ----

  @Override
  public CompletableFuture<Void> invalidateKey(String cache, String key) {
    int bucket = keys.bucketOf(key);
    return scripts
        .<Long>run(
            Scripts.INVALIDATE_KEY,
            ScriptOutputType.INTEGER,
            new byte[][] {bytes(keys.clock(cache, bucket)), bytes(keys.entry(cache, key))},
            FORMAT,
            bytes(Long.toString(options.tombstoneTtl().toMillis())),
            bytes(keys.metaPrefix(cache, bucket)))
        .thenApply(v -> null);
  }

  @Override
  public CompletableFuture<Void> invalidateTag(String cache, String tag) {
    return group(cache, "t", tag);
  }

  @Override
  public CompletableFuture<Void> invalidatePrefix(String cache, String prefix) {
    return group(cache, "p", prefix);
  }

  /** A tag or prefix epoch in every bucket: a fixed cost, however many keys it covers. */
  private CompletableFuture<Void> group(String cache, String kind, String argument) {
    byte[] memory = bytes(Long.toString(options.invalidationMemory().toMillis()));
    List<CompletableFuture<Long>> parts = new ArrayList<>();
    for (int bucket = 0; bucket < keys.buckets(); bucket++) {
      parts.add(
          scripts.run(
              Scripts.INVALIDATE_GROUP,
              ScriptOutputType.INTEGER,
              new byte[][] {bytes(keys.clock(cache, bucket))},
              bytes(keys.metaPrefix(cache, bucket)),
              bytes(kind),
              bytes(argument),
              memory));
    }
    return CompletableFuture.allOf(parts.toArray(CompletableFuture[]::new));
  }

  @Override
  public CompletableFuture<Void> invalidatePattern(String cache, String glob) {
    byte[] memory = bytes(Long.toString(options.invalidationMemory().toMillis()));
    byte[] luaPattern = LuaPattern.fromGlob(glob);
    byte[] keep = bytes(Integer.toString(PATTERNS_KEPT));
    List<CompletableFuture<Long>> recorded = new ArrayList<>();
    for (int bucket = 0; bucket < keys.buckets(); bucket++) {
      recorded.add(
          scripts.run(
              Scripts.INVALIDATE_PATTERN,
              ScriptOutputType.INTEGER,
              new byte[][] {bytes(keys.clock(cache, bucket))},
              bytes(keys.metaPrefix(cache, bucket)),
              luaPattern,
              memory,
              keep));
    }
    ScanArgs match = ScanArgs.Builder.matches(bytes(keys.scanPattern(cache, glob))).limit(options.scanBatch());
    return CompletableFuture.allOf(recorded.toArray(CompletableFuture[]::new))
        .thenComposeAsync(done -> scanAndUnlink(ScanCursor.INITIAL, match));
  }

  /**
   * One SCAN step, an UNLINK of what it found, then the next step: batches, never the whole key space at once. Each
   * step is issued off Lettuce's event loop: a Cluster SCAN may wait for a node connection, which must not block the
   * thread that would deliver it.
   */
  private CompletableFuture<Void> scanAndUnlink(ScanCursor cursor, ScanArgs match) {
    return connections
        .call(commands -> commands.scan(cursor, match).toCompletableFuture())
        .thenComposeAsync(
            (KeyScanCursor<byte[]> step) -> {
              CompletableFuture<?> unlinked =
                  step.getKeys().isEmpty()
                      ? CompletableFuture.completedFuture(null)
                      : connections.call(
                          commands -> commands.unlink(step.getKeys().toArray(byte[][]::new)).toCompletableFuture());
              return unlinked.thenComposeAsync(
                  u -> step.isFinished() ? CompletableFuture.completedFuture(null) : scanAndUnlink(step, match));
            });
  }

  private Map<Integer, List<String>> byBucket(Collection<String> wanted) {
    Map<Integer, List<String>> byBucket = new LinkedHashMap<>();
    for (String key : wanted) {
      byBucket.computeIfAbsent(keys.bucketOf(key), b -> new ArrayList<>()).add(key);
    }
    return byBucket;
  }

  /** Closes the bus and the connections, and shuts down the client if this tier created it. */
  @Override
  public void close() {
    bus.close();
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
