package dev.tiercache.spring;

import dev.tiercache.Invalidation;
import dev.tiercache.Tags;
import dev.tiercache.TieredCache;
import java.util.Objects;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;
import java.util.function.Supplier;
import org.springframework.cache.Cache;
import org.springframework.cache.support.NullValue;
import org.springframework.cache.support.SimpleValueWrapper;

/**
 * A Spring {@link Cache} over one {@link TieredCache}, with the semantics Spring documents:
 *
 * <ul>
 *   <li>{@link #get(Object, Callable)} ({@code @Cacheable(sync = true)}) is the tiered cache's read-through: one
 *       loader call per key per instance at a time, and a load overtaken by an eviction is not installed;
 *   <li>{@link #get(Object)} returns null when absent and a {@link ValueWrapper} when present, holding null for a
 *       cached null: cached only when null values are allowed, as the tiered cache's own cached absence, which lives
 *       for its {@link dev.tiercache.TieredCacheBuilder#negativeTtl negative TTL} in Redis and, from each instance's
 *       own read, in its L1;
 *   <li>{@link #put}, {@link #putIfAbsent}, {@link #evict}, {@link #evictIfPresent} reach every instance's L1 and
 *       the L2; {@link #clear()} and {@link #invalidate()} are one {@link Invalidation#all()} (O(1) in the L2);
 *   <li>{@link #retrieve(Object)} and {@link #retrieve(Object, Supplier)} map to {@link TieredCache#getAsync}.
 * </ul>
 *
 * The transaction-aware variant (deferring put and evict to after commit) is Spring's own
 * {@code TransactionAwareCacheDecorator}, which {@link TiercacheCacheManager} applies when asked to.
 */
public final class TiercacheCache implements Cache {

  private final TieredCache<Object, Object> cache;
  private final boolean allowNullValues;
  private final Function<Object, Tags> tagsOf;
  private final Function<String, String> prefixOf;

  TiercacheCache(TieredCache<Object, Object> cache, boolean allowNullValues, TiercacheCacheSpec spec) {
    this.cache = Objects.requireNonNull(cache, "cache");
    this.allowNullValues = allowNullValues;
    this.tagsOf = spec.tags();
    this.prefixOf =
        spec.keyCodec() instanceof SpringKeyCodec ? ((SpringKeyCodec) spec.keyCodec())::encodePrefix : p -> p;
  }

  /**
   * Returns the cache's name.
   *
   * @return the Spring cache name, which is also the tiered cache's name
   */
  @Override
  public String getName() {
    return cache.name();
  }

  /**
   * Returns the tiered cache underneath, for what Spring's interface does not reach (tags, bulk reads).
   *
   * @return the {@link TieredCache}
   */
  @Override
  public TieredCache<Object, Object> getNativeCache() {
    return cache;
  }

  /**
   * Tells whether this cache stores null results.
   *
   * @return true if null values are cached
   */
  public boolean isAllowNullValues() {
    return allowNullValues;
  }

  /**
   * Looks a key up in both tiers without loading.
   *
   * @param key the key
   * @return null if absent; a wrapper of the value (null for a cached null) if present
   */
  @Override
  public ValueWrapper get(Object key) {
    return wrap(cache.getIfPresent(key, NullValue.INSTANCE));
  }

  /**
   * Looks a key up in both tiers without loading, and checks the value's type.
   *
   * @param key the key
   * @param type the required type, or null for any
   * @param <T> the type
   * @return the value, or null if absent or a cached null
   * @throws IllegalStateException if a value is present and not of {@code type}
   */
  @Override
  public <T> T get(Object key, Class<T> type) {
    Object value = fromStore(cache.getIfPresent(key));
    if (value != null && type != null && !type.isInstance(value)) {
      throw new IllegalStateException(
          "Cached value is not of required type [" + type.getName() + "] but " + value.getClass().getName());
    }
    return type == null ? uncheckedCast(value) : type.cast(value);
  }

  /**
   * Returns the value for a key, calling {@code valueLoader} on a miss in both tiers; concurrent callers for the same
   * key on this instance share one call ({@code @Cacheable(sync = true)}).
   *
   * @param key the key
   * @param valueLoader computes the value
   * @param <T> the value type
   * @return the value (null for a null result)
   * @throws ValueRetrievalException wrapping what the loader threw; nothing is cached
   */
  @Override
  public <T> T get(Object key, Callable<T> valueLoader) {
    return uncheckedCast(fromStore(cache.get(key, tagsOf.apply(key), k -> load(key, valueLoader))));
  }

  /**
   * Stores a value in both tiers and drops other instances' copies.
   *
   * @param key the key
   * @param value the value; null only if null values are allowed
   * @throws IllegalArgumentException if {@code value} is null and null values are not allowed
   */
  @Override
  public void put(Object key, Object value) {
    if (value == null) {
      requireNullsAllowed();
      cache.putAbsent(key, tagsOf.apply(key));
    } else {
      cache.put(key, value, tagsOf.apply(key));
    }
  }

