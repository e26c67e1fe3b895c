package dev.tiercache.codec;

import java.util.Objects;

/**
 * Turns cache keys into the strings that both tiers, invalidation strategies and the bus work with. Two keys that
 * are {@code equals} must encode to the same string, and two different keys must encode to different strings.
 *
 * @param <K> the key type
 */
@FunctionalInterface
public interface KeyCodec<K> {

  /**
   * Encodes a key.
   *
   * @param key the key; never null
   * @return its string form; never null
   */
  String encode(K key);

  /**
   * The codec for {@code String} keys: the key is its own encoding.
   *
   * @return the identity codec
   */
  static KeyCodec<String> identity() {
    return key -> key;
  }

  /**
   * A codec that uses {@link Object#toString()}. Suitable only for key types whose {@code toString} is
   * injective and stable across JVMs (numbers, UUIDs, enums, strings).
   *
   * @param <K> the key type
   * @return the codec
   */
  static <K> KeyCodec<K> usingToString() {
    return key -> Objects.requireNonNull(key.toString(), "key.toString()");
  }
}
