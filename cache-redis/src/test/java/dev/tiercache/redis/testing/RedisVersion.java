package dev.tiercache.redis.testing;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** A Redis server version; the project targets commands of 6.2 and later, so older servers are refused. */
record RedisVersion(int major, int minor, int patch) implements Comparable<RedisVersion> {

    static final RedisVersion MINIMUM = new RedisVersion(6, 2, 0);
    static final RedisVersion SEVEN = new RedisVersion(7, 0, 0);

    private static final Pattern NUMBERS = Pattern.compile("(\\d+)\\.(\\d+)(?:\\.(\\d+))?");

    /** Parses the first {@code major.minor[.patch]} found in {@code text}, e.g. "v=6.2.11" or "7.2.4". */
    static RedisVersion parse(String text) {
        Matcher m = NUMBERS.matcher(text);
        if (!m.find()) {
            throw new IllegalArgumentException("no Redis version in: " + text);
        }
        int patch = m.group(3) == null ? 0 : Integer.parseInt(m.group(3));
        return new RedisVersion(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)), patch);
    }

    boolean atLeast(RedisVersion other) {
        return compareTo(other) >= 0;
    }

    @Override
    public int compareTo(RedisVersion o) {
        int c = Integer.compare(major, o.major);
        if (c == 0) {
            c = Integer.compare(minor, o.minor);
        }
        return c != 0 ? c : Integer.compare(patch, o.patch);
    }

    @Override
    public String toString() {
        return major + "." + minor + "." + patch;
    }
}
