package dev.tiercache;

import java.util.function.IntSupplier;
import java.util.function.LongSupplier;

/**
 * What the cache reports. Only {@link MicrometerMetrics} touches Micrometer, so that applications without it on the
 * class path never load a Micrometer class.
 */
interface CacheMetrics {

  CacheMetrics NONE = new CacheMetrics() {};

  default void hit(Tier tier) {}

  default void miss(Tier tier) {}

  default void put(Tier tier) {}

  default void eviction() {}

  default void load(long nanos, boolean success) {}

  default void coalesced() {}

  default void invalidation(String strategy) {}

  /** An L2 call failed, timed out, or returned bytes that could not be decoded. */
  default void l2Error(String op) {}

  /** A conditional L2 write or an L1 install was refused because an invalidation overtook the load. */
  default void staleWriteRefused(Tier tier) {}

  default void busSent() {}

  default void busReceived(long lagMillis) {}

  default void busGap() {}

  default void l1Cleared() {}

  default void bindL1Size(LongSupplier size) {}

  default void bindL2Circuit(IntSupplier level) {}

  default void bindPendingInvalidations(IntSupplier count) {}

  /** Fail-safe served a value past its TTL because the loader failed. */
  default void staleServed() {}

  /** Removes this cache's meters: a closed cache reports nothing, and a successor of its name starts clean. */
  default void close() {}

  /** An entry was reloaded in the background before it expired. */
  default void refreshed(boolean success) {}

  /** The tier a metric speaks of; its name is the {@code tier} tag. */
  enum Tier {
    L1("l1"),
    L2("l2");

    final String tag;

    Tier(String tag) {
      this.tag = tag;
    }
  }
}
