package dev.tiercache;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * The keys of one {@code getAll}, encoded and without duplicates, by position, and what each position found. Reads
 * and loads of the batch work on positions: the maps by key that they used to build cost several nodes per key
 * (issue 11), and a batch that the tiers serve whole now allocates its arrays and the result map only.
 *
 * @param <K> the cache's key type
 */
final class Batch<K> {

  /** The distinct encoded keys, in the order first given, {@code [0, size)}. */
  final String[] keys;
  /** The caller's key of each position (the first given, for keys that encode alike). */
  final K[] originals;
  /** What each position found: a value, {@link L2Tier#ABSENT} for a cached absence, or null while nothing. */
  final Object[] found;
  final int size;

  private Batch(String[] keys, K[] originals, int size) {
    this.keys = keys;
    this.originals = originals;
    this.found = new Object[size];
    this.size = size;
  }

  /**
   * Encodes keys and drops those that encode like an earlier one, keeping the first.
   *
   * @param encode validates and encodes one key (it throws for a key the cache refuses)
   */
  @SuppressWarnings("unchecked")
  static <K> Batch<K> of(Iterable<? extends K> keys, Function<? super K, String> encode) {
    // Our own copy (a snapshot even of a concurrent collection), compacted in place: the caller's keys by position.
    Object[] originals = keys instanceof Collection<?> c ? c.toArray() : copy(keys);
    String[] encoded = new String[originals.length];
    // Keys are caller input and Strings that share a hash code are easy to make: a HashSet's bins of Strings become
    // trees, so such keys cost no quadratic work (DESIGN.md invariant 6, review 10).
    Set<String> kept = new HashSet<>((int) (originals.length / 0.75f) + 1);
    int size = 0;
    for (int i = 0; i < originals.length; i++) {
      Object key = originals[i];
      String k = encode.apply((K) key);
      if (kept.add(k)) {
        encoded[size] = k;
        originals[size++] = key;
      }
    }
    return new Batch<>(encoded, (K[]) originals, size);
  }

  private static Object[] copy(Iterable<?> keys) {
    List<Object> copy = new ArrayList<>();
    keys.forEach(copy::add);
    return copy.toArray();
  }

  /** The encoded keys at {@code at[0, count)}; the batch's own array when that is every key in order. */
  String[] keysAt(int[] at, int count) {
    if (count == size && size == keys.length) {
      // Positions are listed in order, so all of them means the identity.
      return keys;
    }
    String[] subset = new String[count];
    for (int j = 0; j < count; j++) {
      subset[j] = keys[at[j]];
    }
    return subset;
  }

  /** The values found, by the caller's keys, in the order given; absent keys are left out. */
  <V> Map<K, V> result() {
    int present = 0;
    for (int i = 0; i < size; i++) {
      if (found[i] != null && found[i] != L2Tier.ABSENT) {
        present++;
      }
    }
    Map<K, V> result = new LinkedHashMap<>((int) (present / 0.75f) + 1);
    for (int i = 0; i < size; i++) {
      Object value = found[i];
      if (value != null && value != L2Tier.ABSENT) {
        result.put(originals[i], L2Tier.codecValue(value));
      }
    }
    return result;
  }
}
