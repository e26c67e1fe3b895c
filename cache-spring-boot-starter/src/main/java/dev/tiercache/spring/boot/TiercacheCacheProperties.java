package dev.tiercache.spring.boot;

import dev.tiercache.Tags;
import java.time.Duration;
import java.util.List;

/**
 * The settings of one cache ({@code tiercache.caches.<name>.*}) or of every cache ({@code tiercache.defaults.*}).
 * An unset setting keeps the defaults' value, then the core's. {@link TiercacheProperties} checks them once bound.
 */
public class TiercacheCacheProperties {

  /** How values are stored in Redis. */
  public enum Codec {
    /** Jackson JSON of the value type, with Spring Boot's ObjectMapper when there is one. */
    JSON,
    /** Java serialization, reading back only the value type and the allowed classes. */
    JAVA,
    /** UTF-8 text; the value type must be String. */
    STRING
  }

  /** The most entries the L1 holds (default 10000). */
  private Long l1MaximumSize;

  /** How long an L1 entry lives after it was written (default: until evicted or invalidated). */
  private Duration l1ExpireAfterWrite;

  /** How long an L1 entry lives after its last read (default: until evicted or invalidated). */
  private Duration l1ExpireAfterAccess;

  /** How long an entry lives in Redis (default 30m). */
  private Duration l2Ttl;

  /** How long a cached null lives, in Redis and in each L1 from its read, if nulls are allowed (default: L2 TTL). */
  private Duration negativeTtl;

  /** Random spread of L2 expiries, in [0, 1) (0.1 = up to 10% shorter; default 0). */
  private Double ttlJitter;

  /** The bound of each Redis call; a slower read is a miss (default 250ms). */
  private Duration l2Timeout;

  /**
   * The staleness bound: the L1 is served only while the invalidation bus proves it is caught up to within it
   * (default 1s).
   */
  private Duration maxStaleness;

  /** The type of the cached values, which the codec reads back from Redis; required for a cache with an L2. */
  private Class<?> valueType;

  /** How values are stored in Redis (default json, or string for a String value type). */
  private Codec codec;

  /** With codec java: classes allowed besides the value type (Java serialization never reads other classes). */
  private List<Class<?>> allowedClasses;

  /** Whether this cache stores null results (default tiercache.allow-null-values). */
  private Boolean allowNullValues;

  /** Tags given to every entry, so that TiercacheEvictor.evictTag reaches them all. */
  private List<String> tags;

  /**
   * Returns the most L1 entries, or null if unset.
   *
   * @return the most L1 entries
   */
  public Long getL1MaximumSize() {
    return l1MaximumSize;
  }

  /**
   * Sets the most L1 entries.
   *
   * @param l1MaximumSize the most L1 entries
   */
  public void setL1MaximumSize(Long l1MaximumSize) {
    this.l1MaximumSize = l1MaximumSize;
  }

  /**
   * Returns the L1 time to live, or null if unset.
   *
   * @return the L1 time to live
   */
  public Duration getL1ExpireAfterWrite() {
    return l1ExpireAfterWrite;
  }

  /**
   * Sets the L1 time to live.
   *
   * @param l1ExpireAfterWrite the L1 time to live
   */
  public void setL1ExpireAfterWrite(Duration l1ExpireAfterWrite) {
    this.l1ExpireAfterWrite = l1ExpireAfterWrite;
  }

  /**
   * Returns the L1 idle time, or null if unset.
   *
   * @return the L1 idle time
   */
  public Duration getL1ExpireAfterAccess() {
    return l1ExpireAfterAccess;
  }

  /**
   * Sets the L1 idle time.
   *
   * @param l1ExpireAfterAccess the L1 idle time
   */
  public void setL1ExpireAfterAccess(Duration l1ExpireAfterAccess) {
    this.l1ExpireAfterAccess = l1ExpireAfterAccess;
  }

  /**
   * Returns the L2 time to live, or null if unset.
   *
   * @return the L2 time to live
   */
  public Duration getL2Ttl() {
    return l2Ttl;
  }

  /**
   * Sets the L2 time to live.
   *
   * @param l2Ttl the L2 time to live
   */
  public void setL2Ttl(Duration l2Ttl) {
    this.l2Ttl = l2Ttl;
  }

  /**
   * Returns how long a cached null lives, or null if unset.
   *
   * @return the negative TTL
   */
  public Duration getNegativeTtl() {
    return negativeTtl;
  }

  /**
   * Sets how long a cached null lives.
   *
   * @param negativeTtl the negative TTL
   */
  public void setNegativeTtl(Duration negativeTtl) {
    this.negativeTtl = negativeTtl;
  }

