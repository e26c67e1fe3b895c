/**
 * Spring's cache abstraction over {@link dev.tiercache.TieredCache}: {@link dev.tiercache.spring.TiercacheCacheManager}
 * creates one tiered cache per Spring cache name, {@link dev.tiercache.spring.TiercacheCache} gives it Spring's
 * {@link org.springframework.cache.Cache} semantics, {@link dev.tiercache.spring.SpringKeyCodec} maps Spring's keys
 * to stable strings, and {@link dev.tiercache.spring.TiercacheEvictor} reaches tag and prefix invalidation from
 * Spring code. {@link dev.tiercache.spring.SpringTransactionSync} joins a {@code CachedQueryExecutor} to Spring's
 * transactions.
 */
package dev.tiercache.spring;
