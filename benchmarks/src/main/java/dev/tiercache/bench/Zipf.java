package dev.tiercache.bench;

import java.util.SplittableRandom;

/**
 * A fixed-seed Zipfian key sequence, precomputed so that drawing a key costs one array read in the measured loop.
 *
 * <p>The ranks follow YCSB's ZipfianGenerator (Gray et al., "Quickly generating billion-record synthetic databases")
 * with the usual skew 0.99; rank r is then mapped to key {@code permutation[r]}, a fixed shuffle, so the hot keys
 * are spread over the key space the way YCSB's scrambled generator spreads them (Caffeine's GetPutBenchmark uses that
 * one).
 */
public final class Zipf {

  /** YCSB's default skew. */
  public static final double THETA = 0.99;

  private Zipf() {}

  /**
   * Draws {@code count} key indices in {@code [0, items)}.
   *
   * @param items how many distinct keys
   * @param count how many draws
   * @param theta the skew, in (0, 1)
   * @param seed the seed; equal arguments give equal arrays
   * @return the indices
   */
  public static int[] indices(int items, int count, double theta, long seed) {
    if (items < 2) {
      throw new IllegalArgumentException("items must be at least 2, was " + items);
    }
    if (!(theta > 0 && theta < 1)) {
      throw new IllegalArgumentException("theta must be in (0, 1), was " + theta);
    }
    SplittableRandom random = new SplittableRandom(seed);
    double zetan = zeta(items, theta);
    double zeta2 = zeta(2, theta);
    double alpha = 1.0 / (1.0 - theta);
    double eta = (1 - Math.pow(2.0 / items, 1 - theta)) / (1 - zeta2 / zetan);
    double half = 1 + Math.pow(0.5, theta);
    int[] permutation = permutation(items, random);
    int[] out = new int[count];
    for (int i = 0; i < count; i++) {
      double u = random.nextDouble();
      double uz = u * zetan;
      int rank;
      if (uz < 1.0) {
        rank = 0;
      } else if (uz < half) {
        rank = 1;
      } else {
        rank = (int) (items * Math.pow(eta * u - eta + 1, alpha));
        if (rank >= items) {
          rank = items - 1;
        }
      }
      out[i] = permutation[rank];
    }
    return out;
  }

  static double zeta(long n, double theta) {
    double sum = 0;
    for (long i = 1; i <= n; i++) {
      sum += 1 / Math.pow(i, theta);
    }
    return sum;
  }

  private static int[] permutation(int n, SplittableRandom random) {
    int[] p = new int[n];
    for (int i = 0; i < n; i++) {
      p[i] = i;
    }
    for (int i = n - 1; i > 0; i--) {
      int j = random.nextInt(i + 1);
      int t = p[i];
      p[i] = p[j];
      p[j] = t;
    }
    return p;
  }
}
