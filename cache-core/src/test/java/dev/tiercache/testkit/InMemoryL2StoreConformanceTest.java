package dev.tiercache.testkit;

import dev.tiercache.spi.L2Store;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Timeout;

/** Runs the L2 conformance kit against the in-memory reference store, a fresh one per test. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class InMemoryL2StoreConformanceTest extends L2StoreConformanceTest {

  private final InMemoryL2Store store = new InMemoryL2Store();

  @Override
  protected L2Store store() {
    return store;
  }
}
