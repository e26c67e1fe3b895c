package dev.tiercache.spring.boot;

import org.springframework.boot.autoconfigure.condition.ConditionMessage;
import org.springframework.boot.autoconfigure.condition.ConditionOutcome;
import org.springframework.boot.autoconfigure.condition.SpringBootCondition;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.context.annotation.ConditionContext;
import org.springframework.core.type.AnnotatedTypeMetadata;

/**
 * Whether {@code spring.cache.type} leaves the cache manager to Tiercache, as Spring Boot's own {@code CacheCondition}
 * decides for each of its cache types: unset means auto-detection (and Tiercache runs before Boot's cache
 * auto-configuration, so it is chosen), {@code tiercache} chooses it, and any other value ({@code none},
 * {@code simple}, {@code redis}...) asks for one of Boot's, so Tiercache backs off and Boot configures that one.
 * The value is read as text: Boot's {@code CacheType} enum has no Tiercache constant, and it moved in Boot 4.
 */
final class TiercacheCacheTypeCondition extends SpringBootCondition {

  static final String TYPE = "tiercache";

  TiercacheCacheTypeCondition() {}

  @Override
  public ConditionOutcome getMatchOutcome(ConditionContext context, AnnotatedTypeMetadata metadata) {
    ConditionMessage.Builder message = ConditionMessage.forCondition("Tiercache cache type");
    String type = Binder.get(context.getEnvironment()).bind("spring.cache.type", String.class).orElse("").trim();
    if (type.isEmpty()) {
      return ConditionOutcome.match(message.because("automatic cache type"));
    }
    if (type.equalsIgnoreCase(TYPE)) {
      return ConditionOutcome.match(message.because("spring.cache.type is " + type));
    }
    return ConditionOutcome.noMatch(message.because("spring.cache.type is " + type + ", not " + TYPE));
  }
}
