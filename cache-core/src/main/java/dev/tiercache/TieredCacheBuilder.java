package dev.tiercache;

import com.github.benmanes.caffeine.cache.Ticker;
import dev.tiercache.codec.KeyCodec;
import dev.tiercache.codec.ValueCodec;
import dev.tiercache.spi.InvalidationBus;
import dev.tiercache.spi.L2Store;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.Executor;
import java.util.concurrent.ForkJoinPool;
import java.util.function.Consumer;
import java.util.regex.Pattern;

/**
 * Builds a {@link TieredCache}. Obtained from {@link TieredCache#builder(String)}; every setting is optional, and
 * {@link #build()} rejects contradictory ones with a message that names them.
 *
 * <pre>{@code
 * TieredCache<String, User> users = TieredCache.<String, User>builder("users")
 *     .keyCodec(KeyCodec.identity())
 *     .l1(l1 -> l1.maximumSize(10_000).expireAfterWrite(Duration.ofMinutes(1)))
 *     .l2(store).bus(bus)
 *     .valueCodec(JsonCodec.of(User.class))
 *     .l2Ttl(Duration.ofMinutes(30)).ttlJitter(0.1)
 *     .build();
 * }</pre>
 *
 * <p>A builder is not thread-safe and builds one cache at a time; it may be reused.
 *
 * @param <K> the key type
 * @param <V> the value type
 */
public final class TieredCacheBuilder<K, V> {

  /** The L2 time to live when none is set. */
  public static final Duration DEFAULT_L2_TTL = Duration.ofMinutes(30);

  /** How long one L2 call may take before the cache goes on without it (a read then counts as a miss). */
  public static final Duration DEFAULT_L2_TIMEOUT = Duration.ofMillis(250);

  /**
   * The L2 circuit breaker when none is set: it opens when half of the last 20 calls (at least 10) failed or timed
   * out, stays open for one second, then lets 3 calls probe the L2 and closes if they succeed.
   */
  public static final CircuitBreakerConfig DEFAULT_L2_CIRCUIT_BREAKER =
      CircuitBreakerConfig.custom()
          .slidingWindowType(CircuitBreakerConfig.SlidingWindowType.COUNT_BASED)
          .slidingWindowSize(20)
          .minimumNumberOfCalls(10)
          .failureRateThreshold(50)
          .waitDurationInOpenState(Duration.ofSeconds(1))
          .permittedNumberOfCallsInHalfOpenState(3)
          .build();

  /** How many invalidations wait for an L2 that is down before they are replaced by one of everything. */
  public static final int DEFAULT_PENDING_INVALIDATIONS = 10_000;

  /** How often pending invalidations are retried while the L2 is down. */
  public static final Duration DEFAULT_L2_RETRY_INTERVAL = Duration.ofSeconds(1);

  /**
   * The default {@link #maxStaleness staleness bound}: one second, which a loopback or LAN Redis proves with a wide
   * margin (four heartbeats per bound, each a sub-millisecond round trip) while a frozen or unreachable Redis stops
   * the L1 within a second.
   */
  public static final Duration DEFAULT_MAX_STALENESS = Duration.ofSeconds(1);

  /** The default {@link #maxKeyBytes longest encoded key}: 4 KiB of UTF-8. */
  public static final int DEFAULT_MAX_KEY_BYTES = 4 * 1024;

  /** The default {@link #maxValueBytes largest encoded value} the L2 takes: 1 MiB. */
  public static final int DEFAULT_MAX_VALUE_BYTES = 1024 * 1024;

