package dev.tiercache.spring.boot;

import dev.tiercache.spring.TiercacheCacheManagerBuilder;

/**
 * Changes the auto-configured {@link TiercacheCacheManagerBuilder} after the {@code tiercache.*} properties were
 * applied and before the manager is built. Declare one as a bean; they run in {@code @Order} order.
 */
@FunctionalInterface
public interface TiercacheCacheManagerBuilderCustomizer {

  /**
   * Changes the builder.
   *
   * @param builder the builder of the auto-configured manager
   */
  void customize(TiercacheCacheManagerBuilder builder);
}
