package dev.tiercache.query;

import dev.tiercache.Tags;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.LocalTime;
import java.time.OffsetDateTime;
import java.time.OffsetTime;
import java.time.Year;
import java.time.YearMonth;
import java.time.ZonedDateTime;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;

/**
 * Cache keys of queries. A key is {@code q:} plus the SHA-256, in hex, of a canonical encoding of the query: a
 * format marker, the kind (name or SQL), the normalised text, the sorted tags, and each parameter as a type name
 * followed by its value; every string is length-prefixed and written as UTF-16 code units, so that the encoding is
 * injective (no two different queries share one) and the same in every JVM: no {@code hashCode}, no default
 * charset, no map order, no time zone that is not part of the value.
 *
 * <p>Keys of {@link CachedQueryExecutor#executeAll bulk} entries hash the query with one id and a marker that sets
 * them apart from single queries.
 */
final class QueryKeys {

  private static final String FORMAT = "tiercache-query/1";
  private static final HexFormat HEX = HexFormat.of();
  private static final Set<Class<?>> TIME_TYPES =
      Set.of(
          LocalDate.class, LocalTime.class, LocalDateTime.class, OffsetDateTime.class, OffsetTime.class,
          ZonedDateTime.class, Instant.class, Year.class, YearMonth.class, Duration.class);

  private QueryKeys() {}

  static String key(Query query, Tags tags) {
    return "q:" + hash(query, tags, false, null);
  }

  static String bulkKey(Query query, Tags tags, Object id) {
    return "q:" + hash(query, tags, true, id);
  }

  private static String hash(Query query, Tags tags, boolean bulk, Object id) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(128);
    try (DataOutputStream out = new DataOutputStream(bytes)) {
      string(out, FORMAT);
      string(out, bulk ? "bulk" : "single");
      string(out, query.isSql() ? "sql" : "name");
      string(out, query.name());
      Set<String> sorted = new TreeSet<>(tags.asSet());
      out.writeInt(sorted.size());
      for (String tag : sorted) {
        string(out, tag);
      }
      List<Object> params = query.params();
      out.writeInt(params.size());
      for (Object param : params) {
        param(out, param);
      }
      if (bulk) {
        param(out, id);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e); // a ByteArrayOutputStream does not fail
    }
    return HEX.formatHex(sha256().digest(bytes.toByteArray()));
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java platform has SHA-256", e);
    }
  }

  private static void string(DataOutputStream out, String s) throws IOException {
    out.writeInt(s.length());
    out.writeChars(s); // UTF-16 code units: injective even for unpaired surrogates, unlike a charset encoder
  }

  private static void tagged(DataOutputStream out, String type, String value) throws IOException {
    string(out, type);
    string(out, value);
  }

  private static void param(DataOutputStream out, Object p) throws IOException {
    if (p == null) {
      string(out, "null");
    } else if (p instanceof String s) {
      tagged(out, "string", s);
    } else if (p instanceof Integer || p instanceof Long || p instanceof Short || p instanceof Byte
        || p instanceof Boolean || p instanceof Character || p instanceof BigInteger || p instanceof UUID) {
      tagged(out, p.getClass().getSimpleName(), p.toString());
    } else if (p instanceof Double || p instanceof Float) {
      // Double.toString is exact and distinguishes -0.0 from 0.0.
      tagged(out, p.getClass().getSimpleName(), p.toString());
    } else if (p instanceof BigDecimal d) {
      tagged(out, "BigDecimal", d.toString()); // one string per (unscaled value, scale)
    } else if (p instanceof byte[] b) {
      string(out, "bytes");
      out.writeInt(b.length);
      out.write(b);
    } else if (p instanceof Enum<?> e) {
      tagged(out, "enum", e.getDeclaringClass().getName());
      string(out, e.name());
    } else if (p instanceof java.sql.Timestamp t) {
      // The wall clock the driver binds, and the instant, so JVMs in different zones never share a key wrongly.
      tagged(out, "Timestamp", t.toString());
      out.writeLong(t.getTime());
    } else if (p instanceof java.sql.Date d) {
      tagged(out, "sql.Date", d.toString());
      out.writeLong(d.getTime());
    } else if (p instanceof java.sql.Time t) {
      tagged(out, "sql.Time", t.toString());
      out.writeLong(t.getTime());
    } else if (p instanceof java.util.Date d) {
      // Bound as a Timestamp, which the driver turns into a wall clock in this JVM's time zone: the zone is part of
      // what is asked, so JVMs in different zones never share a key for different wall clocks.
      string(out, "util.Date");
      out.writeLong(d.getTime());
      string(out, java.util.TimeZone.getDefault().getID());
    } else if (p instanceof SqlNull n) {
      string(out, "SqlNull");
      out.writeInt(n.sqlType());
    } else if (TIME_TYPES.contains(p.getClass())) {
      tagged(out, p.getClass().getSimpleName(), p.toString());
    } else {
      throw unsupported(p, 0);
    }
  }

  /** Checks a parameter's type and returns what the query keeps: a copy of a mutable value, the value otherwise. */
  static Object requireSupported(Object p, int position) {
    if (p == null || p instanceof SqlNull || p instanceof String || p instanceof Number && isSupportedNumber(p) || p instanceof Boolean
        || p instanceof Character || p instanceof UUID || p instanceof Enum<?> || TIME_TYPES.contains(p.getClass())) {
      return p;
    }
    if (p instanceof byte[] b) {
      return b.clone();
    }
    if (p instanceof java.util.Date d) {
      return d.clone(); // Timestamp, sql.Date and sql.Time keep their class and nanos
    }
    throw unsupported(p, position);
  }

  private static boolean isSupportedNumber(Object p) {
    return p instanceof Integer || p instanceof Long || p instanceof Short || p instanceof Byte
        || p instanceof Double || p instanceof Float || p instanceof BigDecimal || p instanceof BigInteger;
  }

  private static IllegalArgumentException unsupported(Object p, int position) {
    return new IllegalArgumentException(
        (position > 0 ? "parameter " + position : "a parameter") + " has type " + p.getClass().getName()
            + ", which has no JVM-independent cache key encoding; pass one of: null, SqlNull, String, Character, Boolean,"
            + " Byte, Short, Integer, Long, Float, Double, BigDecimal, BigInteger, byte[], UUID, an enum,"
            + " java.sql.Date/Time/Timestamp, java.util.Date, or a java.time value");
  }

}
