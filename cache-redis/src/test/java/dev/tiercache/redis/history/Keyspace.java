package dev.tiercache.redis.history;

import dev.tiercache.Invalidation;
import dev.tiercache.Tags;
import dev.tiercache.redis.history.Op.Kind;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The workload's keys, their tags, and the prefix, tag and pattern invalidations that cover each of them. Which keys
 * an invalidation covers is computed here, from the strings, without the product's matchers, so that the checker
 * does not inherit their bugs.
 *
 * <p>Key {@code i} is {@code "g<i % 5>:<i>:v"} with tag {@code "t<i % 7>"}. Its prefix invalidation is
 * {@code "g<i % 5>:"} (a fifth of the keys), its tag invalidation {@code "t<i % 7>"} (a seventh), and its pattern
 * invalidation {@code "g<i % 5>:*<i % 10>:v"} (the keys whose index ends in the same digit: a tenth).
 */
final class Keyspace {

  private static final int GROUPS = 5;
  private static final int TAGS = 7;

  private final int size;
  private final String[] names;
  private final Tags[] tags;
  private final String[] tagNames;
  private final int[][][] covered; // [kind][key] = covered key indices

  Keyspace(int size) {
    if (size < 1) {
      throw new IllegalArgumentException("at least one key, got " + size);
    }
    this.size = size;
    names = new String[size];
    tags = new Tags[size];
    tagNames = new String[size];
    for (int i = 0; i < size; i++) {
      names[i] = "g" + (i % GROUPS) + ":" + i + ":v";
      tagNames[i] = "t" + (i % TAGS);
      tags[i] = Tags.of(tagNames[i]);
    }
    covered = new int[Kind.values().length][size][];
    for (int key = 0; key < size; key++) {
      int i = key;
      covered[Kind.KEY.ordinal()][i] = new int[] {i};
      covered[Kind.PUT.ordinal()][i] = new int[] {i};
      covered[Kind.PREFIX.ordinal()][i] = matching(k -> names[k].startsWith(prefix(i)));
      covered[Kind.TAG.ordinal()][i] = matching(k -> Set.of(tagNames[k]).contains(tagNames[i]));
      String pattern = pattern(i);
      covered[Kind.PATTERN.ordinal()][i] = matching(k -> globMatches(pattern, names[k]));
    }
  }

  int size() {
    return size;
  }

  String name(int key) {
    return names[key];
  }

  Tags tags(int key) {
    return tags[key];
  }

  /** The invalidation of {@code kind} for key {@code key}; not for {@link Kind#PUT}. */
  Invalidation invalidation(Kind kind, int key) {
    return switch (kind) {
      case KEY -> Invalidation.key(names[key]);
      case PREFIX -> Invalidation.prefix(prefix(key));
      case TAG -> Invalidation.tag(tagNames[key]);
      case PATTERN -> Invalidation.pattern(pattern(key));
      default -> throw new IllegalArgumentException(kind + " is not an invalidation");
    };
  }

  /** Every key that the write of {@code kind} for key {@code key} covers; always includes {@code key}. */
  int[] covered(Kind kind, int key) {
    return covered[kind.ordinal()][key];
  }

  /** The value a cache holds for version {@code version} of key {@code key}. */
  String value(int key, long version) {
    return names[key] + "@" + version;
  }

  private static String prefix(int key) {
    return "g" + (key % GROUPS) + ":";
  }

  private static String pattern(int key) {
    return "g" + (key % GROUPS) + ":*" + (key % 10) + ":v";
  }

  private int[] matching(java.util.function.IntPredicate predicate) {
    List<Integer> out = new ArrayList<>();
    for (int k = 0; k < size; k++) {
      if (predicate.test(k)) {
        out.add(k);
      }
    }
    return out.stream().mapToInt(Integer::intValue).toArray();
  }

  /** A glob of literal characters, {@code *} (any run) and {@code ?} (any one character); no classes, no escapes. */
  static boolean globMatches(String glob, String text) {
    boolean[][] m = new boolean[glob.length() + 1][text.length() + 1];
    m[glob.length()][text.length()] = true;
    for (int g = glob.length() - 1; g >= 0; g--) {
      char c = glob.charAt(g);
      for (int t = text.length(); t >= 0; t--) {
        if (c == '*') {
          m[g][t] = m[g + 1][t] || (t < text.length() && m[g][t + 1]);
        } else {
          m[g][t] = t < text.length() && (c == '?' || c == text.charAt(t)) && m[g + 1][t + 1];
        }
      }
    }
    return m[0][0];
  }
}
