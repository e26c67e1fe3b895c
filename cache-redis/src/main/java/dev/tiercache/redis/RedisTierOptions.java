package dev.tiercache.redis;

import java.time.Duration;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * Immutable options of a {@link RedisTier}. Create with {@link #builder()} or {@link #create()}; derive changed
 * copies with {@link #mutate()}.
 */
public final class RedisTierOptions {

  /** The first part of every key and channel name. */
  public static final String DEFAULT_NAMESPACE = "tiercache";

  /** Buckets per cache on a standalone or Sentinel Redis: one, so a whole cache is one consistent unit. */
  public static final int DEFAULT_STANDALONE_BUCKETS = 1;

  /**
   * Buckets per cache on a Redis Cluster, so that one cache spreads over every master: the buckets sit on evenly
   * spaced slots, and 48 splits exactly over 1, 2, 3, 4, 6, 8, 12, 16, 24 or 48 evenly sliced masters (and less
   * than two buckets from even over any other number). A tag, prefix, pattern or {@code all} invalidation runs one
   * script per bucket.
   */
  public static final int DEFAULT_CLUSTER_BUCKETS = 48;

  /**
   * How long a load may be in flight: an invalidated or unconditionally written key keeps its tombstone this long,
   * and a conditional write whose read is older than this is refused, so a tombstone that is gone never lets one
   * through.
   */
  public static final Duration DEFAULT_TOMBSTONE_TTL = Duration.ofMinutes(5);

  /**
   * The longest L2 entry TTL: a write's TTL is capped by it. Tag, prefix and pattern invalidations are remembered as
   * long as the longest TTL written to their bucket (at least the tombstone TTL), so this also bounds how long they
   * are kept.
   */
  public static final Duration DEFAULT_INVALIDATION_MEMORY = Duration.ofHours(24);

  /** How many keys one SCAN step of a pattern invalidation asks for. */
  public static final int DEFAULT_SCAN_BATCH = 500;

  /** How often a tier that started while Redis was down tries to reach it. */
  public static final Duration DEFAULT_CONNECT_RETRY_INTERVAL = Duration.ofSeconds(1);

  /** How long the bus waits for its start-up probe to come back. */
  public static final Duration DEFAULT_PROBE_TIMEOUT = Duration.ofSeconds(5);

  /**
   * How long a bus heartbeat may take to come back before it fails. Its echo normally takes a round trip; one that
   * takes longer proves too little to be worth waiting for, and a failed one is simply sent again.
   */
  public static final Duration DEFAULT_HEARTBEAT_TIMEOUT = Duration.ofSeconds(2);

  /** What a start-up check does when it finds a problem. */
  public enum StartupCheck {
    /** Skips the check. */
    IGNORE,
    /** Logs the problem at WARN and carries on. */
    WARN,
    /**
     * Refuses: {@code RedisTier.create} throws when Redis is reachable then; when Redis comes up later, the tier logs
     * the problem at ERROR and fails every L2 call, so the caches run on their loaders instead of on a broken L2.
     */
    FAIL
  }

  private static final Pattern NAMESPACE = Pattern.compile("[A-Za-z0-9._-]+");

  private final String namespace;
  private final Integer buckets;
  private final Duration tombstoneTtl;
  private final Duration invalidationMemory;
  private final int scanBatch;
  private final Duration probeTimeout;
  private final Duration connectRetryInterval;
  private final Duration heartbeatTimeout;
  private final StartupCheck evictionPolicyCheck;
  private final StartupCheck permissionCheck;

  private RedisTierOptions(Builder builder) {
    this.evictionPolicyCheck = builder.evictionPolicyCheck;
    this.permissionCheck = builder.permissionCheck;
    this.heartbeatTimeout = builder.heartbeatTimeout;
    this.connectRetryInterval = builder.connectRetryInterval;
    this.namespace = builder.namespace;
    this.buckets = builder.buckets;
    this.tombstoneTtl = builder.tombstoneTtl;
    this.invalidationMemory = builder.invalidationMemory;
    this.scanBatch = builder.scanBatch;
    this.probeTimeout = builder.probeTimeout;
  }

  /**
   * Returns the defaults.
   *
   * @return options with every default
   */
  public static RedisTierOptions create() {
    return builder().build();
  }

  /**
   * Starts building options.
   *
   * @return a builder with every default
   */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Returns a builder initialised with these options.
   *
   * @return the builder
   */
  public Builder mutate() {
    Builder builder = new Builder();
    builder.namespace = namespace;
    builder.buckets = buckets;
    builder.tombstoneTtl = tombstoneTtl;
    builder.invalidationMemory = invalidationMemory;
    builder.scanBatch = scanBatch;
    builder.probeTimeout = probeTimeout;
    builder.connectRetryInterval = connectRetryInterval;
    builder.heartbeatTimeout = heartbeatTimeout;
    builder.evictionPolicyCheck = evictionPolicyCheck;
    builder.permissionCheck = permissionCheck;
    return builder;
  }

  /**
   * Returns the namespace.
   *
   * @return the first part of every key
   */
  public String namespace() {
    return namespace;
  }

  /**
   * Returns the number of buckets per cache for a given topology.
   *
   * @param cluster whether the server is a Redis Cluster
   * @return the set number, or the topology's default
   */
  public int buckets(boolean cluster) {
    return buckets != null ? buckets : cluster ? DEFAULT_CLUSTER_BUCKETS : DEFAULT_STANDALONE_BUCKETS;
  }

  /**
   * Returns the tombstone TTL.
   *
   * @return the tombstone TTL
   */
  public Duration tombstoneTtl() {
    return tombstoneTtl;
  }

  /**
   * Returns how long invalidations are remembered.
   *
   * @return the invalidation memory
   */
  public Duration invalidationMemory() {
    return invalidationMemory;
  }

  /**
   * Returns the SCAN batch size.
   *
   * @return the batch size
   */
  public int scanBatch() {
    return scanBatch;
  }

  /**
   * Returns the bus probe timeout.
   *
   * @return the timeout
   */
  public Duration probeTimeout() {
    return probeTimeout;
  }

  /**
   * Returns how often a tier that started while Redis was down tries to reach it.
   *
   * @return the interval
   */
  public Duration connectRetryInterval() {
    return connectRetryInterval;
  }

  /**
   * Returns how long a bus heartbeat may take to come back.
   *
   * @return the timeout
   */
  public Duration heartbeatTimeout() {
    return heartbeatTimeout;
  }

  /**
   * Returns what happens when Redis's {@code maxmemory-policy} can evict the invalidation state.
   *
   * @return the check's mode
   */
  public StartupCheck evictionPolicyCheck() {
    return evictionPolicyCheck;
  }

  /**
   * Returns what happens when the Redis user lacks a command or key permission the tier needs.
   *
   * @return the check's mode
   */
  public StartupCheck permissionCheck() {
    return permissionCheck;
  }

  /** Builds {@link RedisTierOptions}; validates each setting as it is made. */
  public static final class Builder {

    private String namespace = DEFAULT_NAMESPACE;
    private Integer buckets;
    private Duration tombstoneTtl = DEFAULT_TOMBSTONE_TTL;
    private Duration invalidationMemory = DEFAULT_INVALIDATION_MEMORY;
    private int scanBatch = DEFAULT_SCAN_BATCH;
    private Duration probeTimeout = DEFAULT_PROBE_TIMEOUT;
    private Duration connectRetryInterval = DEFAULT_CONNECT_RETRY_INTERVAL;
    private Duration heartbeatTimeout = DEFAULT_HEARTBEAT_TIMEOUT;
    private StartupCheck evictionPolicyCheck = StartupCheck.WARN;
    private StartupCheck permissionCheck = StartupCheck.FAIL;

    private Builder() {}

    /**
     * Sets what happens when Redis's {@code maxmemory-policy}, read when the tier first reaches Redis, is not
     * {@code noeviction}: {@code allkeys-*} may evict any key and {@code volatile-*} keys with a TTL, as tombstones
     * and invalidation epochs are, which can let stale values back in. Defaults to {@link StartupCheck#WARN}.
     *
     * @param check the mode
     * @return this builder
     * @throws NullPointerException if null
     */
    public Builder evictionPolicyCheck(StartupCheck check) {
      this.evictionPolicyCheck = Objects.requireNonNull(check, "evictionPolicyCheck");
      return this;
    }

    /**
     * Sets what happens when the Redis user may not run a command the tier needs (scripts, SCAN, UNLINK, PUBLISH,
     * and the commands its scripts run) on its key namespace, as checked when the tier first reaches Redis.
     * Defaults to {@link StartupCheck#FAIL}: a tier that cannot work would otherwise run silently on the loaders.
     *
     * @param check the mode
     * @return this builder
     * @throws NullPointerException if null
     */
    public Builder permissionCheck(StartupCheck check) {
      this.permissionCheck = Objects.requireNonNull(check, "permissionCheck");
      return this;
    }

    /**
     * Sets how long a bus heartbeat may take to come back before it fails. Defaults to
     * {@link #DEFAULT_HEARTBEAT_TIMEOUT}.
     *
     * @param timeout positive
     * @return this builder
     * @throws NullPointerException if null
     * @throws IllegalArgumentException if not positive
     */
    public Builder heartbeatTimeout(Duration timeout) {
      this.heartbeatTimeout = positive(timeout, "heartbeatTimeout");
      return this;
    }

    /**
     * Sets how often a tier that started while Redis was down tries to reach it. Defaults to
     * {@link #DEFAULT_CONNECT_RETRY_INTERVAL}.
     *
     * @param interval positive
     * @return this builder
     * @throws NullPointerException if null
     * @throws IllegalArgumentException if not positive
     */
    public Builder connectRetryInterval(Duration interval) {
      this.connectRetryInterval = positive(interval, "connectRetryInterval");
      return this;
    }

    /**
     * Sets the namespace, the first part of every key and channel. Defaults to {@link #DEFAULT_NAMESPACE}.
     *
     * @param namespace letters, digits, {@code . _ -}
     * @return this builder
     * @throws NullPointerException if null
     * @throws IllegalArgumentException if empty or with other characters
     */
    public Builder namespace(String namespace) {
      Objects.requireNonNull(namespace, "namespace");
      if (!NAMESPACE.matcher(namespace).matches()) {
        throw new IllegalArgumentException(
            "namespace must be non-empty letters, digits, '.', '_' or '-', was '" + namespace + "'");
      }
      this.namespace = namespace;
      return this;
    }

    /**
     * Sets the number of buckets each cache is split into. Each bucket lives in one Redis Cluster hash slot with
     * its own invalidation state; tag, prefix, pattern and {@code all} invalidations touch every bucket once. Bucket
     * {@code i} of {@code N} sits in slot range {@code [i * 16384 / N, (i + 1) * 16384 / N)}, so a cache spreads
     * evenly over masters that own evenly split slot ranges; a multiple of the number of masters spreads exactly.
     * Every instance of a cache must use the same number: it decides where every key lives. Defaults to
     * {@link #DEFAULT_STANDALONE_BUCKETS} or {@link #DEFAULT_CLUSTER_BUCKETS}.
     *
     * @param buckets from 1 to 1024
     * @return this builder
     * @throws IllegalArgumentException if out of range
     */
    public Builder buckets(int buckets) {
      if (buckets < 1 || buckets > 1024) {
        throw new IllegalArgumentException("buckets must be from 1 to 1024, was " + buckets);
      }
      this.buckets = buckets;
      return this;
    }

    /**
     * Sets how long a load may be in flight: tombstones are kept this long, and a conditional write whose read is
     * older is refused. Must exceed the longest load.
     *
     * @param ttl positive
     * @return this builder
     * @throws NullPointerException if null
     * @throws IllegalArgumentException if not positive
     */
    public Builder tombstoneTtl(Duration ttl) {
      this.tombstoneTtl = positive(ttl, "tombstoneTtl");
      return this;
    }

    /**
     * Sets the longest L2 entry TTL, which also bounds how long tag, prefix and pattern invalidations are kept.
     *
     * @param memory positive
     * @return this builder
     * @throws NullPointerException if null
     * @throws IllegalArgumentException if not positive
     */
    public Builder invalidationMemory(Duration memory) {
      this.invalidationMemory = positive(memory, "invalidationMemory");
      return this;
    }

    /**
     * Sets the COUNT of each SCAN step of a pattern invalidation.
     *
     * @param batch from 1 to 100,000
     * @return this builder
     * @throws IllegalArgumentException if out of range
     */
    public Builder scanBatch(int batch) {
      if (batch < 1 || batch > 100_000) {
        throw new IllegalArgumentException("scanBatch must be from 1 to 100000, was " + batch);
      }
      this.scanBatch = batch;
      return this;
    }

    /**
     * Sets how long the bus waits for its start-up probe.
     *
     * @param timeout positive
     * @return this builder
     * @throws NullPointerException if null
     * @throws IllegalArgumentException if not positive
     */
    public Builder probeTimeout(Duration timeout) {
      this.probeTimeout = positive(timeout, "probeTimeout");
      return this;
    }

    /**
     * Builds the options.
     *
     * @return the options
     */
    public RedisTierOptions build() {
      return new RedisTierOptions(this);
    }

    private static Duration positive(Duration duration, String what) {
      Objects.requireNonNull(duration, what);
      if (duration.isNegative() || duration.isZero()) {
        throw new IllegalArgumentException(what + " must be positive, was " + duration);
      }
      return duration;
    }
  }
}
