package dev.tiercache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.tiercache.spi.L2Entry;
import dev.tiercache.spi.L2Read;
import dev.tiercache.testkit.ForwardingL2Store;
import dev.tiercache.testkit.InMemoryBus;
import dev.tiercache.testkit.InMemoryL2Store;
import dev.tiercache.testkit.TestCodec;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A store call that throws an {@link Error} (a store's or a codec's bug: an AssertionError, a StackOverflowError)
 * still reports to the circuit breaker, and the Error still reaches the caller. Unreported, the call keeps the
 * permission it took: in the half-open state, with a limited number of permitted calls, that permission is lost for
 * good and the L2 is never called again (DESIGN.md invariant 3: the breaker heals by itself).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class L2BreakerErrorTest {

  private static final Duration HEAL = Duration.ofSeconds(10);

  /** What the store's bug throws. */
  static final class StoreBug extends Error {
    private static final long serialVersionUID = 1L;

    StoreBug() {
      super("a store's bug", null, false, false);
    }
  }

  private enum Op { GET, PUT, INVALIDATE }

  private final InMemoryL2Store memory = new InMemoryL2Store();
  /** The call that throws a StoreBug next, once; null: none. */
  private final AtomicReference<Op> buggy = new AtomicReference<>();

  private final ForwardingL2Store store = new ForwardingL2Store(memory) {
    @Override
    public CompletableFuture<L2Read> get(String cache, String key) {
      failIfArmed(Op.GET);
      return super.get(cache, key);
    }

    @Override
    public CompletableFuture<Void> put(String cache, String key, L2Entry entry, Duration ttl) {
      failIfArmed(Op.PUT);
      return super.put(cache, key, entry, ttl);
    }

    @Override
    public CompletableFuture<Void> invalidateKey(String cache, String key) {
      failIfArmed(Op.INVALIDATE);
      return super.invalidateKey(cache, key);
    }
  };

  private void failIfArmed(Op op) {
    if (buggy.compareAndSet(op, null)) {
      throw new StoreBug();
    }
  }

  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private TieredCache<String, String> cache;

  @AfterEach
  void close() {
    if (cache != null) {
      cache.close();
    }
  }

  private TieredCache<String, String> cache() {
    CircuitBreakerConfig breaker =
        CircuitBreakerConfig.custom()
            .slidingWindowSize(2)
            .minimumNumberOfCalls(2)
            .failureRateThreshold(50)
            .waitDurationInOpenState(Duration.ofMillis(100))
            .permittedNumberOfCallsInHalfOpenState(1)
            .build();
    return TieredCache.<String, String>builder("breaker-error")
        .keyCodec(k -> k)
        .l2(store)
        .bus(new InMemoryBus())
        .valueCodec(TestCodec.STRING)
        .l2CircuitBreaker(breaker)
        .l2RetryInterval(Duration.ofMillis(50))
        .meterRegistry(registry)
        .build();
  }

  private double circuit() {
    return registry.get("cache.l2.circuit").gauge().value();
  }

  private String read(String key) {
    return cache.get(key, k -> "loaded:" + k);
  }

  private static boolean isBug(Throwable thrown) {
    for (Throwable t = thrown; t != null; t = t.getCause()) {
      if (t instanceof StoreBug) {
        return true;
      }
    }
    return false;
  }

  /** Whether the operation threw the store's bug (through whatever wraps it); any other failure is not it. */
  private static boolean threwTheBug(Runnable op) {
    try {
      op.run();
      return false;
    } catch (RuntimeException | Error e) {
      return isBug(e);
    }
  }

  /**
   * Opens the circuit with a store that is down, arms one call of {@code op} to throw an Error, repeats {@code call}
   * (fresh keys) until the half-open circuit lets it through and it throws the Error, then checks the circuit closes
   * again once the store answers.
   */
  private void theCircuitHealsAfterAnError(Op op, Consumer<String> call) {
    cache = cache();
    memory.setDown(true);
    for (int i = 0; i < 4; i++) {
      read("down-" + i);
    }
    assertThat(circuit()).as("open").isEqualTo(2);
    memory.setDown(false);
    buggy.set(op);

    int[] attempt = {0};
    await("the %s in the half-open circuit throws the store's Error to its caller".formatted(op))
        .atMost(HEAL)
        .until(() -> threwTheBug(() -> call.accept("k-" + attempt[0]++)));
    assertThat(buggy.get()).as("the armed call was made").isNull();

    int attemptsAfterTheError = memory.attempts.get();
    await("the circuit closes again").atMost(HEAL).untilAsserted(() -> {
      assertThat(read("probe-" + attempt[0]++)).startsWith("loaded:probe-");
      assertThat(circuit()).isEqualTo(0);
    });
    assertThat(memory.attempts.get()).as("the L2 is called again").isGreaterThan(attemptsAfterTheError);
  }

  @Test
  void aGetWhoseStoreCallThrowsAnErrorReportsToTheBreaker() {
    theCircuitHealsAfterAnError(Op.GET, this::read);
  }

  @Test
  void anAsyncGetWhoseStoreCallThrowsAnErrorReportsToTheBreaker() {
    theCircuitHealsAfterAnError(
        Op.GET, key -> cache.getAsync(key, Tags.empty(), k -> "loaded:" + k).join());
  }

  @Test
  void aPutWhoseStoreCallThrowsAnErrorReportsToTheBreaker() {
    theCircuitHealsAfterAnError(Op.PUT, key -> cache.put(key, "v"));
  }

  @Test
  void anInvalidationWhoseStoreCallThrowsAnErrorReportsToTheBreaker() {
    theCircuitHealsAfterAnError(Op.INVALIDATE, key -> cache.invalidate(Invalidation.key(key)));
  }
}
