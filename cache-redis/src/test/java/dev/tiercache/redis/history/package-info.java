/**
 * The project's multi-instance history checker (issue 9): several {@link dev.tiercache.TieredCache} instances, each
 * with its own Lettuce client and {@link dev.tiercache.redis.RedisTier}, on one real Redis over one versioned
 * in-memory database; reads and writes (database update, then an invalidation of one of the four kinds or a put) from
 * several threads per instance, every operation time-stamped on one clock; faults injected into real processes
 * ({@link dev.tiercache.redis.history.Faults}); then an offline check of the history against DESIGN.md invariants 1
 * and 2 ({@link dev.tiercache.redis.history.HistoryChecker}).
 *
 * <h2>Running</h2>
 * Every scenario is tagged {@code history}. The default build runs those the product passes; scenarios it does not
 * pass yet are also tagged {@code history-pending}, and the Redis Cluster runs {@code history-slow}, and the default
 * build excludes both (property {@code tiercache.excludedGroups} in cache-redis/pom.xml).
 * <pre>
 * # every scenario, short form (about 4 s of workload each)
 * mvn -B -o -pl cache-redis -am test -Dtest='dev.tiercache.redis.history.**' -Dsurefire.failIfNoSpecifiedTests=false \
 *     -Dgroups=history -Dtiercache.excludedGroups=none
 * # long form, issue 9's fault lengths (freeze, pause and cut of 5 s), and a table per class; one class per run,
 * # because surefire stops a fork after 600 s
 * mvn ... -Dtest='dev.tiercache.redis.history.HistoryScenariosTest' -Dgroups=history \
 *     -Dtiercache.excludedGroups=none -Dhistory.seconds=30
 * # the bound (default 500 ms; also given to the instances as maxStaleness)
 * mvn ... -Dhistory.boundMs=1000
 * </pre>
 * Each scenario prints a line starting with {@code HISTORY}, and each class a table in the format of issue 9.
 */
package dev.tiercache.redis.history;
