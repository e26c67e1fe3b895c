package dev.tiercache.spring.boot;

import javax.sql.DataSource;
import org.springframework.boot.autoconfigure.condition.AnyNestedCondition;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnSingleCandidate;
import org.springframework.cache.CacheManager;
import org.springframework.cache.interceptor.CacheAspectSupport;
import org.springframework.context.annotation.Conditional;

/**
 * Whether something will use the L2: the Tiercache cache manager will be declared (Spring caching is on with
 * {@code @EnableCaching}, the application has no {@link CacheManager} of its own and {@code spring.cache.type} leaves
 * it to Tiercache, as {@link TiercacheAutoConfiguration} requires), or the query executor will be declared
 * (cache-query, one DataSource and tiercache.query.row-types). Otherwise the starter opens no Redis connection.
 */
final class UsedByCachingOrQueries extends AnyNestedCondition {

  UsedByCachingOrQueries() {
    super(ConfigurationPhase.REGISTER_BEAN);
  }

  @ConditionalOnBean(CacheAspectSupport.class)
  @ConditionalOnMissingBean(CacheManager.class)
  @Conditional(TiercacheCacheTypeCondition.class)
  static class Caching {}

  @ConditionalOnClass(name = "dev.tiercache.query.CachedQueryExecutor")
  @ConditionalOnSingleCandidate(DataSource.class)
  @ConditionalOnProperty(prefix = "tiercache.query", name = "row-types")
  @ConditionalOnProperty(prefix = "tiercache.query", name = "enabled", matchIfMissing = true)
  static class Queries {}
}
