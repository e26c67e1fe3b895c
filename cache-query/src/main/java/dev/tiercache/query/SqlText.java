package dev.tiercache.query;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * SQL text before it reaches the parser or the driver: named parameters and collections expanded to {@code ?}
 * placeholders, whitespace normalised for the cache key, and the lexical signs of a locking read. Everything here
 * skips string literals, quoted identifiers and comments.
 */
final class SqlText {

  /** SQL text with {@code ?} placeholders only, and one flat parameter per placeholder. */
  record Expanded(String sql, List<Object> params) {}

  private static final Pattern LOCKING =
      Pattern.compile(
          "\\bFOR\\s+(UPDATE|SHARE|NO\\s+KEY\\s+UPDATE|KEY\\s+SHARE)\\b|\\bLOCK\\s+IN\\s+SHARE\\s+MODE\\b"
              + "|\\b(UPDLOCK|HOLDLOCK|XLOCK|ROWLOCK|TABLOCKX)\\b");

  private static final Pattern DIRTY = Pattern.compile("\\b(NOLOCK|READUNCOMMITTED)\\b");

  /** Oracle's alternative quoting, {@code q'[...]'} (and {@code nq'}), whose end this scan cannot find. */
  private static final Pattern ALTERNATIVE_QUOTE = Pattern.compile("(?i)(?<![A-Za-z0-9_$])n?q'");

  private SqlText() {}

  /**
   * Expands positional parameters: a {@link Collection} bound to one {@code ?} becomes {@code ?, ?, ...}, one per
   * element (for {@code IN (?)}).
   */
  static Expanded positional(String sql, Object[] params) {
    List<Object> flat = new ArrayList<>();
    StringBuilder out = new StringBuilder(sql.length() + 16);
    int[] next = {0};
    scan(
        sql,
        (text, i) -> {
          char c = text.charAt(i);
          if (c != '?') {
            return -1;
          }
          if (i + 1 < text.length() && (text.charAt(i + 1) == '?' || text.charAt(i + 1) == '|'
              || text.charAt(i + 1) == '&')) {
            return -1; // PostgreSQL JSON operators ??, ?| and ?& are not placeholders
          }
          if (next[0] >= params.length) {
            return -1; // the driver reports a missing parameter
          }
          append(out, flat, params[next[0]++], "parameter " + next[0]);
          return i + 1;
        },
        out);
    for (int i = next[0]; i < params.length; i++) {
      flat.add(params[i]); // more parameters than placeholders: the driver reports it
    }
    return new Expanded(out.toString(), flat);
  }

  /**
   * Expands named parameters ({@code :name}, letters, digits and underscores) to {@code ?} placeholders, a
   * collection to one placeholder per element. {@code ::} (a PostgreSQL cast) is not a parameter.
   */
  static Expanded named(String sql, Map<String, ?> params) {
    List<Object> flat = new ArrayList<>();
    StringBuilder out = new StringBuilder(sql.length() + 16);
    scan(
        sql,
        (text, i) -> {
          char c = text.charAt(i);
          if (c == '?') {
            throw new IllegalArgumentException("the SQL mixes ? placeholders with named parameters");
          }
          if (c != ':') {
            return -1;
          }
          if (i + 1 < text.length() && text.charAt(i + 1) == ':') {
            out.append("::");
            return i + 2;
          }
          if (i > 0 && text.charAt(i - 1) == ':') {
            return -1;
          }
          int end = i + 1;
          while (end < text.length() && (Character.isLetterOrDigit(text.charAt(end)) || text.charAt(end) == '_')) {
            end++;
          }
          if (end == i + 1 || !Character.isLetter(text.charAt(i + 1)) && text.charAt(i + 1) != '_') {
            return -1;
          }
          String name = text.substring(i + 1, end);
          if (!params.containsKey(name)) {
            throw new IllegalArgumentException("no value for the named parameter :" + name);
          }
          append(out, flat, params.get(name), "parameter :" + name);
          return end;
        },
        out);
    return new Expanded(out.toString(), flat);
  }

  private static void append(StringBuilder out, List<Object> flat, Object value, String what) {
    if (value instanceof Collection<?> values) {
      if (values.isEmpty()) {
        throw new IllegalArgumentException(what + " is an empty collection: IN () is not SQL; skip the query");
      }
      int n = 0;
      for (Object v : values) {
        out.append(n++ == 0 ? "?" : ", ?");
        flat.add(v);
      }
    } else {
      out.append('?');
      flat.add(value);
    }
  }

  /** Handles one character of code (outside quotes and comments): returns where to go on, or -1 to copy it. */
  private interface Handler {
    int at(String text, int index);
  }

  /** Copies {@code sql} to {@code out}, letting {@code handler} replace characters of code. */
  private static void scan(String sql, Handler handler, StringBuilder out) {
    int i = 0;
    while (i < sql.length()) {
      char c = sql.charAt(i);
      int skipped = skipQuotedOrComment(sql, i);
      if (skipped > i) {
        out.append(sql, i, skipped);
        i = skipped;
        continue;
      }
      int next = handler.at(sql, i);
      if (next < 0) {
        out.append(c);
        i++;
      } else {
        i = next;
      }
    }
  }

