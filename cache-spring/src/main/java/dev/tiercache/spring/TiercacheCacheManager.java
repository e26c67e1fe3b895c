package dev.tiercache.spring;

import dev.tiercache.TieredCache;
import dev.tiercache.TieredCacheBuilder;
import dev.tiercache.spi.L2Store;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.cache.Cache;
import org.springframework.cache.transaction.AbstractTransactionSupportingCacheManager;
import org.springframework.cache.transaction.TransactionAwareCacheDecorator;

/**
 * A Spring {@link org.springframework.cache.CacheManager} that gives each cache name its own {@link TieredCache}
 * (named after it) on one shared L2 store, and closes them when the context closes.
 *
 * <pre>{@code
 * @Bean
 * TiercacheCacheManager cacheManager(RedisTier redis) {
 *   return TiercacheCacheManager.builder(redis)
 *       .defaults(spec -> spec.l1MaximumSize(10_000).l2Ttl(Duration.ofMinutes(30)))
 *       .cache("users", spec -> spec.valueCodec(JsonCodec.of(User.class)))
 *       .transactionAware(true)
 *       .build();
 * }
 * }</pre>
 *
 * <p>With {@link TiercacheCacheManagerBuilder#transactionAware transactionAware}, caches are wrapped in Spring's
 * {@link TransactionAwareCacheDecorator}: inside a transaction, {@code put} and {@code evict} wait for the commit
 * and are dropped on rollback. Caches not named up front are created on first use unless
 * {@link TiercacheCacheManagerBuilder#dynamic dynamic} is off.
 */
public final class TiercacheCacheManager extends AbstractTransactionSupportingCacheManager
    implements DisposableBean {

  private final TiercacheCacheManagerBuilder settings;
  private final Map<String, TiercacheCache> created = new ConcurrentHashMap<>();
  private volatile boolean closed;

  TiercacheCacheManager(TiercacheCacheManagerBuilder settings) {
    this.settings = settings;
    setTransactionAware(settings.transactionAware);
    initializeCaches();
  }

  /**
   * Starts building a manager.
   *
   * @param l2 the L2 store every cache shares (a {@code RedisTier}), or null for L1-only caches
   * @return a builder
   */
  public static TiercacheCacheManagerBuilder builder(L2Store l2) {
    return new TiercacheCacheManagerBuilder(l2);
  }

  @Override
  protected Collection<? extends Cache> loadCaches() {
    List<Cache> caches = new ArrayList<>();
    for (String name : settings.cacheNames) {
      caches.add(tiercache(name));
    }
    return caches;
  }

  @Override
  protected Cache getMissingCache(String name) {
    return settings.dynamic ? tiercache(name) : null;
  }

  /**
   * Returns the cache of a name without the transaction-aware wrapper, creating it if the manager is dynamic.
   *
   * @param name the cache name
   * @return the cache, or null if it does not exist and the manager is not dynamic
   * @throws IllegalStateException if the manager was closed
   */
  public TiercacheCache getTiercache(String name) {
    Cache cache = getCache(name);
    if (cache instanceof TransactionAwareCacheDecorator) {
      cache = ((TransactionAwareCacheDecorator) cache).getTargetCache();
    }
    return (TiercacheCache) cache;
  }

  /**
   * Returns the caches created so far, without transaction-aware wrappers.
   *
   * @return a snapshot of the caches
   */
  public Collection<TiercacheCache> tiercaches() {
    return List.copyOf(created.values());
  }

  private TiercacheCache tiercache(String name) {
    if (closed) {
      throw new IllegalStateException("the cache manager is closed");
    }
    return created.computeIfAbsent(name, this::create);
  }

  private TiercacheCache create(String name) {
    TiercacheCacheSpec spec = settings.defaults.copy();
    settings.perCache.getOrDefault(name, s -> {}).accept(spec);
    for (TiercacheCacheCustomizer customizer : settings.customizers) {
      customizer.customize(name, spec);
    }
    boolean allowNulls = spec.allowsNullValues(settings.allowNullValues);
    TieredCacheBuilder<Object, Object> builder = TieredCache.builder(name);
    if (settings.l2 != null) {
      builder.l2(settings.l2);
    }
    if (settings.meterRegistry != null) {
      builder.meterRegistry((MeterRegistry) settings.meterRegistry);
    }
    spec.applyTo(builder, settings.l2 != null, allowNulls, name);
    return new TiercacheCache(builder.build(), allowNulls, spec);
  }

  /** Closes every tiered cache this manager created. The L2 store stays its creator's to close. */
  @Override
  public void destroy() {
    closed = true;
    for (TiercacheCache cache : created.values()) {
      cache.getNativeCache().close();
    }
  }
}