  /**
   * Returns the jitter, or null if unset.
   *
   * @return the jitter
   */
  public Double getTtlJitter() {
    return ttlJitter;
  }

  /**
   * Sets the jitter.
   *
   * @param ttlJitter the jitter
   */
  public void setTtlJitter(Double ttlJitter) {
    this.ttlJitter = ttlJitter;
  }

  /**
   * Returns the timeout, or null if unset.
   *
   * @return the timeout
   */
  public Duration getL2Timeout() {
    return l2Timeout;
  }

  /**
   * Sets the timeout.
   *
   * @param l2Timeout the timeout
   */
  public void setL2Timeout(Duration l2Timeout) {
    this.l2Timeout = l2Timeout;
  }

  /**
   * Returns the staleness bound, or null if unset.
   *
   * @return the bound
   */
  public Duration getMaxStaleness() {
    return maxStaleness;
  }

  /**
   * Sets the staleness bound: an instance serves its L1 only while it can prove it has seen every eviction another
   * instance finished more than this long ago (the core's {@code maxStaleness}).
   *
   * @param maxStaleness the bound
   */
  public void setMaxStaleness(Duration maxStaleness) {
    this.maxStaleness = maxStaleness;
  }

  /**
   * Returns the value type, or null if unset.
   *
   * @return the value type
   */
  public Class<?> getValueType() {
    return valueType;
  }

  /**
   * Sets the value type.
   *
   * @param valueType the value type
   */
  public void setValueType(Class<?> valueType) {
    this.valueType = valueType;
  }

  /**
   * Returns the codec, or null if unset.
   *
   * @return the codec
   */
  public Codec getCodec() {
    return codec;
  }

  /**
   * Sets the codec.
   *
   * @param codec the codec
   */
  public void setCodec(Codec codec) {
    this.codec = codec;
  }

  /**
   * Returns the classes, or null if unset.
   *
   * @return the classes
   */
  public List<Class<?>> getAllowedClasses() {
    return allowedClasses;
  }

  /**
   * Sets the classes.
   *
   * @param allowedClasses the classes
   */
  public void setAllowedClasses(List<Class<?>> allowedClasses) {
    this.allowedClasses = allowedClasses;
  }

  /**
   * Returns the flag, or null if unset.
   *
   * @return the flag
   */
  public Boolean getAllowNullValues() {
    return allowNullValues;
  }

  /**
   * Sets the flag.
   *
   * @param allowNullValues the flag
   */
  public void setAllowNullValues(Boolean allowNullValues) {
    this.allowNullValues = allowNullValues;
  }

  /**
   * Returns the tags, or null if unset.
   *
   * @return the tags
   */
  public List<String> getTags() {
    return tags;
  }

  /**
   * Sets the tags.
   *
   * @param tags the tags
   */
  public void setTags(List<String> tags) {
    this.tags = tags;
  }

  /**
   * Refuses what the core would refuse, naming the property: the core's own message names neither it nor the cache,
   * and an l2-ttl it refuses is reported as the negative TTL's, which defaults to it.
   *
   * @param prefix the properties' prefix, {@code tiercache.defaults} or {@code tiercache.caches.<name>}
   * @throws IllegalArgumentException naming the first bad property and why
   */
  void validate(String prefix) {
    notNegative(prefix + ".l1-maximum-size", l1MaximumSize);
    positive(prefix + ".l1-expire-after-write", l1ExpireAfterWrite);
    positive(prefix + ".l1-expire-after-access", l1ExpireAfterAccess);
    positive(prefix + ".l2-ttl", l2Ttl);
    positive(prefix + ".negative-ttl", negativeTtl);
    positive(prefix + ".l2-timeout", l2Timeout);
    positive(prefix + ".max-staleness", maxStaleness);
    if (ttlJitter != null && !(ttlJitter >= 0 && ttlJitter < 1)) {
      throw new IllegalArgumentException(prefix + ".ttl-jitter must be in [0, 1), was " + ttlJitter);
    }
    if (tags != null) {
      try {
        Tags.of(tags);
      } catch (RuntimeException e) {
        throw new IllegalArgumentException(prefix + ".tags: " + e.getMessage(), e);
      }
    }
  }

  private static void positive(String property, Duration value) {
    if (value != null && (value.isNegative() || value.isZero())) {
      throw new IllegalArgumentException(property + " must be positive, was " + value);
    }
  }

  private static void notNegative(String property, Long value) {
    if (value != null && value < 0) {
      throw new IllegalArgumentException(property + " must not be negative, was " + value);
    }
  }
}
