package dev.tiercache;

/**
 * How a cache stands with its L2 and its bus at one moment, for health checks ({@link TieredCache#status()}).
 *
 * @param l1Served whether the L1 is served now: true without a bus, else only while a heartbeat proves the bus is
 *     caught up to within {@code maxStaleness} (DESIGN.md invariant 2)
 * @param l2Trusted whether the L2 is read and written now: there is one and no invalidation waits for it
 * @param pendingInvalidations how many invalidations wait for the L2 (the {@code cache.l2.pending} gauge)
 * @param l2Circuit the L2 circuit breaker: {@code closed}, {@code half-open}, {@code open}, {@code disabled}, or
 *     {@code none} without an L2
 */
public record CacheStatus(boolean l1Served, boolean l2Trusted, int pendingInvalidations, String l2Circuit) {}
