package dev.tiercache.redis.history;

/**
 * One operation of a history: a read, or a write (a database update followed by one cache call). Times are
 * {@link System#nanoTime()} of the one JVM that ran every instance, so they compare across instances.
 *
 * @param type read or write
 * @param instance which cache instance ran it, 0-based
 * @param key the key's index in the {@link Keyspace}
 * @param start when the cache call began
 * @param end when the cache call returned or threw
 * @param version for a read the version it returned (0 when it returned nothing or threw); for a write the database
 *     version it wrote just before the cache call
 * @param kind for a write, the cache call it made after the database update
 * @param covered for a write, the indices of every key its cache call covers
 * @param error the simple class name of what the cache call threw, or null if it returned normally
 * @param anomaly for a read, what was wrong with the value itself (another key's value, null), or null
 */
public record Op(
    Type type,
    int instance,
    int key,
    long start,
    long end,
    long version,
    Kind kind,
    int[] covered,
    String error,
    String anomaly) {

  /** Reads and writes. */
  public enum Type {
    READ,
    WRITE
  }

  /** What a write asks the cache to do after it updated the database. */
  public enum Kind {
    NONE,
    KEY,
    PREFIX,
    TAG,
    PATTERN,
    PUT
  }

  static Op read(int instance, int key, long start, long end, long version, String error, String anomaly) {
    return new Op(Type.READ, instance, key, start, end, version, Kind.NONE, new int[0], error, anomaly);
  }

  static Op write(int instance, int key, long start, long end, long version, Kind kind, int[] covered, String error) {
    return new Op(Type.WRITE, instance, key, start, end, version, kind, covered, error, null);
  }

  boolean completed() {
    return error == null;
  }
}
