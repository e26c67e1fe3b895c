package dev.tiercache.spring.boot;

import dev.tiercache.TieredCache;
import dev.tiercache.TieredCacheBuilder;
import dev.tiercache.query.CachedQueryExecutor;
import dev.tiercache.query.CachedQueryExecutorBuilder;
import dev.tiercache.query.QueryResult;
import dev.tiercache.query.QueryResultCodec;
import dev.tiercache.spi.L2Store;
import dev.tiercache.spring.SpringTransactionSync;
import javax.sql.DataSource;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnSingleCandidate;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Conditional;
import org.springframework.jdbc.datasource.TransactionAwareDataSourceProxy;

/**
 * A {@link CachedQueryExecutor} bean when cache-query and one {@link DataSource} are present, joined to Spring's
 * transactions: it reads and writes through a {@link TransactionAwareDataSourceProxy} (inside {@code @Transactional}
 * that is the transaction's connection), and {@link SpringTransactionSync} defers its table invalidations to after
 * the commit, none on rollback. Its results live in one {@link TieredCache} named {@code tiercache.query.cache-name}
 * on the shared L2, with the JSON codec of {@code tiercache.query.row-types} and the settings of
 * {@code tiercache.defaults.*} and {@code tiercache.caches.<cache-name>.*} (but not their value type, codec, tags or
 * null policy). Declared only when those row types are set (or the L2 is off), and not with
 * {@code tiercache.query.enabled=false}.
 */
@AutoConfiguration(
    after = TiercacheInfrastructureAutoConfiguration.class,
    afterName = {
      "org.springframework.boot.autoconfigure.jdbc.DataSourceAutoConfiguration",
      "org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration"
    })
@ConditionalOnClass({CachedQueryExecutor.class, TransactionAwareDataSourceProxy.class})
@ConditionalOnSingleCandidate(DataSource.class)
@Conditional(QueryResultsStorable.class)
@ConditionalOnProperty(prefix = "tiercache", name = {"enabled", "query.enabled"}, matchIfMissing = true)
public class TiercacheQueryAutoConfiguration {

  /** Creates the configuration; Spring Boot does. */
  public TiercacheQueryAutoConfiguration() {}

  /**
   * The cache of query results.
   *
   * @param properties the tiercache.* properties
   * @param l2 the shared L2, if any; the {@code @Primary} one if there are several
   * @param json the JSON codecs, if Jackson is present
   * @param meters Spring Boot's meter registry, if there is one
   * @return the cache; closed with the context
   */
  @Bean(destroyMethod = "close")
  @ConditionalOnMissingBean(name = "tiercacheQueryCache")
  public TieredCache<String, QueryResult> tiercacheQueryCache(
      TiercacheProperties properties,
      ObjectProvider<L2Store> l2,
      ObjectProvider<JsonCodecs> json,
      ObjectProvider<TiercacheMeters> meters) {
    TiercacheProperties.Query query = properties.getQuery();
    String name = query.getCacheName();
    TieredCacheBuilder<String, QueryResult> builder = TieredCache.builder(name);
    L2Store store = SharedL2.of(l2, "the query cache");
    if (store != null) {
      JsonCodecs codecs = json.getIfAvailable();
      if (codecs == null) {
        throw new IllegalStateException("the query cache's L2 codec needs Jackson (jackson-databind)");
      }
      if (query.getRowTypes().isEmpty()) {
        throw new IllegalStateException("the query cache's L2 codec needs tiercache.query.row-types");
      }
      builder.l2(store).valueCodec(QueryResultCodec.json(codecs.mapper(), query.getRowTypes().toArray(Class<?>[]::new)));
    }
    // The same settings as any cache's, from the same code; its codec is the query results' own.
    new PropertiesSpecs(properties, json.getIfAvailable()).applyTo(builder, name, store != null);
    meters.ifAvailable(m -> m.bind(builder));
    return builder.build();
  }

  /**
   * The executor, joined to Spring's transactions.
   *
   * @param cache the query results' cache
   * @param dataSource the application's data source
   * @param properties the tiercache.* properties
   * @param meters Spring Boot's meter registry, if there is one
   * @return the executor
   */
  @Bean
  @ConditionalOnMissingBean
  public CachedQueryExecutor cachedQueryExecutor(
      @Qualifier("tiercacheQueryCache") TieredCache<String, QueryResult> cache,
      DataSource dataSource,
      TiercacheProperties properties,
      ObjectProvider<TiercacheMeters> meters) {
    DataSource joined =
        dataSource instanceof TransactionAwareDataSourceProxy
            ? dataSource
            : new TransactionAwareDataSourceProxy(dataSource);
    CachedQueryExecutorBuilder builder =
        CachedQueryExecutor.builder(cache).dataSource(joined).transactionSync(SpringTransactionSync.instance());
    if (properties.getQuery().getMaxCachedRows() != null) {
      builder.maxCachedRows(properties.getQuery().getMaxCachedRows());
    }
    meters.ifAvailable(m -> builder.meterRegistry(m.registry()));
    return builder.build();
  }
}
