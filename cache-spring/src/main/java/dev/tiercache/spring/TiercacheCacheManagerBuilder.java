package dev.tiercache.spring;

import dev.tiercache.spi.L2Store;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Builds a {@link TiercacheCacheManager}; obtained from {@link TiercacheCacheManager#builder(L2Store)}. Not
 * thread-safe.
 */
public final class TiercacheCacheManagerBuilder {

  final L2Store l2;
  final TiercacheCacheSpec defaults = new TiercacheCacheSpec();
  final Map<String, Consumer<TiercacheCacheSpec>> perCache = new HashMap<>();
  final List<TiercacheCacheCustomizer> customizers = new ArrayList<>();
  final Set<String> cacheNames = new LinkedHashSet<>();
  boolean dynamic = true;
  boolean allowNullValues = true;
  boolean transactionAware;
  Object meterRegistry;

  TiercacheCacheManagerBuilder(L2Store l2) {
    this.l2 = l2;
  }

  /** A copy for a manager, so that changing this builder later changes no manager it built. */
  private TiercacheCacheManagerBuilder snapshot() {
    TiercacheCacheManagerBuilder copy = new TiercacheCacheManagerBuilder(l2);
    copy.defaults.copyFrom(defaults);
    copy.perCache.putAll(perCache);
    copy.customizers.addAll(customizers);
    copy.cacheNames.addAll(cacheNames);
    copy.dynamic = dynamic;
    copy.allowNullValues = allowNullValues;
    copy.transactionAware = transactionAware;
    copy.meterRegistry = meterRegistry;
    return copy;
  }

  /**
   * Changes the settings every cache starts from.
   *
   * @param defaults changes the default spec
   * @return this builder
   */
  public TiercacheCacheManagerBuilder defaults(Consumer<TiercacheCacheSpec> defaults) {
    Objects.requireNonNull(defaults, "defaults").accept(this.defaults);
    return this;
  }

  /**
   * Changes the settings of one cache (applied after the defaults), and names it up front.
   *
   * @param name the cache name
   * @param settings changes its spec
   * @return this builder
   */
  public TiercacheCacheManagerBuilder cache(String name, Consumer<TiercacheCacheSpec> settings) {
    Objects.requireNonNull(settings, "settings");
    perCache.merge(Objects.requireNonNull(name, "name"), settings, Consumer::andThen);
    cacheNames.add(name);
    return this;
  }

  /**
   * Adds a customizer, run after the defaults and per-cache settings, in the order added.
   *
   * @param customizer the customizer
   * @return this builder
   */
  public TiercacheCacheManagerBuilder customizer(TiercacheCacheCustomizer customizer) {
    customizers.add(Objects.requireNonNull(customizer, "customizer"));
    return this;
  }

  /**
   * Names caches to create when the manager starts.
   *
   * @param names cache names
   * @return this builder
   */
  public TiercacheCacheManagerBuilder cacheNames(Iterable<String> names) {
    names.forEach(name -> cacheNames.add(Objects.requireNonNull(name, "name")));
    return this;
  }

  /**
   * Sets whether a cache name not known up front is created on first use (the default) or unknown.
   *
   * @param dynamic true to create caches on demand
   * @return this builder
   */
  public TiercacheCacheManagerBuilder dynamic(boolean dynamic) {
    this.dynamic = dynamic;
    return this;
  }

  /**
   * Sets whether null results are cached (the default, as Spring's own managers do); a cache's spec may override
   * it. Without it, {@code put(key, null)} fails and a loader's null result is not cached.
   *
   * @param allow true to cache nulls
   * @return this builder
   */
  public TiercacheCacheManagerBuilder allowNullValues(boolean allow) {
    this.allowNullValues = allow;
    return this;
  }

  /**
   * Sets whether caches defer {@code put} and {@code evict} inside a transaction to after its commit (Spring's
   * {@code TransactionAwareCacheDecorator}). Off by default here; on by default in the Spring Boot starter.
   *
   * @param transactionAware true to decorate
   * @return this builder
   */
  public TiercacheCacheManagerBuilder transactionAware(boolean transactionAware) {
    this.transactionAware = transactionAware;
    return this;
  }

  /**
   * Publishes every cache's meters to a registry.
   *
   * @param registry the registry
   * @return this builder
   */
  public TiercacheCacheManagerBuilder meterRegistry(MeterRegistry registry) {
    this.meterRegistry = Objects.requireNonNull(registry, "registry");
    return this;
  }

  /**
   * Builds the manager and creates the caches named up front.
   *
   * @return the manager; a Spring bean, or call {@link TiercacheCacheManager#destroy()} yourself
   * @throws IllegalStateException if a cache's settings are incomplete (an L2 without a value codec)
   */
  public TiercacheCacheManager build() {
    return new TiercacheCacheManager(snapshot());
  }
}
