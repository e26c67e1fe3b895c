package dev.tiercache.spring;

import java.util.Objects;
import java.util.function.Consumer;
import org.springframework.transaction.support.TransactionSynchronization;
import org.springframework.transaction.support.TransactionSynchronizationManager;

/**
 * Tag and prefix eviction from Spring code, which {@code @CacheEvict} cannot express. The Spring Boot starter
 * declares one as a bean.
 *
 * <pre>{@code
 * @Transactional
 * public void renameTenant(long tenantId, String name) {
 *   repository.rename(tenantId, name);
 *   evictor.evictTag("users", "tenant:" + tenantId);   // every cached user of the tenant, after the commit
 *   evictor.evictPrefix("reports", "tenant:" + tenantId + ":");
 * }
 * }</pre>
 *
 * Like {@code @CacheEvict} on a transaction-aware manager, an eviction requested inside a transaction runs after
 * its commit and not at all on rollback; outside a transaction (or with a manager that is not transaction-aware) it
 * runs at once, on every instance's L1 and in the L2, before the method returns.
 */
public final class TiercacheEvictor {

  private final TiercacheCacheManager manager;

  /**
   * Creates an evictor over a manager's caches.
   *
   * @param manager the manager
   */
  public TiercacheEvictor(TiercacheCacheManager manager) {
    this.manager = Objects.requireNonNull(manager, "manager");
  }

  /**
   * Evicts the entries of one cache that carry {@code tag} (see {@link TiercacheCacheSpec#tags}).
   *
   * @param cacheName the cache
   * @param tag the tag
   * @throws IllegalArgumentException if the cache does not exist (and the manager is not dynamic)
   */
  public void evictTag(String cacheName, String tag) {
    Objects.requireNonNull(tag, "tag");
    run(cacheName, cache -> cache.evictTag(tag));
  }

  /**
   * Evicts the String keys of one cache that start with {@code prefix}, literally (glob characters are data).
   *
   * @param cacheName the cache
   * @param prefix a prefix of the cache's String keys
   * @throws IllegalArgumentException if the cache does not exist (and the manager is not dynamic)
   */
  public void evictPrefix(String cacheName, String prefix) {
    Objects.requireNonNull(prefix, "prefix");
    run(cacheName, cache -> cache.evictPrefix(prefix));
  }

  /**
   * Evicts the entries that carry {@code tag} from every cache this manager knows: the caches named up front
   * ({@link TiercacheCacheManagerBuilder#cache}, {@link TiercacheCacheManagerBuilder#cacheNames}, or
   * {@code tiercache.caches.*} with the starter), which every instance creates when it starts, and the caches this
   * instance created on first use. A cache created on first use only on other instances is not reached (no instance
   * can tell which caches another one made): name every cache a tag may span up front.
   *
   * @param tag the tag
   */
  public void evictTagEverywhere(String tag) {
    Objects.requireNonNull(tag, "tag");
    whenCommitted(() -> manager.tiercaches().forEach(cache -> cache.evictTag(tag)));
  }

  private void run(String cacheName, Consumer<TiercacheCache> eviction) {
    TiercacheCache cache = manager.getTiercache(cacheName);
    if (cache == null) {
      throw new IllegalArgumentException("no cache named '" + cacheName + "'");
    }
    whenCommitted(() -> eviction.accept(cache));
  }

  private void whenCommitted(Runnable eviction) {
    if (manager.isTransactionAware() && TransactionSynchronizationManager.isSynchronizationActive()) {
      TransactionSynchronizationManager.registerSynchronization(
          new TransactionSynchronization() {
            @Override
            public void afterCommit() {
              eviction.run();
            }
          });
    } else {
      eviction.run();
    }
  }
}
