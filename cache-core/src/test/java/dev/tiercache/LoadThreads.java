package dev.tiercache;

import io.micrometer.core.instrument.MeterRegistry;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * What the tests of a load's fills and the L1's upkeep share: threads of their own to load and join on (not the common
 * pool, whose workers some of them occupy), and the counts they check.
 */
final class LoadThreads {

  /** Daemon threads named {@value #NAME}, never shut down (idle ones end after a minute). */
  static final ExecutorService THREADS = Executors.newCachedThreadPool(r -> {
    Thread thread = new Thread(r, LoadThreads.NAME);
    thread.setDaemon(true);
    return thread;
  });

  static final String NAME = "load-upkeep";

  private LoadThreads() {}

  static double evictions(MeterRegistry registry) {
    return registry.get("cache.evictions").counter().count();
  }

  static double coalesced(MeterRegistry registry) {
    return registry.get("cache.stampede.coalesced").counter().count();
  }
}
