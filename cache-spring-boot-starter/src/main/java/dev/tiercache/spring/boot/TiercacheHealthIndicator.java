package dev.tiercache.spring.boot;

import dev.tiercache.CacheStatus;
import dev.tiercache.spring.TiercacheCache;
import dev.tiercache.spring.TiercacheCacheManager;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Function;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.boot.actuate.health.AbstractHealthIndicator;
import org.springframework.boot.actuate.health.Health;

/**
 * The {@code tiercache} health contributor: DOWN while Redis does not answer a PING within a second, UP otherwise,
 * with each cache's L2 circuit breaker state and pending invalidations as details (from its meters, when there is a
 * meter registry). Caches keep working while Redis is down (L1 and loader), so this indicator is not part of the
 * liveness or readiness groups unless the application adds it.
 */
final class TiercacheHealthIndicator extends AbstractHealthIndicator implements DisposableBean {

  private static final Duration PING_TIMEOUT = Duration.ofSeconds(1);

  private final TiercacheCacheManager manager;
  private final RedisPing ping;
  private final Function<String, Map<String, Object>> cacheDetails;

  TiercacheHealthIndicator(
      TiercacheCacheManager manager, RedisPing ping, Function<String, Map<String, Object>> cacheDetails) {
    super("Tiercache health check failed");
    this.manager = manager;
    this.ping = ping;
    this.cacheDetails = cacheDetails;
  }

  @Override
  protected void doHealthCheck(Health.Builder builder) {
    if (ping == null) {
      builder.up().withDetail("l2", "none");
    } else {
      try {
        ping.ping(PING_TIMEOUT);
        builder.up().withDetail("redis", "reachable");
      } catch (Exception e) {
        builder.down().withDetail("redis", "unreachable").withDetail("error", e.getClass().getSimpleName());
      }
    }
    Map<String, Object> caches = new LinkedHashMap<>();
    for (TiercacheCache cache : manager.tiercaches()) {
      Map<String, Object> details = new LinkedHashMap<>(cacheDetails.apply(cache.getName()));
      CacheStatus status = cache.getNativeCache().status();
      // Whether this instance may serve its L1: its bus proven caught up to within the staleness bound.
      details.put("bus", status.l1Served() ? "caught-up" : "not-proven");
      details.putIfAbsent("l2Circuit", status.l2Circuit());
      details.putIfAbsent("pendingInvalidations", (long) status.pendingInvalidations());
      caches.put(cache.getName(), details);
    }
    builder.withDetail("caches", caches);
  }

  @Override
  public void destroy() {
    if (ping != null) {
      ping.close();
    }
  }
}
