package dev.tiercache;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.IntSupplier;
import java.util.function.LongSupplier;

/**
 * Micrometer's cache conventions ({@code cache.gets}, {@code cache.puts}, {@code cache.evictions},
 * {@code cache.size}) with a {@code tier} tag, plus the tiered cache's own meters. Gets and puts, counted on every
 * hit, go to striped {@link LongAdder}s that function counters read (as Micrometer's own cache binders report
 * {@code cache.gets}): a hit costs an uncontended add on a thread's own cell, not a registry counter's update.
 */
final class MicrometerMetrics implements CacheMetrics {

  private final MeterRegistry registry;
  private final Tags tags;
  private final LongAdder l1Hits;
  private final LongAdder l1Misses;
  private final LongAdder l2Hits;
  private final LongAdder l2Misses;
  private final LongAdder l1Puts;
  private final LongAdder l2Puts;
  private final Counter evictions;
  private final Timer loadSuccesses;
  private final Timer loadFailures;
  private final Counter coalesced;
  private final Counter l1Refused;
  private final Counter l2Refused;
  private final Counter busSent;
  private final Counter busReceived;
  private final Timer busLag;
  private final Counter busGaps;
  private final Counter l1Clears;

  /**
   * Every meter this cache registered, once each: on close it gives them up, and the last cache of its name to do so
   * removes them, so that a successor starts clean.
   */
  private final Set<Meter.Id> meters = ConcurrentHashMap.newKeySet();
  /** The tallies this cache counts into, by the id of the meter that reads each. */
  private final Set<Meter.Id> tallies = ConcurrentHashMap.newKeySet();

  private <M extends Meter> M own(M meter) {
    if (meters.add(meter.getId())) {
      MeterOwnership.acquire(registry, meter.getId());
    }
    return meter;
  }

  @Override
  public void close() {
    meters.forEach(id -> MeterOwnership.release(registry, id));
    meters.clear();
    tallies.forEach(id -> MeterOwnership.releaseTally(registry, id));
    tallies.clear();
  }

  MicrometerMetrics(MeterRegistry registry, String cacheName) {
    this.registry = registry;
    this.tags = Tags.of("cache", cacheName);
    l1Hits = tally("cache.gets", "result", "hit", "tier", "l1");
    l1Misses = tally("cache.gets", "result", "miss", "tier", "l1");
    l2Hits = tally("cache.gets", "result", "hit", "tier", "l2");
    l2Misses = tally("cache.gets", "result", "miss", "tier", "l2");
    l1Puts = tally("cache.puts", "tier", "l1");
    l2Puts = tally("cache.puts", "tier", "l2");
    evictions = counter("cache.evictions", "tier", "l1");
    loadSuccesses = timer("cache.loads", "result", "success");
    loadFailures = timer("cache.loads", "result", "failure");
    coalesced = counter("cache.stampede.coalesced");
    l1Refused = counter("cache.stale.refused", "tier", "l1");
    l2Refused = counter("cache.stale.refused", "tier", "l2");
    busSent = counter("cache.bus.messages", "direction", "sent");
    busReceived = counter("cache.bus.messages", "direction", "received");
    busLag = timer("cache.bus.lag");
    busGaps = counter("cache.bus.gaps");
    l1Clears = counter("cache.l1.clears");
  }

  private Counter counter(String name, String... extraTags) {
    return own(Counter.builder(name).tags(tags).tags(extraTags).register(registry));
  }

  /**
   * A function counter over a striped tally that every cache whose meter it is (same name, or names the registry's
   * filters map together) increments.
   */
  private LongAdder tally(String name, String... extraTags) {
    MeterOwnership.Tallied tallied =
        MeterOwnership.registerTally(
            registry,
            adder -> FunctionCounter.builder(name, adder, LongAdder::sum).tags(tags).tags(extraTags).register(registry),
            tallies);
    own(tallied.meter());
    // The registry holds the adder weakly; this object (and so the cache) holds it strongly while it lives.
    return tallied.adder();
  }

  private Timer timer(String name, String... extraTags) {
    return own(Timer.builder(name).tags(tags).tags(extraTags).register(registry));
  }

  @Override
  public void hit(Tier tier) {
    (tier == Tier.L1 ? l1Hits : l2Hits).increment();
  }

  @Override
  public void miss(Tier tier) {
    (tier == Tier.L1 ? l1Misses : l2Misses).increment();
  }

  @Override
  public void put(Tier tier) {
    (tier == Tier.L1 ? l1Puts : l2Puts).increment();
  }

  @Override
  public void eviction() {
    evictions.increment();
  }

  @Override
  public void load(long nanos, boolean success) {
    (success ? loadSuccesses : loadFailures).record(nanos, TimeUnit.NANOSECONDS);
  }

  @Override
  public void coalesced() {
    coalesced.increment();
  }

  @Override
  public void invalidation(String strategy) {
    counter("cache.invalidations", "strategy", strategy).increment();
  }

  @Override
  public void l2Error(String op) {
    counter("cache.l2.errors", "op", op).increment();
  }

  @Override
  public void staleWriteRefused(Tier tier) {
    (tier == Tier.L1 ? l1Refused : l2Refused).increment();
  }

  @Override
  public void busSent() {
    busSent.increment();
  }

  @Override
  public void busReceived(long lagMillis) {
    busReceived.increment();
    busLag.record(Math.max(0, lagMillis), TimeUnit.MILLISECONDS);
  }

  @Override
  public void busGap() {
    busGaps.increment();
  }

  @Override
  public void l1Cleared() {
    l1Clears.increment();
  }

  @Override
  public void bindL2Circuit(IntSupplier level) {
    own(Gauge.builder("cache.l2.circuit", level, l -> l.getAsInt()).strongReference(true).tags(tags).register(registry));
  }

  @Override
  public void bindPendingInvalidations(IntSupplier count) {
    own(Gauge.builder("cache.l2.pending", count, c -> c.getAsInt()).strongReference(true).tags(tags).register(registry));
  }

  @Override
  public void staleServed() {
    counter("cache.failsafe.served").increment();
  }

  @Override
  public void refreshed(boolean success) {
    counter("cache.refreshes", "result", success ? "success" : "failure").increment();
  }

  @Override
  public void bindL1Size(LongSupplier size) {
    // Micrometer holds a gauge's state weakly; nothing else holds this lambda, so the gauge must.
    own(Gauge.builder("cache.size", size, s -> s.getAsLong())
        .strongReference(true)
        .tags(tags)
        .tag("tier", "l1")
        .register(registry));
  }
}
