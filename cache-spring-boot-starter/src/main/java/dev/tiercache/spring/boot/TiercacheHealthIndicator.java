package dev.tiercache.spring.boot;

import org.springframework.beans.factory.DisposableBean;
import org.springframework.boot.actuate.health.AbstractHealthIndicator;
import org.springframework.boot.actuate.health.Health;

/**
 * The {@code tiercache} health contributor on Spring Boot 3 ({@link TiercacheHealthCheck} says what it reports).
 * Caches keep working while Redis is down (L1 and loader), so this indicator is not part of the liveness or readiness
 * groups unless the application adds it.
 */
final class TiercacheHealthIndicator extends AbstractHealthIndicator implements DisposableBean {

  private final TiercacheHealthCheck check;

  TiercacheHealthIndicator(TiercacheHealthCheck check) {
    super("Tiercache health check failed");
    this.check = check;
  }

  @Override
  protected void doHealthCheck(Health.Builder builder) {
    TiercacheHealthCheck.Result result = check.check();
    (result.up() ? builder.up() : builder.down()).withDetails(result.details());
  }

  @Override
  public void destroy() {
    check.destroy();
  }
}
