/**
 * Spring Boot auto-configuration of Tiercache: a {@link dev.tiercache.spring.TiercacheCacheManager} on Boot's own
 * {@code spring.data.redis.*} settings, {@code tiercache.*} properties, meters, an Actuator health indicator, and a
 * {@code CachedQueryExecutor} joined to Spring's transactions.
 */
package dev.tiercache.spring.boot;
