package dev.tiercache;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * How callers wait for a load (DESIGN.md invariant 9: loaders are user code): never for a load their own thread runs
 * (that is a loader re-entering its key, refused with a clear error instead of a deadlock), interruptibly, and, with
 * a load timeout, no longer than it; a flight that outlives it is detached, so later callers start a fresh load.
 */
final class Waits<V> {

  private final String cache;
  private final Flights<V> flights;
  /** 0 when waits are unbounded. */
  private final long timeoutNanos;

  Waits(String cache, Flights<V> flights, Duration loadTimeout) {
    this.cache = cache;
    this.flights = flights;
    this.timeoutNanos = loadTimeout == null ? 0 : loadTimeout.toNanos();
  }

  /** Refuses to join a flight that the calling thread itself is running: it would wait for itself forever. */
  void refuseReentry(Flight<V> flight) {
    if (flight.ownedByCurrentThread() && !flight.result.isDone()) {
      throw new IllegalStateException(
          "cache '" + cache + "': a loader asked for a key that its own thread is loading (directly, through other"
              + " keys it loads, or from a bulk loader); it would wait for itself forever");
    }
  }

  /**
   * Waits for a load and rethrows its failure as the loader threw it (an unchecked exception or error as it is, a
   * checked one in a {@link CompletionException}).
   *
   * @throws CompletionException caused by {@link InterruptedException} if the thread is interrupted while it waits
   *     (its interrupt flag is set again), or by {@link TimeoutException} past the load timeout
   */
  V await(String key, Flight<V> flight) {
    try {
      return timeoutNanos == 0
          ? flight.result.get()
          : flight.result.get(remaining(flight), TimeUnit.NANOSECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CompletionException(e);
    } catch (TimeoutException e) {
      flights.remove(key, flight);
      throw new CompletionException(timedOut());
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof RuntimeException runtime) {
        throw runtime;
      }
      if (cause instanceof Error error) {
        throw error;
      }
      throw new CompletionException(cause);
    }
  }

  /**
   * The caller's own view of a load: completing or cancelling it affects no other caller, and, with a load timeout,
   * it fails with a {@link TimeoutException} when the load outlives it.
   */
  CompletableFuture<V> forAsync(String key, Flight<V> flight) {
    CompletableFuture<V> mine = new CompletableFuture<>();
    // Completed after the loading thread's upkeep (L1Upkeep.afterUpkeep), never inside it: the caller's callbacks run
    // on the completing thread, and the L1 neither evicts nor expires while the upkeep it scheduled waits for them.
    flight.result.whenComplete((value, failure) -> L1Upkeep.afterUpkeep(() -> {
      if (failure == null) {
        mine.complete(value);
      } else {
        // As copy() would: the failure in a CompletionException.
        mine.completeExceptionally(failure instanceof CompletionException ? failure : new CompletionException(failure));
      }
    }));
    if (timeoutNanos == 0) {
      return mine;
    }
    CompletableFuture<V> bounded = new CompletableFuture<>();
    mine.whenComplete(
        (value, failure) -> {
          if (failure == null) {
            bounded.complete(value);
          } else {
            bounded.completeExceptionally(failure instanceof CompletionException && failure.getCause() != null
                ? failure.getCause() : failure);
          }
        });
    Background.TIMER.schedule(
        () -> {
          if (bounded.completeExceptionally(timedOut())) {
            flights.remove(key, flight);
          }
        },
        remaining(flight),
        TimeUnit.NANOSECONDS);
    return bounded;
  }

  private long remaining(Flight<V> flight) {
    return Math.max(0, flight.startedAt + timeoutNanos - System.nanoTime());
  }

  private TimeoutException timedOut() {
    return new TimeoutException("cache '" + cache + "': the load did not finish within the load timeout");
  }
}
