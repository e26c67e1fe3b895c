package dev.tiercache.spring;

/**
 * Changes the settings of Spring caches as {@link TiercacheCacheManager} creates them, after the defaults and the
 * per-cache settings (for Spring Boot: after the {@code tiercache.*} properties). Declare one as a bean to have the
 * starter apply it; customizers run in {@code @Order} order.
 *
 * <pre>{@code
 * @Bean
 * TiercacheCacheCustomizer users() {
 *   return (name, spec) -> {
 *     if (name.equals("users")) {
 *       spec.valueCodec(JsonCodec.of(User.class)).tags(key -> Tags.of("table:users"));
 *     }
 *   };
 * }
 * }</pre>
 */
@FunctionalInterface
public interface TiercacheCacheCustomizer {

  /**
   * Changes one cache's settings.
   *
   * @param cacheName the Spring cache name
   * @param spec its settings, to change in place
   */
  void customize(String cacheName, TiercacheCacheSpec spec);
}
