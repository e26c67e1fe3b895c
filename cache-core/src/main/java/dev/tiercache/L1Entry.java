package dev.tiercache;

/**
 * What the L1 holds for a key: the value (null for a cached absence), its tags, and the log stamp of the read that
 * produced it, which invalidations are compared against.
 */
final class L1Entry<V> {

  final V value;
  final Tags tags;
  final long stamp;
  /** For a cached absence, the ticker time after which it is no longer served; unused for values. */
  final long absentUntil;

  L1Entry(V value, Tags tags, long stamp, long absentUntil) {
    this.value = value;
    this.tags = tags;
    this.stamp = stamp;
    this.absentUntil = absentUntil;
  }

  boolean isAbsent() {
    return value == null;
  }
}
