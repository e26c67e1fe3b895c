package dev.tiercache.query;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.cfg.JsonNodeFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tiercache.codec.CodecException;
import dev.tiercache.codec.ValueCodec;
import java.io.IOException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;

/**
 * Encodes {@link QueryResult}s as JSON with Jackson, for the L2 of a cache shared by queries of many row types. Each
 * result records the class name of its rows, and decoding accepts only the row classes the codec was given (plus
 * strings, numbers, booleans and UUIDs): the bytes in a shared Redis never choose an arbitrary class to instantiate.
 * A result with a row of a class not given is refused when it is encoded, which the executor reports as a result
 * that cannot be cached. Jackson ({@code com.fasterxml.jackson.core:jackson-databind}) is an optional dependency:
 * add it to use this class.
 *
 * <pre>{@code
 * ObjectMapper mapper = new ObjectMapper().registerModule(new JavaTimeModule());
 * TieredCache<String, QueryResult> cache = TieredCache.<String, QueryResult>builder("queries")
 *     .l2(redis).valueCodec(QueryResultCodec.json(mapper, User.class, Order.class)).build();
 * }</pre>
 *
 * <p>Instances are immutable and thread-safe.
 */
public final class QueryResultCodec implements ValueCodec<QueryResult> {

  private static final List<Class<?>> SCALARS =
      List.of(
          String.class, Boolean.class, Integer.class, Long.class, Short.class, Byte.class, Double.class,
          Float.class, BigDecimal.class, BigInteger.class, UUID.class, Character.class);

  private final ObjectMapper mapper;
  private final Map<String, Class<?>> allowed;

  private QueryResultCodec(ObjectMapper mapper, Map<String, Class<?>> allowed) {
    this.mapper = mapper;
    this.allowed = allowed;
  }

  /**
   * Creates a codec that accepts rows of these classes (and scalars).
   *
   * @param mapper the mapper (register the modules your row types need, for example {@code JavaTimeModule}); it
   *     must not enable default typing
   * @param rowTypes the row classes of every query cached with this codec
   * @return the codec
   * @throws NullPointerException if an argument is null
   */
  public static QueryResultCodec json(ObjectMapper mapper, Class<?>... rowTypes) {
    Objects.requireNonNull(mapper, "mapper");
    Map<String, Class<?>> allowed = new HashMap<>();
    SCALARS.forEach(c -> allowed.put(c.getName(), c));
    for (Class<?> type : Objects.requireNonNull(rowTypes, "rowTypes")) {
      allowed.put(Objects.requireNonNull(type, "row type").getName(), type);
    }
    // Exact decimals: a BigDecimal keeps its scale (1.50 stays 1.50), as the database returned it.
    ObjectMapper copy =
        mapper.copy()
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .configure(JsonNodeFeature.STRIP_TRAILING_BIGDECIMAL_ZEROES, false)
            // Date-times keep their offset and zone (ISO text, not a UTC timestamp): an OffsetDateTime at +02:00
            // must come back at +02:00, or the read-back check refuses the row.
            .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
            .enable(SerializationFeature.WRITE_DATES_WITH_ZONE_ID)
            .disable(DeserializationFeature.ADJUST_DATES_TO_CONTEXT_TIME_ZONE)
            .registerModule(UnmodifiableCollections.module());
    return new QueryResultCodec(copy, Map.copyOf(allowed));
  }

  /**
   * Returns the format's identifier, recorded with each L2 entry.
   *
   * @return {@code "query-json/1"}
   */
  @Override
  public String id() {
    return "query-json/1";
  }

