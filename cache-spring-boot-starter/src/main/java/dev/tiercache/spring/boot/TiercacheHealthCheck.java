package dev.tiercache.spring.boot;

import dev.tiercache.CacheStatus;
import dev.tiercache.spi.L2Store;
import dev.tiercache.spring.TiercacheCache;
import dev.tiercache.spring.TiercacheCacheManager;
import io.lettuce.core.AbstractRedisClient;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Function;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.beans.factory.ListableBeanFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.util.ClassUtils;

/**
 * What the {@code tiercache} health contributor reports, whatever Spring Boot's health API: DOWN while Redis does not
 * answer a PING within a second (connecting included, so that a check never blocks much longer), UP otherwise, with
 * each cache's bus state, L2 circuit breaker state and pending invalidations as details (the latter two from its
 * meters, when there is a meter registry). Spring Boot 3's indicator ({@link TiercacheHealthIndicator}) and Spring
 * Boot 4's ({@link TiercacheBoot4HealthIndicator}) only translate it.
 */
final class TiercacheHealthCheck implements DisposableBean {

  private static final Duration PING_TIMEOUT = Duration.ofSeconds(1);

  /** The outcome of one check. */
  record Result(boolean up, Map<String, Object> details) {}

  private final TiercacheCacheManager manager;
  private final RedisPing ping;
  private final Function<String, Map<String, Object>> cacheDetails;

  TiercacheHealthCheck(
      TiercacheCacheManager manager, RedisPing ping, Function<String, Map<String, Object>> cacheDetails) {
    this.manager = manager;
    this.ping = ping;
    this.cacheDetails = cacheDetails;
  }

  /**
   * A check of the manager's caches with meter details, pinging the Redis they use: the starter's own client when it
   * made one (whatever other Lettuce clients the application has); else, when the application declares its own
   * {@link L2Store}, the application's one Lettuce client (the one that store most likely uses); else none.
   */
  static TiercacheHealthCheck of(
      TiercacheCacheManager manager,
      ObjectProvider<AbstractRedisClient> starterClient,
      ObjectProvider<AbstractRedisClient> clients,
      ListableBeanFactory beans) {
    AbstractRedisClient redis =
        starterClient.getIfAvailable(
            () -> beans.getBeanNamesForType(L2Store.class).length > 0 ? clients.getIfUnique() : null);
    return new TiercacheHealthCheck(
        manager, redis == null ? null : new RedisPing(redis), meterDetails(beans));
  }

  private static Function<String, Map<String, Object>> meterDetails(ListableBeanFactory beans) {
    if (!ClassUtils.isPresent("io.micrometer.core.instrument.MeterRegistry", TiercacheHealthCheck.class.getClassLoader())) {
      return name -> Map.of();
    }
    Function<String, Map<String, Object>> gauges = CacheGauges.of(beans);
    return gauges == null ? name -> Map.of() : gauges;
  }

  Result check() {
    Map<String, Object> details = new LinkedHashMap<>();
    boolean up = true;
    if (ping == null) {
      details.put("l2", "none");
    } else {
      try {
        ping.ping(PING_TIMEOUT);
        details.put("redis", "reachable");
      } catch (Exception e) {
        up = false;
        details.put("redis", "unreachable");
        details.put("error", e.getClass().getSimpleName());
      }
    }
    Map<String, Object> caches = new LinkedHashMap<>();
    for (TiercacheCache cache : manager.tiercaches()) {
      Map<String, Object> one = new LinkedHashMap<>(cacheDetails.apply(cache.getName()));
      CacheStatus status = cache.getNativeCache().status();
      // Whether this instance may serve its L1: its bus proven caught up to within the staleness bound.
      one.put("bus", status.l1Served() ? "caught-up" : "not-proven");
      one.putIfAbsent("l2Circuit", status.l2Circuit());
      one.putIfAbsent("pendingInvalidations", (long) status.pendingInvalidations());
      caches.put(cache.getName(), one);
    }
    details.put("caches", caches);
    return new Result(up, details);
  }

  @Override
  public void destroy() {
    if (ping != null) {
      ping.close();
    }
  }
}
