package dev.tiercache;

import java.util.concurrent.CompletableFuture;

/** A load in progress for one key, which concurrent readers of that key join instead of loading again. */
final class Flight<V> {

  final CompletableFuture<V> result = new CompletableFuture<>();
  final Tags tags;
  /** Taken after the flight became visible to invalidations, before anything is read. */
  long stamp;
  /** A background reload of an entry still in the L1, started by refresh-ahead. */
  boolean refresh;

  Flight(Tags tags) {
    this.tags = tags;
  }
}
