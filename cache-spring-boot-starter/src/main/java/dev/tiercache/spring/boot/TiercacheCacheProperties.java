package dev.tiercache.spring.boot;

import java.time.Duration;
import java.util.List;

/**
 * The settings of one cache ({@code tiercache.caches.<name>.*}) or of every cache ({@code tiercache.defaults.*}).
 * An unset setting keeps the defaults' value, then the core's.
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

  /** How long an L1 entry lives after its last read. */
  private Duration l1ExpireAfterAccess;

  /** How long an entry lives in Redis (default 30m). */
  private Duration l2Ttl;

  /** How long a cached null lives, in Redis and in each L1 from its read, if nulls are allowed (default: L2 TTL). */
  private Duration negativeTtl;

  /** Random spread of L2 expiries, in [0, 1) (0.1 = up to 10% shorter). */
  private Double ttlJitter;

  /** The bound of each Redis call; a slower read is a miss (default 250ms). */
  private Duration l2Timeout;

  /** How long L1 entries are still served after the invalidation bus went down: the staleness bound (default 2s). */
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
}
