package dev.tiercache.spi;

import dev.tiercache.Tags;
import java.util.Objects;

/**
 * What the cache stores in its L2 for one key: the encoded value (or the mark of a cached absence) and the entry's
 * tags. How the bytes are laid out in the store (envelope, format version) is the store's business.
 *
 * @param codecId the {@link dev.tiercache.codec.ValueCodec#id() codec} that produced {@code value}; the cache ignores
 *     an entry written by another codec
 * @param value the encoded value, or null when the entry records that the loader found nothing (negative caching)
 * @param tags the entry's tags
 */
public record L2Entry(String codecId, byte[] value, Tags tags) {

  /**
   * Validates the components.
   *
   * @throws NullPointerException if {@code codecId} or {@code tags} is null
   */
  public L2Entry {
    Objects.requireNonNull(codecId, "codecId");
    Objects.requireNonNull(tags, "tags");
  }

  /**
   * Tells whether this entry records an absent value.
   *
   * @return true for a negative-cache entry
   */
  public boolean isAbsent() {
    return value == null;
  }
}
