package dev.tiercache.spring.boot;

import dev.tiercache.Tags;
import dev.tiercache.codec.JavaSerializationCodec;
import dev.tiercache.codec.ValueCodec;
import dev.tiercache.codec.ValueCodecs;
import dev.tiercache.spring.TiercacheCacheManagerBuilder;
import dev.tiercache.spring.TiercacheCacheSpec;
import java.io.Serializable;
import java.util.List;
import java.util.Objects;
import java.util.function.Function;

/**
 * Turns {@code tiercache.defaults.*} and {@code tiercache.caches.<name>.*} into cache specs: the defaults first,
 * then a cache's own settings, then its codec, which is made from the merged value type, codec and allowed classes.
 */
final class PropertiesSpecs {

  private final TiercacheProperties properties;
  private final JsonCodecs json;

  PropertiesSpecs(TiercacheProperties properties, JsonCodecs json) {
    this.properties = properties;
    this.json = json;
  }

  void configure(TiercacheCacheManagerBuilder builder) {
    builder
        .allowNullValues(properties.isAllowNullValues())
        .dynamic(properties.isDynamic())
        .transactionAware(properties.isTransactionAware())
        .cacheNames(properties.getCacheNames())
        .defaults(spec -> settings(properties.getDefaults(), spec));
    properties.getCaches().forEach((name, cache) -> builder.cache(name, spec -> settings(cache, spec)));
    builder.customizer(this::codec);
  }

  private static void settings(TiercacheCacheProperties p, TiercacheCacheSpec spec) {
    if (p.getL1MaximumSize() != null) {
      spec.l1MaximumSize(p.getL1MaximumSize());
    }
    if (p.getL1ExpireAfterWrite() != null) {
      spec.l1ExpireAfterWrite(p.getL1ExpireAfterWrite());
    }
    if (p.getL1ExpireAfterAccess() != null) {
      spec.l1ExpireAfterAccess(p.getL1ExpireAfterAccess());
    }
    if (p.getL2Ttl() != null) {
      spec.l2Ttl(p.getL2Ttl());
    }
    if (p.getNegativeTtl() != null) {
      spec.negativeTtl(p.getNegativeTtl());
    }
    if (p.getTtlJitter() != null) {
      spec.ttlJitter(p.getTtlJitter());
    }
    if (p.getL2Timeout() != null) {
      spec.l2Timeout(p.getL2Timeout());
    }
    if (p.getMaxStaleness() != null) {
      spec.maxStaleness(p.getMaxStaleness());
    }
    if (p.getAllowNullValues() != null) {
      spec.allowNullValues(p.getAllowNullValues());
    }
    if (p.getTags() != null) {
      Tags tags = Tags.of(p.getTags());
      spec.tags(key -> tags);
    }
  }

  private void codec(String name, TiercacheCacheSpec spec) {
    TiercacheCacheProperties own = properties.getCaches().getOrDefault(name, new TiercacheCacheProperties());
    TiercacheCacheProperties defaults = properties.getDefaults();
    Class<?> type = first(own, defaults, TiercacheCacheProperties::getValueType);
    if (type == null) {
      return;
    }
    TiercacheCacheProperties.Codec kind = first(own, defaults, TiercacheCacheProperties::getCodec);
    if (kind == null) {
      kind = type == String.class ? TiercacheCacheProperties.Codec.STRING : TiercacheCacheProperties.Codec.JSON;
    }
    List<Class<?>> allowed = first(own, defaults, TiercacheCacheProperties::getAllowedClasses);
    spec.valueCodec(codec(name, kind, type, allowed == null ? List.of() : allowed));
  }

  @SuppressWarnings({"unchecked", "rawtypes"})
  private ValueCodec<?> codec(
      String name, TiercacheCacheProperties.Codec kind, Class<?> type, List<Class<?>> allowed) {
    switch (kind) {
      case STRING:
        if (type != String.class) {
          throw new IllegalStateException(
              "cache '" + name + "': codec string needs value-type java.lang.String, not " + type.getName());
        }
        return ValueCodecs.string();
      case JAVA:
        if (!Serializable.class.isAssignableFrom(type)) {
          throw new IllegalStateException(
              "cache '" + name + "': codec java needs a Serializable value-type, not " + type.getName());
        }
        return JavaSerializationCodec.allowing((Class) type, allowed.toArray(new Class<?>[0]));
      default:
        if (json == null) {
          throw new IllegalStateException(
              "cache '" + name + "': codec json needs Jackson (jackson-databind) on the class path");
        }
        return json.codecFor(type);
    }
  }

  /** One setting of a cache: its own if set, else the defaults'; null if neither is set. */
  static <T> T setting(
      TiercacheProperties properties, String cacheName, Function<TiercacheCacheProperties, T> setting) {
    return first(
        properties.getCaches().getOrDefault(cacheName, new TiercacheCacheProperties()),
        properties.getDefaults(),
        setting);
  }

  private static <T> T first(
      TiercacheCacheProperties own,
      TiercacheCacheProperties defaults,
      Function<TiercacheCacheProperties, T> setting) {
    T value = setting.apply(own);
    return value != null ? value : setting.apply(Objects.requireNonNull(defaults));
  }
}
