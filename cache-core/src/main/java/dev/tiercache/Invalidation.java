package dev.tiercache;

import java.util.Objects;

/**
 * One invalidation request: a {@link InvalidationStrategy strategy} and its argument. Immutable; the argument is
 * validated when the request is created, so a bad request fails in the caller's hands, before anything is removed.
 *
 * <pre>{@code
 * cache.invalidate(Invalidation.key("user:42"));
 * cache.invalidate(Invalidation.prefix("user:4"));      // "user:4", "user:40", ... but not "user:5"
 * cache.invalidate(Invalidation.tag("tenant:7"));
 * cache.invalidate(Invalidation.pattern("user:*:profile"));
 * }</pre>
 */
public final class Invalidation {

  private final InvalidationStrategy strategy;
  private final String argument;
  private final InvalidationStrategy.EntryMatcher matcher;

  private Invalidation(InvalidationStrategy strategy, String argument) {
    this.strategy = Objects.requireNonNull(strategy, "strategy");
    this.argument = argument;
    this.matcher = Objects.requireNonNull(strategy.matcher(argument), "strategy.matcher(argument)");
  }

  /**
   * Invalidates one encoded key exactly.
   *
   * @param key the encoded key (see {@link dev.tiercache.codec.KeyCodec})
   * @return the request
   * @throws NullPointerException if {@code key} is null
   * @throws IllegalArgumentException if {@code key} is empty
   */
  public static Invalidation key(String key) {
    return new Invalidation(BuiltInStrategy.KEY, key);
  }

  /**
   * Invalidates every key that starts with {@code prefix}. The prefix is literal: {@code prefix("a*")} covers
   * {@code "a*b"} but not {@code "ab"}.
   *
   * @param prefix the prefix
   * @return the request
   * @throws NullPointerException if {@code prefix} is null
   * @throws IllegalArgumentException if {@code prefix} is empty (use a pattern of {@code "*"} to mean everything)
   */
  public static Invalidation prefix(String prefix) {
    return new Invalidation(BuiltInStrategy.PREFIX, prefix);
  }

  /**
   * Invalidates every entry that carries {@code tag}.
   *
   * @param tag the tag
   * @return the request
   * @throws NullPointerException if {@code tag} is null
   * @throws IllegalArgumentException if {@code tag} is empty
   */
  public static Invalidation tag(String tag) {
    return new Invalidation(BuiltInStrategy.TAG, tag);
  }

  /**
   * Invalidates every key that matches a Redis-style glob ({@link Glob}). To match user input literally, escape it
   * with {@link Glob#escape(String)}.
   *
   * @param pattern the glob
   * @return the request
   * @throws NullPointerException if {@code pattern} is null
   * @throws IllegalArgumentException if {@code pattern} is empty
   */
  public static Invalidation pattern(String pattern) {
    return new Invalidation(BuiltInStrategy.PATTERN, pattern);
  }

  /**
   * Invalidates every entry of the cache, on every instance and in the L2, at a fixed cost however many entries the
   * cache holds (the L2 records it logically; covered entries expire by their TTL). What Spring's
   * {@code Cache.clear()} maps to.
   *
   * @return the request
   */
  public static Invalidation all() {
    return ALL;
  }

  private static final Invalidation ALL = new Invalidation(BuiltInStrategy.ALL, "");

  /**
   * Creates a request for any strategy, built-in or custom.
   *
   * @param strategy the strategy
   * @param argument its argument
   * @return the request
   * @throws NullPointerException if {@code strategy} is null, or the strategy rejects a null argument
   * @throws IllegalArgumentException if the strategy rejects the argument
   */
  public static Invalidation of(InvalidationStrategy strategy, String argument) {
    return new Invalidation(strategy, argument);
  }

  /**
   * Returns the strategy.
   *
   * @return the strategy
   */
  public InvalidationStrategy strategy() {
    return strategy;
  }

  /**
   * Returns the argument.
   *
   * @return the key, prefix, tag or pattern
   */
  public String argument() {
    return argument;
  }

  boolean isBuiltIn() {
    return strategy instanceof BuiltInStrategy;
  }

  /**
   * Whether this invalidation covers an entry. A custom matcher that throws covers it: removing too much is safe,
   * leaving a covered entry is not, and an invalidation must never stay half-applied (DESIGN.md invariant 1).
   */
  boolean covers(String key, Tags tags) {
    try {
      return matcher.matches(key, tags);
    } catch (RuntimeException | StackOverflowError | AssertionError | LinkageError e) {
      return true;
    }
  }

  /** The one key covered, or null; a custom matcher that throws here is treated as covering many keys. */
  String singleKey() {
    try {
      return matcher.singleKey();
    } catch (RuntimeException e) {
      return null;
    }
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Invalidation
        && ((Invalidation) o).strategy.name().equals(strategy.name())
        && Objects.equals(((Invalidation) o).argument, argument);
  }

  @Override
  public int hashCode() {
    return strategy.name().hashCode() * 31 + Objects.hashCode(argument);
  }

  /** Shows the strategy only: the argument may be a key, which is logged at DEBUG level at most. */
  @Override
  public String toString() {
    return "Invalidation[" + strategy.name() + "]";
  }
}
