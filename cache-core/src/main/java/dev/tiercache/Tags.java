package dev.tiercache;

import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.Objects;
import java.util.Set;

/**
 * An immutable set of tags attached to a cache entry, so that {@link Invalidation#tag(String)} can remove every entry
 * that carries a tag (for example all rows of a table, or all data of a tenant).
 *
 * <p>Tags are non-empty, well-formed strings: they are stored in Redis as UTF-8, so a string with a lone surrogate
 * (which has no UTF-8 encoding) is refused. Iteration follows insertion order, so that the encoding of an entry is
 * stable.
 */
public final class Tags implements Iterable<String> {

  private static final Tags EMPTY = new Tags(Set.of());

  private final Set<String> values;

  private Tags(Set<String> values) {
    this.values = values;
  }

  /**
   * Returns the empty tag set.
   *
   * @return no tags
   */
  public static Tags empty() {
    return EMPTY;
  }

  /**
   * Creates a tag set.
   *
   * @param tags the tags; duplicates are dropped
   * @return the tag set
   * @throws NullPointerException if {@code tags} or any tag is null
   * @throws IllegalArgumentException if a tag is empty or has a lone surrogate (the message does not quote it)
   */
  public static Tags of(String... tags) {
    Objects.requireNonNull(tags, "tags");
    return of(Arrays.asList(tags));
  }

  /**
   * Creates a tag set from a collection.
   *
   * @param tags the tags; duplicates are dropped
   * @return the tag set
   * @throws NullPointerException if {@code tags} or any tag is null
   * @throws IllegalArgumentException if a tag is empty or has a lone surrogate (the message does not quote it)
   */
  public static Tags of(Collection<String> tags) {
    Objects.requireNonNull(tags, "tags");
    if (tags.isEmpty()) {
      return EMPTY;
    }
    LinkedHashSet<String> copy = new LinkedHashSet<>();
    for (String tag : tags) {
      copy.add(requireTag(tag));
    }
    return new Tags(Collections.unmodifiableSet(copy));
  }

  static String requireTag(String tag) {
    Objects.requireNonNull(tag, "tag");
    if (tag.isEmpty()) {
      throw new IllegalArgumentException("tag must not be empty");
    }
    return Utf8.requireWellFormed(tag, "tag");
  }

  /** Both sets together; this set itself when {@code other} adds nothing. */
  Tags union(Tags other) {
    if (values.containsAll(other.values)) {
      return this;
    }
    LinkedHashSet<String> both = new LinkedHashSet<>(values);
    both.addAll(other.values);
    return new Tags(Collections.unmodifiableSet(both));
  }

  /**
   * Tells whether this set holds a tag.
   *
   * @param tag the tag
   * @return true if present
   */
  public boolean contains(String tag) {
    return values.contains(tag);
  }

  /**
   * Tells whether this set is empty.
   *
   * @return true if there are no tags
   */
  public boolean isEmpty() {
    return values.isEmpty();
  }

  /**
   * Returns the number of tags.
   *
   * @return the size
   */
  public int size() {
    return values.size();
  }

  /**
   * Returns the tags as an unmodifiable set.
   *
   * @return the tags
   */
  public Set<String> asSet() {
    return values;
  }

  @Override
  public Iterator<String> iterator() {
    return values.iterator();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Tags && ((Tags) o).values.equals(values);
  }

  @Override
  public int hashCode() {
    return values.hashCode();
  }

  @Override
  public String toString() {
    return "Tags" + values;
  }
}
