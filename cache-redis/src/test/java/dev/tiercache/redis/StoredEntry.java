package dev.tiercache.redis;

import java.nio.charset.StandardCharsets;

/** Entries as {@link EntryFormat} lays them out in Redis, built by hand for tests that plant them with a plain client. */
final class StoredEntry {

  private StoredEntry() {}

  /**
   * The stored string of an entry: format, version, flag, then lengths computed from the codec id and tags given
   * (which may themselves be malformed), codec id, tags and data.
   */
  static String of(long version, String flag, String codec, String tags, String data) {
    return Scripts.FORMAT
        + String.format("%016d", version)
        + flag
        + String.format("%03d", codec.getBytes(StandardCharsets.UTF_8).length)
        + String.format("%07d", tags.getBytes(StandardCharsets.UTF_8).length)
        + codec
        + tags
        + data;
  }

  /** A well-formed value entry with no tags. */
  static String value(long version, String codec, String data) {
    return of(version, "v", codec, "", data);
  }
}
