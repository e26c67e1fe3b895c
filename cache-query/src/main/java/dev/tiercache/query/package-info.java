/**
 * Cached queries over a {@link dev.tiercache.TieredCache}: {@link dev.tiercache.query.CachedQueryExecutor} derives
 * each query's key and tags and invalidates what writes touch; everything else is the cache's.
 */
package dev.tiercache.query;