  /**
   * Writes a result as JSON: its expiry, the row classes, and each row with the index of its class.
   *
   * @param value the result
   * @return the bytes
   * @throws CodecException if a row's class was not given to {@link #json}, or Jackson cannot write it; the message
   *     names the class, never a value
   */
  @Override
  public byte[] encode(QueryResult value) {
    ObjectNode root = mapper.createObjectNode();
    root.put("exp", value.expiresAtMillis());
    root.put("loaded", value.loadedAtMillis());
    ArrayNode types = root.putArray("types");
    Map<Class<?>, Integer> index = new LinkedHashMap<>();
    ArrayNode rows = root.putArray("rows");
    try {
      for (Object row : value.rows()) {
        ArrayNode cell = rows.addArray();
        if (row == null) {
          cell.add(-1);
          continue;
        }
        Class<?> type = row.getClass();
        if (allowed.get(type.getName()) != type) {
          throw new CodecException(
              "rows of " + type.getName() + " are not among the row types given to QueryResultCodec.json");
        }
        Integer i = index.get(type);
        if (i == null) {
          i = index.size();
          index.put(type, i);
          types.add(type.getName());
        }
        cell.add(i);
        cell.add(mapper.valueToTree(row));
      }
      byte[] bytes = mapper.writeValueAsBytes(root);
      requireSameWhenRead(value, bytes);
      return bytes;
    } catch (IOException | IllegalArgumentException e) {
      throw new CodecException("cannot write a query result as JSON (" + e.getClass().getSimpleName() + ")", e);
    }
  }

  /**
   * Refuses a result that another node would read back as something else: JSON keeps no class for a value whose
   * declared type does not fix it (a component declared {@code Object}, or a type variable), so a {@code Long}
   * there comes back an {@code Integer} and a {@code Double} a {@code BigDecimal}. Every node must be served what
   * was cached; the caller learns at once, on the node that loads, instead of from a cast failing on another.
   */
  private void requireSameWhenRead(QueryResult value, byte[] bytes) {
    List<Object> back = decode(bytes).rows();
    for (int i = 0; i < value.rows().size(); i++) {
      Object row = value.rows().get(i);
      if (!ResultGuard.sameValue(row, back.get(i))) {
        throw new CodecException(
            "rows of " + row.getClass().getName() + " do not come back from JSON as they went in: a value's class"
                + " is not fixed by its declared type (a component declared Object or generic?), or the mapper does"
                + " not write it exactly (a date-time without its module?); declare concrete types");
      }
    }
  }

  /**
   * Reads a result written by {@link #encode}.
   *
   * @param bytes the bytes
   * @return the result
   * @throws CodecException if the bytes are malformed or name a row class not given to {@link #json}
   */
  @Override
  public QueryResult decode(byte[] bytes) {
    try {
      JsonNode root = mapper.readTree(bytes);
      if (root == null || !root.isObject() || !root.path("exp").isIntegralNumber() || !root.path("types").isArray()
          || !root.path("rows").isArray()) {
        throw new CodecException("not a query result");
      }
      List<Class<?>> types = new ArrayList<>();
      for (JsonNode name : root.get("types")) {
        Class<?> type = allowed.get(name.asText());
        if (type == null) {
          throw new CodecException("a query result names a row class that is not allowed");
        }
        types.add(type);
      }
      List<Object> rows = new ArrayList<>();
      for (JsonNode cell : root.get("rows")) {
        int i = cell.path(0).asInt(Integer.MIN_VALUE);
        if (i == -1) {
          rows.add(null);
        } else if (i >= 0 && i < types.size() && cell.size() == 2) {
          rows.add(mapper.treeToValue(cell.get(1), types.get(i)));
        } else {
          throw new CodecException("a query result row is malformed");
        }
      }
      // Rows from a shared Redis are held to what loaded rows are: one caller must not change what the next is served.
      try {
        ResultGuard.requireCacheable("a query result read from the L2", rows);
      } catch (IllegalArgumentException mutable) {
        throw new CodecException("a query result read from the L2 holds a value that is not immutable", mutable);
      }
      // Written before the load time was: unknown, so a query with a TTL loads it again.
      JsonNode loaded = root.path("loaded");
      return new QueryResult(
          rows, loaded.isIntegralNumber() ? loaded.asLong() : QueryResult.UNKNOWN, root.get("exp").asLong());
    } catch (IOException | RuntimeException e) {
      if (e instanceof CodecException c) {
        throw c;
      }
      throw new CodecException("cannot read a query result (" + e.getClass().getSimpleName() + ")", e);
    }
  }

  /**
   * Describes the codec.
   *
   * @return a description naming how many row classes it accepts
   */
  @Override
  public String toString() {
    return "QueryResultCodec[" + (allowed.size() - SCALARS.size()) + " row type(s)]";
  }
}
