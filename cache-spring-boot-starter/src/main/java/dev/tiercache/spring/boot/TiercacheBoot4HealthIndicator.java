package dev.tiercache.spring.boot;

import org.springframework.beans.factory.DisposableBean;
import org.springframework.boot.health.contributor.AbstractHealthIndicator;
import org.springframework.boot.health.contributor.Health;

/**
 * The {@code tiercache} health contributor on Spring Boot 4, whose health API moved to
 * {@code org.springframework.boot.health.contributor} ({@link TiercacheHealthCheck} says what it reports). Compiled
 * against that one Boot 4 module, and loaded only where it is on the class path.
 */
final class TiercacheBoot4HealthIndicator extends AbstractHealthIndicator implements DisposableBean {

  private final TiercacheHealthCheck check;

  TiercacheBoot4HealthIndicator(TiercacheHealthCheck check) {
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
