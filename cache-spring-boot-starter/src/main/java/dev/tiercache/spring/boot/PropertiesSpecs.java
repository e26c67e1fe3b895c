package dev.tiercache.spring.boot;

import dev.tiercache.Tags;
import dev.tiercache.TieredCacheBuilder;
import dev.tiercache.codec.JavaSerializationCodec;
import dev.tiercache.codec.ValueCodec;
import dev.tiercache.codec.ValueCodecs;
import dev.tiercache.spring.TiercacheCacheManagerBuilder;
import dev.tiercache.spring.TiercacheCacheSpec;
import java.io.Serializable;
import java.time.Duration;
import java.util.List;
import java.util.function.Function;

/**
 * Turns {@code tiercache.defaults.*} and {@code tiercache.caches.<name>.*} into cache settings: the defaults first,
 * then a cache's own. A Spring cache gets them as its {@link TiercacheCacheSpec}'s defaults and per-cache settings,
 * codec included (made from the value type, codec and allowed classes, a cache's own over the defaults'), so that
 * {@link TiercacheCacheManagerBuilderCustomizer}s and {@link dev.tiercache.spring.TiercacheCacheCustomizer}s, which
 * come after, win over them. The query cache gets the same settings through {@link #applyTo(TieredCacheBuilder,
 * String, boolean)}.
 */
final class PropertiesSpecs {

  private final TiercacheProperties properties;
  private final JsonCodecs json;

  PropertiesSpecs(TiercacheProperties properties, JsonCodecs json) {
    this.properties = properties;
    this.json = json;
  }

  void configure(TiercacheCacheManagerBuilder builder) {
    TiercacheCacheProperties defaults = properties.getDefaults();
    builder
        .allowNullValues(properties.isAllowNullValues())
        .dynamic(properties.isDynamic())
        .transactionAware(properties.isTransactionAware())
        .cacheNames(properties.getCacheNames())
        .defaults(spec -> {
          settings(defaults, spec);
          if (defaults.getValueType() != null) {
            spec.valueCodec(codec("tiercache.defaults", defaults, defaults));
          }
        });
    properties.getCaches().forEach((name, own) -> builder.cache(name, spec -> {
      settings(own, spec);
      // Only a cache that names any codec setting of its own needs a codec other than the defaults' one.
      if ((own.getValueType() != null || own.getCodec() != null || own.getAllowedClasses() != null)
          && first(own, defaults, TiercacheCacheProperties::getValueType) != null) {
        spec.valueCodec(codec("tiercache.caches." + name, own, defaults));
      }
    }));
  }

  /**
   * Gives a cache that is not a Spring cache (the query cache) the settings of {@code tiercache.defaults.*} and
   * {@code tiercache.caches.<name>.*}, as Spring caches get them. Its codec and tags are its own.
   */
  void applyTo(TieredCacheBuilder<?, ?> builder, String name, boolean hasL2) {
    Settings target = new BuilderSettings(builder, hasL2);
    settings(properties.getDefaults(), target);
    TiercacheCacheProperties own = properties.getCaches().get(name);
    if (own != null) {
      settings(own, target);
    }
  }

  private static void settings(TiercacheCacheProperties p, TiercacheCacheSpec spec) {
    settings(p, new SpecSettings(spec));
    if (p.getAllowNullValues() != null) {
      spec.allowNullValues(p.getAllowNullValues());
    }
    if (p.getTags() != null) {
      Tags tags = Tags.of(p.getTags());
      spec.tags(key -> tags);
    }
  }

  /** The one place that reads the settings every cache has; each set one overrides what came before it. */
  private static void settings(TiercacheCacheProperties p, Settings target) {
    if (p.getL1MaximumSize() != null) {
      target.l1MaximumSize(p.getL1MaximumSize());
    }
    if (p.getL1ExpireAfterWrite() != null) {
      target.l1ExpireAfterWrite(p.getL1ExpireAfterWrite());
    }
    if (p.getL1ExpireAfterAccess() != null) {
      target.l1ExpireAfterAccess(p.getL1ExpireAfterAccess());
    }
    if (p.getL2Ttl() != null) {
      target.l2Ttl(p.getL2Ttl());
    }
    if (p.getNegativeTtl() != null) {
      target.negativeTtl(p.getNegativeTtl());
    }
    if (p.getTtlJitter() != null) {
      target.ttlJitter(p.getTtlJitter());
    }
    if (p.getL2Timeout() != null) {
      target.l2Timeout(p.getL2Timeout());
    }
    if (p.getMaxStaleness() != null) {
      target.maxStaleness(p.getMaxStaleness());
    }
  }