  /**
   * Stores a value unless one is present ({@link TieredCache#putIfAbsent}): atomically on this instance, and
   * conditionally in the L2, so that of concurrent calls on several instances one stores and the others return its
   * value (an eviction that overtakes it wins). A null value (null values allowed) is a read-through whose loader
   * yields the cached absence.
   *
   * @param key the key
   * @param value the value; null only if null values are allowed
   * @return null if {@code value} was stored, else a wrapper of the value present
   * @throws IllegalArgumentException if {@code value} is null and null values are not allowed
   */
  @Override
  public ValueWrapper putIfAbsent(Object key, Object value) {
    if (value != null) {
      // Conditional in Redis: of concurrent calls on several instances one stores, the others get its value.
      Object present = cache.putIfAbsent(key, value, tagsOf.apply(key), NullValue.INSTANCE);
      return present == null ? null : present == NullValue.INSTANCE ? new SimpleValueWrapper(null) : wrap(present);
    }
    requireNullsAllowed();
    AtomicBoolean mine = new AtomicBoolean();
    Object present =
        cache.get(
            key,
            tagsOf.apply(key),
            k -> {
              mine.set(true);
              return value;
            });
    // Not this caller's value, and null: the cached absence that was there.
    return mine.get() ? null : present == null ? new SimpleValueWrapper(null) : wrap(present);
  }

  /**
   * Evicts a key from every instance's L1 and from the L2.
   *
   * @param key the key
   */
  @Override
  public void evict(Object key) {
    cache.invalidateKey(key);
  }

  /**
   * Evicts a key at once (never deferred by a transaction), telling whether it was present.
   *
   * @param key the key
   * @return true if a tier held the key just before the eviction
   */
  @Override
  public boolean evictIfPresent(Object key) {
    boolean present = cache.getIfPresent(key, NullValue.INSTANCE) != null;
    cache.invalidateKey(key);
    return present;
  }

  /** Evicts every entry, on every instance and in the L2, in O(1) ({@link Invalidation#all()}). */
  @Override
  public void clear() {
    cache.invalidate(Invalidation.all());
  }

  /**
   * Evicts every entry at once (never deferred by a transaction).
   *
   * @return false: whether the L2 held entries is not known without scanning it
   */
  @Override
  public boolean invalidate() {
    clear();
    return false;
  }

  /**
   * Evicts every entry tagged {@code tag} (see {@link TiercacheCacheSpec#tags}), on every instance and in the L2.
   *
   * @param tag the tag
   */
  public void evictTag(String tag) {
    cache.invalidate(Invalidation.tag(tag));
  }

  /**
   * Evicts every String key that starts with {@code prefix} (literally), on every instance and in the L2.
   *
   * @param prefix a prefix of String keys, as the cached methods' keys are written
   */
  public void evictPrefix(String prefix) {
    cache.invalidate(Invalidation.prefix(prefixOf.apply(prefix)));
  }

  /**
   * Looks a key up without blocking: an L1 hit completes at once, an L2 read completes later.
   *
   * @param key the key
   * @return a future of null (absent), the value, or a {@link ValueWrapper} of null for a cached null
   */
  @Override
  public CompletableFuture<?> retrieve(Object key) {
    return cache.getIfPresentAsync(key, NullValue.INSTANCE).thenApply(this::forRetrieve);
  }

  /**
   * Returns the value for a key, loading it through {@code valueLoader} on a miss in both tiers; concurrent callers
   * share one load. The supplier's future is awaited on the cache's executor.
   *
   * @param key the key
   * @param valueLoader supplies the value on a miss
   * @param <T> the value type
   * @return a future of the value, or of the supplier's failure
   */
  @Override
  public <T> CompletableFuture<T> retrieve(Object key, Supplier<CompletableFuture<T>> valueLoader) {
    return cache
        .getAsync(key, tagsOf.apply(key), k -> await(valueLoader.get()))
        .thenApply(v -> uncheckedCast(fromStore(v)));
  }

  private Object load(Object key, Callable<?> valueLoader) {
    Object value;
    try {
      value = valueLoader.call();
    } catch (Exception e) {
      throw new ValueRetrievalException(key, valueLoader, e);
    }
    // A null result is the tiered cache's absence: cached for the negative TTL when nulls are allowed, else not.
    return value;
  }

  private void requireNullsAllowed() {
    if (!allowNullValues) {
      throw new IllegalArgumentException(
          "Cache '" + getName() + "' is configured to not allow null values but null was provided");
    }
  }

  /** A value as Spring sees it: null for a cached absence (or Spring's marker, as entries written before were). */
  private static Object fromStore(Object stored) {
    return stored == NullValue.INSTANCE ? null : stored;
  }

  private static ValueWrapper wrap(Object stored) {
    return stored == null ? null : new SimpleValueWrapper(fromStore(stored));
  }

  private Object forRetrieve(Object stored) {
    return stored == NullValue.INSTANCE ? new SimpleValueWrapper(null) : stored;
  }

  @SuppressWarnings("unchecked")
  private static <T> T uncheckedCast(Object value) {
    return (T) value;
  }

  /** Joins an async loader's future, so that the returned future fails with the loader's own exception. */
  private static <T> T await(CompletableFuture<T> future) {
    try {
      return future.join();
    } catch (CompletionException e) {
      throw e.getCause() instanceof RuntimeException ? (RuntimeException) e.getCause() : e;
    }
  }

  @Override
  public String toString() {
    return "TiercacheCache[" + getName() + "]";
  }
}
