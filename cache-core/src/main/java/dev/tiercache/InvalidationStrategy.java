package dev.tiercache;

import dev.tiercache.spi.L2Store;
import java.util.concurrent.CompletableFuture;

/**
 * How one kind of invalidation works in each place it reaches: which L1 entries it covers, what it does to the L2,
 * and, through its {@link #name()}, how it travels on the bus. The four built-ins are {@link #key()},
 * {@link #prefix()}, {@link #tag()} and {@link #pattern()}; a custom strategy is registered with
 * {@link TieredCacheBuilder#invalidationStrategy(InvalidationStrategy)} on every node that may receive it.
 *
 * <p>Implementations are stateless and thread-safe.
 */
public interface InvalidationStrategy {

  /**
   * The strategy's stable name: lowercase letters, digits and {@code -}. It is sent on the bus and used as the
   * {@code strategy} tag of the {@code cache.invalidations} metric.
   *
   * @return the name
   */
  String name();

  /**
   * Validates an argument and returns the matcher that tells which L1 entries it covers.
   *
   * @param argument the argument given to {@link Invalidation#of(InvalidationStrategy, String)}
   * @return the matcher
   * @throws IllegalArgumentException if the argument is not valid for this strategy
   */
  EntryMatcher matcher(String argument);

  /**
   * Applies the invalidation to the L2. Must advance the store's versions for the covered keys (see
   * {@link L2Store}) so that loads in flight on any node cannot write covered values back.
   *
   * @param store the L2
   * @param cache the cache name
   * @param argument the validated argument
   * @return completes when the L2 applied it
   */
  CompletableFuture<Void> applyTo(L2Store store, String cache, String argument);

  /**
   * Tells which L1 entries an invalidation covers. Called while the cache holds an invalidation lock and for each L1
   * entry during cleanup: it must be fast and must not block.
   */
  @FunctionalInterface
  interface EntryMatcher {

    /**
     * Tells whether an entry is covered.
     *
     * @param key the encoded key
     * @param tags the entry's tags
     * @return true if covered
     */
    boolean matches(String key, Tags tags);

    /**
     * The only key this matcher covers, when it covers exactly one: the cache then removes that key at once instead
     * of sweeping its L1.
     *
     * @return the key, or null when the matcher may cover many keys
     */
    default String singleKey() {
      return null;
    }
  }

  /**
   * Invalidates one encoded key exactly.
   *
   * @return the {@code key} strategy
   */
  static InvalidationStrategy key() {
    return BuiltInStrategy.KEY;
  }

  /**
   * Invalidates every key that starts with a literal prefix (glob metacharacters in it match only themselves).
   *
   * @return the {@code prefix} strategy
   */
  static InvalidationStrategy prefix() {
    return BuiltInStrategy.PREFIX;
  }

  /**
   * Invalidates every entry that carries a tag.
   *
   * @return the {@code tag} strategy
   */
  static InvalidationStrategy tag() {
    return BuiltInStrategy.TAG;
  }

  /**
   * Invalidates every key that matches a Redis-style glob pattern ({@link Glob}).
   *
   * @return the {@code pattern} strategy
   */
  static InvalidationStrategy pattern() {
    return BuiltInStrategy.PATTERN;
  }

  /**
   * Invalidates every entry of the cache; its argument is the empty string ({@link Invalidation#all()}).
   *
   * @return the {@code all} strategy
   */
  static InvalidationStrategy all() {
    return BuiltInStrategy.ALL;
  }
}
