package dev.tiercache.spring;

import dev.tiercache.Tags;
import dev.tiercache.TieredCacheBuilder;
import dev.tiercache.codec.KeyCodec;
import dev.tiercache.codec.ValueCodec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * The settings of one Spring cache: what {@link TiercacheCacheManager} passes to {@link TieredCacheBuilder} for it,
 * plus the Spring-side ones (null values, tags). Every setting is optional; an unset one keeps the core's default.
 * Changed by {@link TiercacheCacheManagerBuilder#defaults}, {@link TiercacheCacheManagerBuilder#cache} and
 * {@link TiercacheCacheCustomizer}s, in that order; each cache gets its own copy of the defaults.
 *
 * <p>Not thread-safe: it is used while the manager creates a cache, then dropped.
 */
public final class TiercacheCacheSpec {

  private Long l1MaximumSize;
  private Duration l1ExpireAfterWrite;
  private Duration l1ExpireAfterAccess;
  private Duration l2Ttl;
  private Duration negativeTtl;
  private Double ttlJitter;
  private Duration l2Timeout;
  private Duration maxStaleness;
  private ValueCodec<?> valueCodec;
  private KeyCodec<Object> keyCodec = SpringKeyCodec.standard();
  private Function<Object, Tags> tags = key -> Tags.empty();
  private Boolean allowNullValues;
  private final List<Consumer<TieredCacheBuilder<Object, Object>>> builderSteps = new ArrayList<>();

  TiercacheCacheSpec() {}

  TiercacheCacheSpec copy() {
    TiercacheCacheSpec copy = new TiercacheCacheSpec();
    copy.copyFrom(this);
    return copy;
  }

  void copyFrom(TiercacheCacheSpec other) {
    l1MaximumSize = other.l1MaximumSize;
    l1ExpireAfterWrite = other.l1ExpireAfterWrite;
    l1ExpireAfterAccess = other.l1ExpireAfterAccess;
    l2Ttl = other.l2Ttl;
    negativeTtl = other.negativeTtl;
    ttlJitter = other.ttlJitter;
    l2Timeout = other.l2Timeout;
    maxStaleness = other.maxStaleness;
    valueCodec = other.valueCodec;
    keyCodec = other.keyCodec;
    tags = other.tags;
    allowNullValues = other.allowNullValues;
    builderSteps.clear();
    builderSteps.addAll(other.builderSteps);
  }

  /**
   * Bounds the L1 by entry count ({@code L1Settings.maximumSize}).
   *
   * @param maximumSize the most entries
   * @return this spec
   */
  public TiercacheCacheSpec l1MaximumSize(long maximumSize) {
    this.l1MaximumSize = maximumSize;
    return this;
  }

  /**
   * Expires L1 entries this long after they were written ({@code L1Settings.expireAfterWrite}).
   *
   * @param ttl the L1 time to live
   * @return this spec
   */
  public TiercacheCacheSpec l1ExpireAfterWrite(Duration ttl) {
    this.l1ExpireAfterWrite = Objects.requireNonNull(ttl, "ttl");
    return this;
  }

  /**
   * Expires L1 entries this long after their last read ({@code L1Settings.expireAfterAccess}).
   *
   * @param ttl the idle time
   * @return this spec
   */
  public TiercacheCacheSpec l1ExpireAfterAccess(Duration ttl) {
    this.l1ExpireAfterAccess = Objects.requireNonNull(ttl, "ttl");
    return this;
  }

  /**
   * Sets the L2 time to live ({@link TieredCacheBuilder#l2Ttl}); ignored by caches without an L2.
   *
   * @param ttl the L2 time to live
   * @return this spec
   */
  public TiercacheCacheSpec l2Ttl(Duration ttl) {
    this.l2Ttl = Objects.requireNonNull(ttl, "ttl");
    return this;
  }

  /**
   * Sets how long a cached null lives, in Redis and in each L1 from its own read
   * ({@link TieredCacheBuilder#negativeTtl}); used only when null values are allowed. Defaults to the L2 time to
   * live ({@link TieredCacheBuilder#DEFAULT_L2_TTL} without one); the L1's own expiry bounds it too.
   *
   * @param ttl how long a cached null lives; positive
   * @return this spec
   */
  public TiercacheCacheSpec negativeTtl(Duration ttl) {
    this.negativeTtl = Objects.requireNonNull(ttl, "ttl");
    return this;
  }

  /**
   * Spreads L2 expiries ({@link TieredCacheBuilder#ttlJitter}); ignored by caches without an L2.
   *
   * @param jitter in [0, 1)
   * @return this spec
   */
  public TiercacheCacheSpec ttlJitter(double jitter) {
    this.ttlJitter = jitter;
    return this;
  }

  /**
   * Bounds each L2 call ({@link TieredCacheBuilder#l2Timeout}).
   *
   * @param timeout the bound
   * @return this spec
   */
  public TiercacheCacheSpec l2Timeout(Duration timeout) {
    this.l2Timeout = Objects.requireNonNull(timeout, "timeout");
    return this;
  }

  /**
   * Sets the staleness bound ({@link TieredCacheBuilder#maxStaleness}): this instance serves its L1 only while it can
   * prove it has seen every eviction another instance finished more than this long ago.
   *
   * @param bound the bound
   * @return this spec
   */
  public TiercacheCacheSpec maxStaleness(Duration bound) {
    this.maxStaleness = Objects.requireNonNull(bound, "bound");
    return this;
  }

  /**
   * Sets how values cross into the L2. Required for a cache with an L2 (for example {@code JsonCodec.of(User.class)}).
   * Values are the objects the cached methods return; with null values allowed, the manager wraps the codec so that
   * it also stores Spring's null marker.
   *
   * @param codec the codec
   * @return this spec
   */
  public TiercacheCacheSpec valueCodec(ValueCodec<?> codec) {
    this.valueCodec = Objects.requireNonNull(codec, "codec");
    return this;
  }

  /**
   * Sets how keys become strings. Defaults to {@link SpringKeyCodec#standard()}.
   *
   * @param codec the codec; injective and the same in every JVM
   * @return this spec
   */
  public TiercacheCacheSpec keyCodec(KeyCodec<Object> codec) {
    this.keyCodec = Objects.requireNonNull(codec, "codec");
    return this;
  }

  /**
   * Gives every entry tags computed from its key, so that {@link TiercacheEvictor#evictTag} can remove them; for
   * example {@code key -> Tags.of("table:users")} or {@code key -> Tags.of("tenant:" + tenantOf(key))}.
   *
   * @param tags maps a key (as Spring passes it) to its entry's tags
   * @return this spec
   */
  public TiercacheCacheSpec tags(Function<Object, Tags> tags) {
    this.tags = Objects.requireNonNull(tags, "tags");
    return this;
  }

  /**
   * Overrides the manager's {@link TiercacheCacheManagerBuilder#allowNullValues} for this cache.
   *
   * @param allow whether a null result is cached (for {@link #negativeTtl})
   * @return this spec
   */
  public TiercacheCacheSpec allowNullValues(boolean allow) {
    this.allowNullValues = allow;
    return this;
  }

  /**
   * Applies any other {@link TieredCacheBuilder} setting (fail-safe, refresh-ahead, distributed single-flight...).
   * Steps run after the settings above; do not set the key or value codec here.
   *
   * @param step changes the builder
   * @return this spec
   */
  public TiercacheCacheSpec builder(Consumer<TieredCacheBuilder<Object, Object>> step) {
    builderSteps.add(Objects.requireNonNull(step, "step"));
    return this;
  }

  boolean allowsNullValues(boolean managerDefault) {
    return allowNullValues != null ? allowNullValues : managerDefault;
  }

  Function<Object, Tags> tags() {
    return tags;
  }

  KeyCodec<Object> keyCodec() {
    return keyCodec;
  }

  @SuppressWarnings("unchecked")
  void applyTo(TieredCacheBuilder<Object, Object> builder, boolean hasL2, boolean allowNulls, String cacheName) {
    builder.keyCodec(keyCodec);
    if (l1MaximumSize != null || l1ExpireAfterWrite != null || l1ExpireAfterAccess != null) {
      builder.l1(l1 -> {
        if (l1MaximumSize != null) {
          l1.maximumSize(l1MaximumSize);
        }
        if (l1ExpireAfterWrite != null) {
          l1.expireAfterWrite(l1ExpireAfterWrite);
        }
        if (l1ExpireAfterAccess != null) {
          l1.expireAfterAccess(l1ExpireAfterAccess);
        }
      });
    }
    if (l2Timeout != null) {
      builder.l2Timeout(l2Timeout);
    }
    if (maxStaleness != null) {
      builder.maxStaleness(maxStaleness);
    }
    if (allowNulls) {
      // A null result is the tiered cache's own cached absence, and lives for its negative TTL.
      builder.negativeTtl(
          negativeTtl != null ? negativeTtl : l2Ttl != null ? l2Ttl : TieredCacheBuilder.DEFAULT_L2_TTL);
    }
    if (hasL2) {
      if (valueCodec == null) {
        throw new IllegalStateException(
            "cache '" + cacheName + "' has an L2 but no value codec: set tiercache.caches." + cacheName
                + ".value-type (Spring Boot) or TiercacheCacheSpec.valueCodec(...)");
      }
      ValueCodec<Object> codec = (ValueCodec<Object>) valueCodec;
      builder.valueCodec(allowNulls ? new NullValueCodec(codec) : codec);
      if (l2Ttl != null) {
        builder.l2Ttl(l2Ttl);
      }
      if (ttlJitter != null) {
        builder.ttlJitter(ttlJitter);
      }
    }
    for (Consumer<TieredCacheBuilder<Object, Object>> step : builderSteps) {
      step.accept(builder);
    }
  }
}