  /** What {@link #settings(TiercacheCacheProperties, Settings)} sets, on a Spring cache's spec or a core builder. */
  private interface Settings {
    void l1MaximumSize(long size);

    void l1ExpireAfterWrite(Duration ttl);

    void l1ExpireAfterAccess(Duration ttl);

    void l2Ttl(Duration ttl);

    void negativeTtl(Duration ttl);

    void ttlJitter(double jitter);

    void l2Timeout(Duration timeout);

    void maxStaleness(Duration bound);
  }

  private record SpecSettings(TiercacheCacheSpec spec) implements Settings {
    @Override
    public void l1MaximumSize(long size) {
      spec.l1MaximumSize(size);
    }

    @Override
    public void l1ExpireAfterWrite(Duration ttl) {
      spec.l1ExpireAfterWrite(ttl);
    }

    @Override
    public void l1ExpireAfterAccess(Duration ttl) {
      spec.l1ExpireAfterAccess(ttl);
    }

    @Override
    public void l2Ttl(Duration ttl) {
      spec.l2Ttl(ttl);
    }

    @Override
    public void negativeTtl(Duration ttl) {
      spec.negativeTtl(ttl);
    }

    @Override
    public void ttlJitter(double jitter) {
      spec.ttlJitter(jitter);
    }

    @Override
    public void l2Timeout(Duration timeout) {
      spec.l2Timeout(timeout);
    }

    @Override
    public void maxStaleness(Duration bound) {
      spec.maxStaleness(bound);
    }
  }

  /** As {@link TiercacheCacheSpec} does, L2 expiry settings reach the builder only with an L2 (it refuses them). */
  private record BuilderSettings(TieredCacheBuilder<?, ?> builder, boolean hasL2) implements Settings {
    @Override
    public void l1MaximumSize(long size) {
      builder.l1(l1 -> l1.maximumSize(size));
    }

    @Override
    public void l1ExpireAfterWrite(Duration ttl) {
      builder.l1(l1 -> l1.expireAfterWrite(ttl));
    }

    @Override
    public void l1ExpireAfterAccess(Duration ttl) {
      builder.l1(l1 -> l1.expireAfterAccess(ttl));
    }

    @Override
    public void l2Ttl(Duration ttl) {
      if (hasL2) {
        builder.l2Ttl(ttl);
      }
    }

    @Override
    public void negativeTtl(Duration ttl) {
      builder.negativeTtl(ttl);
    }

    @Override
    public void ttlJitter(double jitter) {
      if (hasL2) {
        builder.ttlJitter(jitter);
      }
    }

    @Override
    public void l2Timeout(Duration timeout) {
      builder.l2Timeout(timeout);
    }

    @Override
    public void maxStaleness(Duration bound) {
      builder.maxStaleness(bound);
    }
  }

  /** The codec of {@code own}'s value type, codec and allowed classes, each falling back to the defaults'. */
  private ValueCodec<?> codec(String where, TiercacheCacheProperties own, TiercacheCacheProperties defaults) {
    Class<?> type = first(own, defaults, TiercacheCacheProperties::getValueType);
    TiercacheCacheProperties.Codec kind = first(own, defaults, TiercacheCacheProperties::getCodec);
    if (kind == null) {
      kind = type == String.class ? TiercacheCacheProperties.Codec.STRING : TiercacheCacheProperties.Codec.JSON;
    }
    List<Class<?>> allowed = first(own, defaults, TiercacheCacheProperties::getAllowedClasses);
    return codec(where, kind, type, allowed == null ? List.of() : allowed);
  }

  @SuppressWarnings({"unchecked", "rawtypes"})
  private ValueCodec<?> codec(
      String where, TiercacheCacheProperties.Codec kind, Class<?> type, List<Class<?>> allowed) {
    switch (kind) {
      case STRING:
        if (type != String.class) {
          throw new IllegalStateException(
              where + ": codec string needs value-type java.lang.String, not " + type.getName());
        }
        return ValueCodecs.string();
      case JAVA:
        if (!Serializable.class.isAssignableFrom(type)) {
          throw new IllegalStateException(
              where + ": codec java needs a Serializable value-type, not " + type.getName());
        }
        return JavaSerializationCodec.allowing((Class) type, allowed.toArray(new Class<?>[0]));
      default:
        if (json == null) {
          throw new IllegalStateException(
              where + ": codec json needs Jackson (jackson-databind) on the class path");
        }
        return json.codecFor(type);
    }
  }

  private static <T> T first(
      TiercacheCacheProperties own,
      TiercacheCacheProperties defaults,
      Function<TiercacheCacheProperties, T> setting) {
    T value = setting.apply(own);
    return value != null ? value : setting.apply(defaults);
  }
}
