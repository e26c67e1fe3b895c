package dev.tiercache.bench.report;

import java.util.Locale;

/**
 * The targets of issue 11, in one place: every suite's comparisons and its description take them from here, so the
 * verdicts in {@code results/} judge against what the issue asks and the text cannot drift from the figures. Ratios
 * are Tiercache / reference, within one run.
 */
public final class Targets {

  private Targets() {}

  /** Suite 1: an L1 hit reaches this share of raw Caffeine's throughput (read only). */
  public static final double L1_HIT = 0.90;

  /** Suite 1: the 6:2 read/write mix reaches this share of raw Caffeine's throughput. */
  public static final double L1_READ_WRITE = 0.50;

  /** Suite 2: an L2 hit's mean latency is at most this many times a raw Lettuce {@code GET}'s. */
  public static final double L2_HIT = 1.10;

  /** Suite 2: an L2 hit allocates at most this many times the bytes per operation of a raw {@code GET}. */
  public static final double L2_HIT_ALLOC = 1.50;

  /** Suite 3: {@code getAll} of 100 keys reaches this share of a raw {@code MGET}'s throughput. */
  public static final double GET_ALL = 0.85;

  /** Suite 3: {@code getAll} of 100 keys allocates at most this many times a raw {@code MGET}'s bytes per call. */
  public static final double GET_ALL_ALLOC = 1.50;

  /** Suite 4: Tiercache at least level with each peer on every path (throughput up, latency down). */
  public static final double PEER = 1.00;

  /** Suite 4: mixed read/write/invalidate throughput against Redisson's RLocalCachedMap. */
  public static final double MIXED_VS_REDISSON = 1.20;

  /** Suite 5: cross-node invalidation p99 at most this many times a raw Pub/Sub round's p99. */
  public static final double INVALIDATION_P99 = 1.50;

  /** Suite 7: caller time at 100,000 and 1,000,000 tagged keys at most this many times that at 1,000. */
  public static final double TAG_FLATNESS = 2.00;

  /** A ratio as the suites' descriptions print it: {@code 1.10x}. */
  public static String x(double ratio) {
    return String.format(Locale.ROOT, "%.2fx", ratio);
  }
}
