/**
 * Cached queries for JDBC code over a {@link dev.tiercache.TieredCache}: {@link
 * dev.tiercache.query.CachedQueryExecutor} derives each query's key and {@code table:<name>} tags, refuses to cache
 * what must not be cached, and invalidates what writes touch once they commit, joining the caller's transaction
 * through {@link dev.tiercache.query.TransactionSync}; everything else is the cache's.
 */
package dev.tiercache.query;