  /** How long fail-safe serves a stale value again before it calls the failing loader once more. */
  public static final Duration DEFAULT_FAIL_SAFE_THROTTLE = Duration.ofSeconds(2);

  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9._-]+");
  private static final Pattern STRATEGY_NAME = Pattern.compile("[a-z0-9-]+");

  final String name;
  final L1Settings l1 = new L1Settings();
  L2Store l2;
  InvalidationBus bus;
  KeyCodec<? super K> keyCodec = KeyCodec.usingToString();
  ValueCodec<V> valueCodec;
  Duration l2Ttl;
  double ttlJitter;
  Duration negativeTtl;
  Duration l2Timeout = DEFAULT_L2_TIMEOUT;
  CircuitBreakerConfig l2CircuitBreaker = DEFAULT_L2_CIRCUIT_BREAKER;
  int pendingInvalidations = DEFAULT_PENDING_INVALIDATIONS;
  Duration l2RetryInterval = DEFAULT_L2_RETRY_INTERVAL;
  Duration maxStaleness = DEFAULT_MAX_STALENESS;
  Duration failSafe;
  Duration failSafeThrottle = DEFAULT_FAIL_SAFE_THROTTLE;
  double refreshAhead;
  double xfetchBeta;
  Duration loadLease;
  Duration loadTimeout;
  int maxKeyBytes = DEFAULT_MAX_KEY_BYTES;
  int maxValueBytes = DEFAULT_MAX_VALUE_BYTES;
  MeterRegistry meterRegistry;
  Executor executor = ForkJoinPool.commonPool();
  Ticker ticker = Ticker.systemTicker();
  final Map<String, InvalidationStrategy> strategies = new LinkedHashMap<>();

  TieredCacheBuilder(String name) {
    Objects.requireNonNull(name, "name");
    if (!NAME.matcher(name).matches()) {
      throw new IllegalArgumentException(
          "name must be non-empty letters, digits, '.', '_' or '-', was '" + name + "'");
    }
    this.name = name;
    for (InvalidationStrategy builtIn : BuiltInStrategy.ALL_BUILT_INS) {
      strategies.put(builtIn.name(), builtIn);
    }
  }

  /**
   * Configures the L1.
   *
   * @param settings receives the {@link L1Settings} to change
   * @return this builder
   * @throws NullPointerException if {@code settings} is null
   */
  public TieredCacheBuilder<K, V> l1(Consumer<L1Settings> settings) {
    Objects.requireNonNull(settings, "settings").accept(l1);
    return this;
  }

  /**
   * Sets the L2. Without one, the cache is L1-only. If the store comes with a {@link L2Store#bus() bus} and no other
   * bus is set, the cache uses that bus. The cache does not close the store.
   *
   * @param store the store
   * @return this builder
   * @throws NullPointerException if {@code store} is null
   */
  public TieredCacheBuilder<K, V> l2(L2Store store) {
    this.l2 = Objects.requireNonNull(store, "store");
    return this;
  }

  /**
   * Sets the bus that carries invalidations to and from other instances. The cache subscribes when built and
   * unsubscribes when closed; it does not close the bus.
   *
   * @param bus the bus
   * @return this builder
   * @throws NullPointerException if {@code bus} is null
   */
  public TieredCacheBuilder<K, V> bus(InvalidationBus bus) {
    this.bus = Objects.requireNonNull(bus, "bus");
    return this;
  }

  /**
   * Sets how keys become strings. Defaults to {@link KeyCodec#usingToString()}.
   *
   * @param codec the key codec
   * @return this builder
   * @throws NullPointerException if {@code codec} is null
   */
  public TieredCacheBuilder<K, V> keyCodec(KeyCodec<? super K> codec) {
    this.keyCodec = Objects.requireNonNull(codec, "codec");
    return this;
  }

  /**
   * Sets how values become bytes in the L2. Required with an L2.
   *
   * @param codec the value codec
   * @return this builder
   * @throws NullPointerException if {@code codec} is null
   */
  public TieredCacheBuilder<K, V> valueCodec(ValueCodec<V> codec) {
    this.valueCodec = Objects.requireNonNull(codec, "codec");
    return this;
  }

  /**
   * Sets the L2 time to live. Defaults to {@link #DEFAULT_L2_TTL}. Requires an L2.
   *
   * @param ttl the time to live; positive
   * @return this builder
   * @throws NullPointerException if {@code ttl} is null
   * @throws IllegalArgumentException if not positive
   */
  public TieredCacheBuilder<K, V> l2Ttl(Duration ttl) {
    this.l2Ttl = requirePositive(ttl, "l2Ttl");
    return this;
  }

  /**
   * Shortens each L2 time to live by a random fraction of up to {@code jitter}, so that entries written together do
   * not expire together. The configured TTL stays an upper bound. Requires an L2.
   *
   * @param jitter from 0 (none, the default) up to but excluding 1
   * @return this builder
   * @throws IllegalArgumentException if outside [0, 1)
   */
  public TieredCacheBuilder<K, V> ttlJitter(double jitter) {
    if (!(jitter >= 0 && jitter < 1)) {
      throw new IllegalArgumentException("ttlJitter must be in [0, 1), was " + jitter);
    }
    this.ttlJitter = jitter;
    return this;
  }

  /**
   * Caches absences: when a loader finds nothing, the cache remembers that for {@code ttl} in both tiers, so a
   * missing row is not queried again on every read. Off by default. Also bounded by the L1's own expiry. An L1 counts
   * {@code ttl} from its own read: another instance that reads the absence from the L2 just before it expires there
   * keeps it for up to {@code ttl} more (up to twice {@code ttl} after the load), unless an invalidation ends it. A
   * cache built without a negative TTL reads an absence that another instance cached in the L2 as a miss.
   *
   * @param ttl how long an absence is cached; positive
   * @return this builder
   * @throws NullPointerException if {@code ttl} is null
   * @throws IllegalArgumentException if not positive
   */
  public TieredCacheBuilder<K, V> negativeTtl(Duration ttl) {
    this.negativeTtl = requirePositive(ttl, "negativeTtl");
    return this;
  }

  /**
   * Bounds each L2 call. A read that takes longer is a miss; a write or invalidation that takes longer fails as if
   * the L2 had failed. Defaults to {@link #DEFAULT_L2_TIMEOUT}.
   *
   * @param timeout the bound; positive
   * @return this builder
   * @throws NullPointerException if {@code timeout} is null
   * @throws IllegalArgumentException if not positive
   */
  public TieredCacheBuilder<K, V> l2Timeout(Duration timeout) {
    this.l2Timeout = requirePositive(timeout, "l2Timeout");
    return this;
  }

  /**
   * Sets the circuit breaker in front of the L2 (Resilience4j's). While it is open the cache does not call the L2
   * at all: reads go to the loader and invalidations wait in the pending queue. Defaults to
   * {@link #DEFAULT_L2_CIRCUIT_BREAKER}.
   *
   * @param config the breaker's configuration
   * @return this builder
   * @throws NullPointerException if {@code config} is null
   */
  public TieredCacheBuilder<K, V> l2CircuitBreaker(CircuitBreakerConfig config) {
    this.l2CircuitBreaker = Objects.requireNonNull(config, "config");
    return this;
  }

  /**
   * Sets how many invalidations may wait for the L2 while it is unreachable. Past that, the queue is replaced by one
   * invalidation of the whole L2 and the L1 is cleared. Defaults to {@link #DEFAULT_PENDING_INVALIDATIONS}.
   *
   * @param capacity at least 1
   * @return this builder
   * @throws IllegalArgumentException if less than 1
   */
  public TieredCacheBuilder<K, V> pendingInvalidations(int capacity) {
    if (capacity < 1) {
      throw new IllegalArgumentException("pendingInvalidations must be at least 1, was " + capacity);
    }
    this.pendingInvalidations = capacity;
    return this;
  }

  /**
   * Sets how often pending invalidations are retried once the first few quick retries (50 ms, doubling, never longer
   * than this) have failed. Defaults to {@link #DEFAULT_L2_RETRY_INTERVAL}.
   *
   * @param interval positive
   * @return this builder
   * @throws NullPointerException if {@code interval} is null
   * @throws IllegalArgumentException if not positive
   */
  public TieredCacheBuilder<K, V> l2RetryInterval(Duration interval) {
    this.l2RetryInterval = requirePositive(interval, "l2RetryInterval");
    return this;
  }

  /**
   * Sets the staleness bound every instance enforces by itself (DESIGN.md invariant 2): this instance serves a value
   * from its L1 only while it can prove that it has applied every invalidation another instance finished more than
   * {@code maxStaleness} ago. It proves it with heartbeats that travel the bus behind the invalidations (sent every
   * quarter of the bound); when Redis freezes, slows down, restarts or becomes unreachable, or a connection goes
   * half-open, the heartbeats stop coming back, and within the bound this instance reads past its L1 (the L2 if
   * usable, else the loader) until they come back. Invalidations made on this instance are seen here at once,
   * whatever the bound. Smaller bounds cost more heartbeats and drop the L1 sooner on a hiccup; larger ones keep
   * the L1 longer through one. Defaults to {@link #DEFAULT_MAX_STALENESS}. Only meaningful with a bus.
   *
   * @param bound positive
   * @return this builder
   * @throws NullPointerException if {@code bound} is null
   * @throws IllegalArgumentException if not positive
   */
  public TieredCacheBuilder<K, V> maxStaleness(Duration bound) {
    this.maxStaleness = requirePositive(bound, "maxStaleness");
    return this;
  }

  /**
   * Bounds how long a caller waits for a load it did not run on its own thread (one another caller started, or any
   * load of {@code getAsync}, which runs on the executor) (DESIGN.md invariant 9): past it the
   * waiter fails with a {@link java.util.concurrent.CompletionException} caused by a
   * {@link java.util.concurrent.TimeoutException} (a {@code getAsync} future fails with the
   * {@code TimeoutException} itself), and the load is detached, so the next caller starts a fresh one. The loader
   * itself is user code and is not stopped. Unbounded by default.
   *
   * @param timeout positive
   * @return this builder
   * @throws NullPointerException if {@code timeout} is null
   * @throws IllegalArgumentException if not positive
   */
  public TieredCacheBuilder<K, V> loadTimeout(Duration timeout) {
    this.loadTimeout = requirePositive(timeout, "loadTimeout");
    return this;
  }

  /**
   * Bounds the length of encoded keys, in bytes of UTF-8. Every operation refuses a longer key with an
   * {@link IllegalArgumentException} (a key travels in every bus message that names it, and a megabyte key would be
   * refused by every receiver). Defaults to {@link #DEFAULT_MAX_KEY_BYTES}.
   *
   * @param bytes between 1 and 1 MiB
   * @return this builder
   * @throws IllegalArgumentException if out of range
   */
  public TieredCacheBuilder<K, V> maxKeyBytes(int bytes) {
    if (bytes < 1 || bytes > 1024 * 1024) {
      throw new IllegalArgumentException("maxKeyBytes must be between 1 and 1048576, was " + bytes);
    }
    this.maxKeyBytes = bytes;
    return this;
  }

  /**
   * Bounds the size of encoded values written to the L2: {@link TieredCache#put put} refuses a larger value with an
   * {@link IllegalArgumentException} before changing anything; a larger value a loader returns is handed to its
   * callers and kept in this instance's L1, but not written to the L2 (counted as {@code cache.l2.errors{op=size}}),
   * since every later read of it would cost a huge round trip on the shared connection. Defaults to
   * {@link #DEFAULT_MAX_VALUE_BYTES}.
   *
   * @param bytes positive
   * @return this builder
   * @throws IllegalArgumentException if not positive
   */
  public TieredCacheBuilder<K, V> maxValueBytes(int bytes) {
    if (bytes < 1) {
      throw new IllegalArgumentException("maxValueBytes must be positive, was " + bytes);
    }
    this.maxValueBytes = bytes;
    return this;
  }

  /**
   * Turns on fail-safe: when a loader throws and this instance still holds the expired value, the value is served
   * (and counted in {@code cache.failsafe.served}) for up to {@code window} past its expiry, and the loader is
   * called again only after the {@link #failSafeThrottle throttle}. An invalidated value is never served. Requires
   * {@link L1Settings#expireAfterWrite}. Off by default.
   *
   * @param window how long past its expiry a value may be served; positive
   * @return this builder
   * @throws NullPointerException if {@code window} is null
   * @throws IllegalArgumentException if not positive
   */
  public TieredCacheBuilder<K, V> failSafe(Duration window) {
    this.failSafe = requirePositive(window, "failSafe");
    return this;
  }

  /**
   * Sets how long fail-safe serves a stale value before calling the failing loader again. Defaults to
   * {@link #DEFAULT_FAIL_SAFE_THROTTLE}.
   *
   * @param throttle positive
   * @return this builder
   * @throws NullPointerException if {@code throttle} is null
   * @throws IllegalArgumentException if not positive
   */
  public TieredCacheBuilder<K, V> failSafeThrottle(Duration throttle) {
    this.failSafeThrottle = requirePositive(throttle, "failSafeThrottle");
    return this;
  }

  /**
   * Turns on refresh-ahead: a read of an entry older than {@code fraction} of the L1's
   * {@link L1Settings#expireAfterWrite} reloads it in the background (from the loader that read passed), while
   * readers keep getting the current value. Driven by reads: no per-key timers. Requires expireAfterWrite.
   *
   * @param fraction strictly between 0 and 1, for example 0.8
   * @return this builder
   * @throws IllegalArgumentException if outside (0, 1)
   */
  public TieredCacheBuilder<K, V> refreshAhead(double fraction) {
    if (!(fraction > 0 && fraction < 1)) {
      throw new IllegalArgumentException("refreshAhead must be strictly between 0 and 1, was " + fraction);
    }
    this.refreshAhead = fraction;
    return this;
  }

  /**
   * Turns on probabilistic early refresh (XFetch, Vattani et al., VLDB 2015): a read refreshes an entry early with a
   * probability that grows as its expiry nears and with how long it took to load, so hot keys are not all reloaded
   * at the same moment. Combines with {@link #refreshAhead}. Requires {@link L1Settings#expireAfterWrite}.
   *
   * @param beta how eager, positive; 1 is the paper's default
   * @return this builder
   * @throws IllegalArgumentException if not positive
   */
  public TieredCacheBuilder<K, V> xfetch(double beta) {
    if (!(beta > 0) || Double.isInfinite(beta)) {
      throw new IllegalArgumentException("xfetch beta must be positive, was " + beta);
    }
    this.xfetchBeta = beta;
    return this;
  }

  /**
   * Turns on distributed single-flight: on a miss in both tiers, an instance first takes a short lease on the key in
   * the L2 ({@code SET NX PX} in Redis). The holder loads; the others poll the L2 for its result, and load themselves
   * if the lease runs out first, or take it over as soon as its holder gives up (a waiter that takes it over reads the
   * L2 again before loading). So one loader call per key for the whole cluster, in the common case; an instance whose
   * first read of the L2 and lease request fall on either side of another's whole store and release loads once more.
   * Requires an L2. Off by default (one loader call per key per instance).
   *
   * @param lease how long a lease lasts, and so the longest an instance waits for another's load; positive
   * @return this builder
   * @throws NullPointerException if {@code lease} is null
   * @throws IllegalArgumentException if not positive
   */
  public TieredCacheBuilder<K, V> distributedSingleFlight(Duration lease) {
    this.loadLease = requirePositive(lease, "distributedSingleFlight");
    return this;
  }

  /**
   * Publishes the cache's metrics to a Micrometer registry (see the README for names and tags). Without one, no
   * Micrometer class is loaded.
   *
   * @param registry the registry
   * @return this builder
   * @throws NullPointerException if {@code registry} is null
   */
  public TieredCacheBuilder<K, V> meterRegistry(MeterRegistry registry) {
    this.meterRegistry = Objects.requireNonNull(registry, "registry");
    return this;
  }

  /**
   * Sets the executor for asynchronous loads and background L1 cleanup. Defaults to
   * {@link ForkJoinPool#commonPool()}.
   *
   * @param executor the executor
   * @return this builder
   * @throws NullPointerException if {@code executor} is null
   */
  public TieredCacheBuilder<K, V> executor(Executor executor) {
    this.executor = Objects.requireNonNull(executor, "executor");
    return this;
  }

  /**
   * Sets the time source of L1 expiry, so tests can move time by hand. Defaults to the system ticker.
   *
   * @param ticker the ticker
   * @return this builder
   * @throws NullPointerException if {@code ticker} is null
   */
  public TieredCacheBuilder<K, V> ticker(Ticker ticker) {
    this.ticker = Objects.requireNonNull(ticker, "ticker");
    return this;
  }

  /**
   * Registers a custom invalidation strategy, so that this instance can send it and apply it when another instance
   * sends it. Every instance of the cache must register the same strategies.
   *
   * @param strategy the strategy
   * @return this builder
   * @throws NullPointerException if {@code strategy} is null
   * @throws IllegalArgumentException if its name is malformed or already taken
   */
  public TieredCacheBuilder<K, V> invalidationStrategy(InvalidationStrategy strategy) {
    Objects.requireNonNull(strategy, "strategy");
    String strategyName = Objects.requireNonNull(strategy.name(), "strategy.name()");
    if (!STRATEGY_NAME.matcher(strategyName).matches()) {
      throw new IllegalArgumentException(
          "strategy name must be lowercase letters, digits or '-', was '" + strategyName + "'");
    }
    if (strategies.putIfAbsent(strategyName, strategy) != null) {
      throw new IllegalArgumentException("an invalidation strategy named '" + strategyName + "' is registered");
    }
    return this;
  }

  /**
   * Builds the cache and, if a bus is set, subscribes it.
   *
   * @param <K1> the key type
   * @param <V1> the value type
   * @return the cache
   * @throws IllegalStateException if settings contradict each other: L2 settings without an L2, an L2 without a
   *     value codec, or fail-safe or refresh without an L1 expiry
   */
  @SuppressWarnings("unchecked")
  public <K1 extends K, V1 extends V> TieredCache<K1, V1> build() {
    if (l2 == null) {
      if (l2Ttl != null) {
        throw new IllegalStateException("l2Ttl is set but no L2 is configured: call l2(...) or drop l2Ttl");
      }
      if (ttlJitter > 0) {
        throw new IllegalStateException("ttlJitter is set but no L2 is configured: call l2(...) or drop ttlJitter");
      }
      if (loadLease != null) {
        throw new IllegalStateException(
            "distributedSingleFlight needs an L2 to hold its leases: call l2(...) or drop distributedSingleFlight");
      }
    } else if (valueCodec == null) {
      throw new IllegalStateException("an L2 needs a value codec: call valueCodec(...)");
    }
    if (l1.expireAfterWrite == null) {
      for (String timed : new String[] {
          failSafe != null ? "failSafe" : null,
          refreshAhead > 0 ? "refreshAhead" : null,
          xfetchBeta > 0 ? "xfetch" : null}) {
        if (timed != null) {
          throw new IllegalStateException(
              timed + " needs an L1 expiry: call l1(l1 -> l1.expireAfterWrite(...))");
        }
      }
    }
    return (TieredCache<K1, V1>) new DefaultTieredCache<>(this);
  }

  Duration effectiveL2Ttl() {
    return l2Ttl != null ? l2Ttl : DEFAULT_L2_TTL;
  }

  static Duration requirePositive(Duration duration, String what) {
    Objects.requireNonNull(duration, what);
    if (duration.isNegative() || duration.isZero()) {
      throw new IllegalArgumentException(what + " must be positive, was " + duration);
    }
    return duration;
  }
}