  /** If a literal, quoted identifier or comment starts at {@code i}, returns the index just past it; else i. */
  private static int skipQuotedOrComment(String sql, int i) {
    char c = sql.charAt(i);
    if (c == '\'' || c == '"' || c == '`') {
      int j = i + 1;
      while (j < sql.length()) {
        if (sql.charAt(j) == c) {
          if (j + 1 < sql.length() && sql.charAt(j + 1) == c) {
            j += 2; // a doubled quote stays inside
            continue;
          }
          return j + 1;
        }
        j++;
      }
      return sql.length();
    }
    // -- everywhere, and // in H2 (elsewhere it is no SQL at all).
    if ((c == '-' || c == '/') && i + 1 < sql.length() && sql.charAt(i + 1) == c) {
      int end = sql.indexOf('\n', i);
      return end < 0 ? sql.length() : end;
    }
    if (c == '/' && i + 1 < sql.length() && sql.charAt(i + 1) == '*') {
      // Block comments nest in H2 and PostgreSQL (MySQL ends one at its first */, which is then a syntax error).
      int depth = 1;
      int j = i + 2;
      while (j + 1 < sql.length()) {
        if (sql.charAt(j) == '/' && sql.charAt(j + 1) == '*') {
          depth++;
          j += 2;
        } else if (sql.charAt(j) == '*' && sql.charAt(j + 1) == '/') {
          j += 2;
          if (--depth == 0) {
            return j;
          }
        } else {
          j++;
        }
      }
      return sql.length();
    }
    return i;
  }

  /**
   * Whether databases disagree on where this text's comments end, and so on where its literals are: {@code //} is a
   * line comment in H2 only, and a block comment inside a block comment nests in H2 and PostgreSQL, not in MySQL. Seen
   * anywhere, literals included: only trimming then costs a key that whitespace alone changes, never a shared one.
   */
  private static boolean commentsDisagree(String sql) {
    if (sql.contains("//")) {
      return true;
    }
    for (int open = sql.indexOf("/*"); open >= 0; open = sql.indexOf("/*", open + 2)) {
      int close = sql.indexOf("*/", open + 2);
      int inner = sql.indexOf("/*", open + 2);
      if (inner >= 0 && (close < 0 || inner < close)) {
        return true;
      }
    }
    return false;
  }

  /**
   * Why a read must never be cached, whatever tables or TTL it names (null: no such sign in its code, outside
   * literals and comments): it asks for row locks ({@code FOR UPDATE} and kin), or it reads other transactions'
   * uncommitted rows through a table hint ({@code WITH (NOLOCK)}, {@code READUNCOMMITTED}), which a rollback then
   * takes back without any invalidation.
   */
  static String neverCached(String sql) {
    StringBuilder code = new StringBuilder(sql.length());
    int i = 0;
    while (i < sql.length()) {
      int skipped = skipQuotedOrComment(sql, i);
      if (skipped > i) {
        code.append(' ');
        i = skipped;
      } else {
        code.append(sql.charAt(i++));
      }
    }
    String upper = code.toString().toUpperCase(Locale.ROOT);
    if (LOCKING.matcher(upper).find()) {
      return "it locks rows (FOR UPDATE/SHARE)";
    }
    if (DIRTY.matcher(upper).find()) {
      return "it reads uncommitted rows (NOLOCK/READUNCOMMITTED)";
    }
    return null;
  }

  /**
   * Normalises SQL text for the key: trimmed, and each run of whitespace in code (outside literals, quoted
   * identifiers and comments) becomes one space, or one newline if it held a line break. Text with dollar quoting,
   * backslashes, {@code #}, {@code //}, a nested block comment, {@code [} (SQL Server's bracketed names) or Oracle's
   * {@code q'[...]'} quotes is only trimmed, since databases differ on where its literals end: normalising must never
   * make two different statements one.
   */
  static String normalise(String sql) {
    int from = 0;
    int to = sql.length();
    while (from < to && isSpace(sql.charAt(from))) {
      from++;
    }
    while (to > from && isSpace(sql.charAt(to - 1))) {
      to--;
    }
    String trimmed = sql.substring(from, to);
    if (trimmed.indexOf('$') >= 0 || trimmed.indexOf('\\') >= 0 || trimmed.indexOf('#') >= 0
        || trimmed.indexOf('[') >= 0 || ALTERNATIVE_QUOTE.matcher(trimmed).find() || commentsDisagree(trimmed)) {
      return trimmed;
    }
    StringBuilder out = new StringBuilder(trimmed.length());
    scan(
        trimmed,
        (text, i) -> {
          if (!isSpace(text.charAt(i))) {
            return -1;
          }
          boolean lineBreak = false;
          int j = i;
          while (j < text.length() && isSpace(text.charAt(j))) {
            lineBreak |= text.charAt(j) == '\n' || text.charAt(j) == '\r';
            j++;
          }
          out.append(lineBreak ? '\n' : ' ');
          return j;
        },
        out);
    return out.toString();
  }

  /** The whitespace of SQL itself; other characters that Java calls whitespace may matter to a database. */
  private static boolean isSpace(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
  }
}
