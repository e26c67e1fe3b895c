package dev.tiercache;

import dev.tiercache.spi.L2Store;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;

/** The four strategies every node knows; they differ only in how they match and which L2 call they make. */
final class BuiltInStrategy implements InvalidationStrategy {

  static final BuiltInStrategy KEY =
      new BuiltInStrategy("key", BuiltInStrategy::keyMatcher, L2Store::invalidateKey);
  static final BuiltInStrategy PREFIX =
      new BuiltInStrategy(
          "prefix", prefix -> (key, tags) -> key.startsWith(prefix), L2Store::invalidatePrefix);
  static final BuiltInStrategy TAG =
      new BuiltInStrategy("tag", tag -> (key, tags) -> tags.contains(tag), L2Store::invalidateTag);
  static final BuiltInStrategy PATTERN =
      new BuiltInStrategy("pattern", BuiltInStrategy::globMatcher, L2Store::invalidatePattern);
  /** Every entry of the cache; its argument is always the empty string. */
  static final BuiltInStrategy ALL =
      new BuiltInStrategy("all", all -> (key, tags) -> true, (store, cache, argument) -> store.invalidateAll(cache));

  /** Every built-in, as the builder registers them. */
  static final BuiltInStrategy[] ALL_BUILT_INS = {KEY, PREFIX, TAG, PATTERN, ALL};

  @FunctionalInterface
  private interface L2Call {
    CompletableFuture<Void> apply(L2Store store, String cache, String argument);
  }

  private final String name;
  private final Function<String, EntryMatcher> matchers;
  private final L2Call l2Call;

  private BuiltInStrategy(String name, Function<String, EntryMatcher> matchers, L2Call l2Call) {
    this.name = name;
    this.matchers = matchers;
    this.l2Call = l2Call;
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public EntryMatcher matcher(String argument) {
    if (argument == null) {
      throw new NullPointerException(name);
    }
    if (this == ALL || "all".equals(name)) {
      if (!argument.isEmpty()) {
        throw new IllegalArgumentException("all takes no argument, was given one");
      }
    } else if (argument.isEmpty()) {
      throw new IllegalArgumentException(name + " must not be empty");
    } else {
      // The argument reaches Redis as UTF-8: a lone surrogate would be sent as '?' and name other keys.
      Utf8.requireWellFormed(argument, name);
    }
    return matchers.apply(argument);
  }

  @Override
  public CompletableFuture<Void> applyTo(L2Store store, String cache, String argument) {
    return l2Call.apply(store, cache, argument);
  }

  @Override
  public String toString() {
    return name;
  }

  private static EntryMatcher keyMatcher(String key) {
    return new EntryMatcher() {
      @Override
      public boolean matches(String candidate, Tags tags) {
        return candidate.equals(key);
      }

      @Override
      public String singleKey() {
        return key;
      }
    };
  }

  private static EntryMatcher globMatcher(String pattern) {
    Glob glob = Glob.compile(pattern);
    return (key, tags) -> glob.matches(key);
  }
}
