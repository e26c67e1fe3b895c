package dev.tiercache.codec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectInputFilter;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.lang.reflect.Constructor;
import java.math.BigDecimal;
import java.net.URL;
import java.net.URLClassLoader;
import java.math.BigInteger;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.Period;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Date;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class JavaSerializationCodecTest {

  enum Status {
    ACTIVE,
    RETIRED {
      @Override
      public String toString() {
        return "retired"; // a constant with a body: its class is an anonymous subclass of Status
      }
    }
  }

  record Item(String name, int quantity) implements Serializable {}

  record Order(
      String id,
      Status status,
      Status retired,
      BigDecimal price,
      BigInteger big,
      LocalDate date,
      LocalDateTime local,
      Instant at,
      ZonedDateTime zoned,
      Duration ttl,
      Period period,
      ArrayList<Item> items,
      HashMap<String, Integer> counts,
      LinkedHashMap<String, Long> ordered,
      HashSet<String> set,
      LinkedHashSet<Character> chars,
      Double ratio,
      Boolean flag,
      Short small,
      Byte tiny,
      Float f)
      implements Serializable {}

  /** Counts calls to its readObject: a stand-in for a deserialization gadget. */
  static final class Gadget implements Serializable {
    static final AtomicInteger READS = new AtomicInteger();
    String command = "rm -rf /";

    private void readObject(ObjectInputStream in) throws IOException, ClassNotFoundException {
      READS.incrementAndGet();
      in.defaultReadObject();
    }
  }

  static final class Holder implements Serializable {
    final Object payload;

    Holder(Object payload) {
      this.payload = payload;
    }
  }

  /**
   * Catches what reading its payload throws, as careless readObject methods do. Reading the payload as custom data
   * (not as a field) is what lets the stream finish normally after the rejection.
   */
  static final class Swallower implements Serializable {
    transient Object payload;

    private void writeObject(ObjectOutputStream out) throws IOException {
      out.defaultWriteObject();
      out.writeObject(payload);
    }

    private void readObject(ObjectInputStream in) throws IOException, ClassNotFoundException {
      in.defaultReadObject();
      try {
        payload = in.readObject();
      } catch (IOException ignored) {
        // the point of this class
      }
    }
  }

  static final class Node implements Serializable {
    final Node next;

    Node(Node next) {
      this.next = next;
    }
  }

  static class Base implements Serializable {
    int a = 1;
  }

  static final class Sub extends Base {}

  private final JavaSerializationCodec<Order> orders = JavaSerializationCodec.allowing(Order.class, Item.class, Status.class);

  @BeforeEach
  void resetGadget() {
    Gadget.READS.set(0);
  }

  @Test
  void idIsJava() {
    assertThat(orders.id()).isEqualTo("java");
  }

  @Test
  void valueWithEveryBuiltInTypeRoundTrips() {
    Order order = sampleOrder();

    assertThat(orders.decode(orders.encode(order))).isEqualTo(order);
  }

  @Test
  void stringsRoundTrip() {
    JavaSerializationCodec<String> strings = JavaSerializationCodec.allowing(String.class);
    for (String s : List.of("", "héllo 日本 😀", "x".repeat(70_000))) {
      assertThat(strings.decode(strings.encode(s))).isEqualTo(s);
    }
  }

  @Test
  void arraysOfAllowedAndPrimitiveTypesRoundTrip() {
    JavaSerializationCodec<Item[][]> grid = JavaSerializationCodec.allowing(Item[][].class);
    Item[][] value = {{new Item("a", 1)}, {}, {new Item("b", 2), null}};
    assertThat(grid.decode(grid.encode(value))).isDeepEqualTo(value);

    JavaSerializationCodec<long[]> longs = JavaSerializationCodec.allowing(long[].class);
    assertThat(longs.decode(longs.encode(new long[] {1, Long.MAX_VALUE}))).containsExactly(1, Long.MAX_VALUE);
    assertThat(longs.decode(longs.encode(new long[0]))).isEmpty();
  }

  @Test
  void everyTruncationIsACodecException() {
    byte[] encoded = orders.encode(sampleOrder());
    for (int length = 0; length < encoded.length; length++) {
      byte[] truncated = Arrays.copyOf(encoded, length);
      assertThatThrownBy(() -> orders.decode(truncated))
          .as("prefix of %d bytes", length)
          .isInstanceOf(CodecException.class);
    }
  }

  @Test
  void randomAndMutatedBytesOnlyEverThrowCodecException() {
    byte[] valid = orders.encode(sampleOrder());
    Random random = new Random(7);
    int rejected = 0;
    for (int i = 0; i < 3_000; i++) {
      byte[] input;
      switch (i % 3) {
        case 0:
          input = new byte[random.nextInt(200)];
          random.nextBytes(input);
          break;
        case 1: // a valid stream header, then noise
          input = new byte[4 + random.nextInt(200)];
          random.nextBytes(input);
          input[0] = (byte) 0xAC;
          input[1] = (byte) 0xED;
          input[2] = 0;
          input[3] = 5;
          break;
        default:
          input = valid.clone();
          input[4 + random.nextInt(input.length - 4)] = (byte) random.nextInt(256);
      }
      try {
        assertThat(orders.decode(input)).isInstanceOf(Order.class);
      } catch (CodecException expected) {
        rejected++;
      }
    }
    assertThat(rejected).isGreaterThan(2_000);
  }

  @Test
  void classNotOnTheAllowListIsRejectedByName() {
    byte[] date = serializeWithoutFilter(new Date(0));

    assertThatThrownBy(() -> orders.decode(date))
        .isInstanceOf(CodecException.class)
        .hasMessageContaining("class not allowed: java.util.Date");
  }

  @Test
  void rejectedClassNeverRunsItsReadObject() {
    byte[] gadget = serializeWithoutFilter(new Gadget());
    byte[] nested = serializeWithoutFilter(new Holder(new Gadget()));
    JavaSerializationCodec<Holder> holders = JavaSerializationCodec.allowing(Holder.class);

    assertThatThrownBy(() -> orders.decode(gadget))
        .isInstanceOf(CodecException.class)
        .hasMessageContaining(Gadget.class.getName());
    assertThatThrownBy(() -> holders.decode(nested))
        .isInstanceOf(CodecException.class)
        .hasMessageContaining(Gadget.class.getName());
    assertThat(Gadget.READS).hasValue(0);

    // The control: once allowed, the same bytes do run readObject, so the counter can see it.
    JavaSerializationCodec.allowing(Gadget.class).decode(gadget);
    assertThat(Gadget.READS).hasValue(1);
  }

  @Test
  void rejectionStandsEvenWhenAReadObjectMethodSwallowsIt() {
    Swallower swallower = new Swallower();
    swallower.payload = new Gadget();
    byte[] bytes = serializeWithoutFilter(swallower);

    assertThatThrownBy(() -> JavaSerializationCodec.allowing(Swallower.class).decode(bytes))
        .isInstanceOf(CodecException.class)
        .hasMessageContaining(Gadget.class.getName());
    assertThat(Gadget.READS).hasValue(0);
  }

  @Test
  void subclassesOfAnAllowedClassAreNotAllowed() {
    byte[] sub = serializeWithoutFilter(new Sub());

    assertThatThrownBy(() -> JavaSerializationCodec.allowing(Base.class).decode(sub))
        .isInstanceOf(CodecException.class)
        .hasMessageContaining(Sub.class.getName());
  }

  @Test
  void encodeRefusesAValueThatDecodeWouldReject() {
    JavaSerializationCodec<Holder> holders = JavaSerializationCodec.allowing(Holder.class);

    assertThatThrownBy(() -> holders.encode(new Holder(new Date(0))))
        .isInstanceOf(CodecException.class)
        .hasMessageContaining("java.util.Date");
    assertThatThrownBy(() -> holders.encode(new Holder(Status.ACTIVE)))
        .isInstanceOf(CodecException.class)
        .hasMessageContaining(Status.class.getName());
    assertThatThrownBy(() -> holders.encode(new Holder(List.of(1))))
        .isInstanceOf(CodecException.class)
        .hasMessageContaining("java.util.CollSer"); // the serialized form of List.of
    assertThatThrownBy(() -> JavaSerializationCodec.allowing(Base.class).encode(new Sub()))
        .isInstanceOf(CodecException.class)
        .hasMessageContaining(Sub.class.getName());
  }

  @Test
  void decodedObjectMustBeOfTheCodecsType() {
    byte[] string = serializeWithoutFilter("private text");
    byte[] nothing = serializeWithoutFilter(null);

    assertThatThrownBy(() -> orders.decode(string))
        .isInstanceOf(CodecException.class)
        .hasMessageContaining("java.lang.String")
        .hasMessageNotContaining("private text");
    assertThatThrownBy(() -> orders.decode(nothing)).isInstanceOf(CodecException.class);
  }

  @Test
  void depthLimit() {
    Node deep = null;
    for (int i = 0; i < JavaSerializationCodec.MAX_DEPTH + 5; i++) {
      deep = new Node(deep);
    }
    Node shallow = null;
    for (int i = 0; i < JavaSerializationCodec.MAX_DEPTH - 1; i++) {
      shallow = new Node(shallow);
    }
    JavaSerializationCodec<Node> nodes = JavaSerializationCodec.allowing(Node.class);

    assertThat(nodes.decode(serializeWithoutFilter(shallow))).isNotNull();
    byte[] tooDeep = serializeWithoutFilter(deep);
    assertThatThrownBy(() -> nodes.decode(tooDeep))
        .isInstanceOf(CodecException.class)
        .hasMessageContaining("depth");
  }

  @Test
  void arrayLengthLimit() {
    JavaSerializationCodec<int[]> ints = JavaSerializationCodec.allowing(int[].class);
    int[] atLimit = new int[JavaSerializationCodec.MAX_ARRAY_LENGTH];
    int[] overLimit = new int[JavaSerializationCodec.MAX_ARRAY_LENGTH + 1];

    assertThat(ints.decode(ints.encode(atLimit))).hasSize(JavaSerializationCodec.MAX_ARRAY_LENGTH);
    assertThatThrownBy(() -> ints.encode(overLimit))
        .isInstanceOf(CodecException.class)
        .hasMessageContaining("array length");
    byte[] foreign = serializeWithoutFilter(overLimit);
    assertThatThrownBy(() -> ints.decode(foreign))
        .isInstanceOf(CodecException.class)
        .hasMessageContaining("array length");
  }

  @Test
  void referenceLimit() {
    ArrayList<Integer> many = new ArrayList<>();
    for (int i = 0; i < JavaSerializationCodec.MAX_REFERENCES; i++) {
      many.add(1_000 + i); // distinct objects outside the Integer cache
    }
    JavaSerializationCodec<ArrayList<Integer>> lists = listCodec();

    assertThatThrownBy(() -> lists.encode(many))
        .isInstanceOf(CodecException.class)
        .hasMessageContaining("references");
    byte[] foreign = serializeWithoutFilter(many);
    assertThatThrownBy(() -> lists.decode(foreign))
        .isInstanceOf(CodecException.class)
        .hasMessageContaining("references");

    ArrayList<Integer> fewer = new ArrayList<>(many.subList(0, 1_000));
    assertThat(lists.decode(lists.encode(fewer))).isEqualTo(fewer);
  }

  @Test
  void sizeLimit() {
    // One long string: strings never reach a filter while reading, so only a check of the whole input catches it.
    String large = "x".repeat(JavaSerializationCodec.MAX_STREAM_BYTES);
    JavaSerializationCodec<String> strings = JavaSerializationCodec.allowing(String.class);

    assertThatThrownBy(() -> strings.encode(large))
        .isInstanceOf(CodecException.class)
        .hasMessageContaining("stream size");
    byte[] foreign = serializeWithoutFilter(large);
    assertThatThrownBy(() -> strings.decode(foreign))
        .isInstanceOf(CodecException.class)
        .hasMessageContaining("stream size");
  }

  @Test
  void customFilterDecides() {
    ObjectInputFilter filter = ObjectInputFilter.Config.createFilter("maxdepth=5;" + Item.class.getName() + ";!*");
    JavaSerializationCodec<Item> codec = JavaSerializationCodec.withFilter(Item.class, filter);
    Item item = new Item("a", 1);

    assertThat(codec.decode(codec.encode(item))).isEqualTo(item);
    byte[] date = serializeWithoutFilter(new Date(0));
    assertThatThrownBy(() -> codec.decode(date))
        .isInstanceOf(CodecException.class)
        .hasMessageContaining("java.util.Date");
  }

  @Test
  void customFilterFailsClosedOnUndecided() {
    JavaSerializationCodec<Item> undecided =
        JavaSerializationCodec.withFilter(Item.class, info -> ObjectInputFilter.Status.UNDECIDED);
    byte[] item = serializeWithoutFilter(new Item("a", 1));

    assertThatThrownBy(() -> undecided.decode(item))
        .isInstanceOf(CodecException.class)
        .hasMessageContaining(Item.class.getName());
    assertThatThrownBy(() -> undecided.encode(new Item("a", 1))).isInstanceOf(CodecException.class);
  }

  @Test
  void customFilterThatThrowsRejects() {
    JavaSerializationCodec<Item> broken =
        JavaSerializationCodec.withFilter(
            Item.class,
            info -> {
              throw new IllegalStateException("bug in filter");
            });
    byte[] item = serializeWithoutFilter(new Item("a", 1));

    assertThatThrownBy(() -> broken.decode(item))
        .isInstanceOf(CodecException.class)
        .hasMessageContaining("IllegalStateException");
  }

  /**
   * In an application server the value classes live in a class loader that this library's own stack cannot see;
   * the allowed classes must still resolve, and to the very classes that were allowed.
   */
  @Test
  @SuppressWarnings("unchecked")
  void allowedClassesResolveFromTheirOwnClassLoader() throws Exception {
    URL testClasses = Item.class.getProtectionDomain().getCodeSource().getLocation();
    try (URLClassLoader webapp = new URLClassLoader(new URL[] {testClasses}, ClassLoader.getPlatformClassLoader())) {
      Class<Serializable> isolatedItem = (Class<Serializable>) webapp.loadClass(Item.class.getName());
      assertThat(isolatedItem).isNotEqualTo(Item.class);
      Constructor<Serializable> constructor = isolatedItem.getDeclaredConstructor(String.class, int.class);
      constructor.setAccessible(true); // same package name, but another runtime package
      Serializable value = constructor.newInstance("a", 1);
      JavaSerializationCodec<Serializable> codec = JavaSerializationCodec.allowing(isolatedItem);

      Serializable decoded = codec.decode(codec.encode(value));

      assertThat(decoded.getClass()).isSameAs(isolatedItem);
      assertThat(decoded).isEqualTo(value);
    }
  }

  @Test
  void invalidArguments() {
    assertThatThrownBy(() -> JavaSerializationCodec.allowing(int.class)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> JavaSerializationCodec.allowing(Item.class, (Class<?>) null))
        .isInstanceOf(NullPointerException.class);
    assertThatThrownBy(() -> JavaSerializationCodec.withFilter(Item.class, null))
        .isInstanceOf(NullPointerException.class);
  }

  @SuppressWarnings("unchecked")
  private static JavaSerializationCodec<ArrayList<Integer>> listCodec() {
    return (JavaSerializationCodec<ArrayList<Integer>>) (Object) JavaSerializationCodec.allowing(ArrayList.class);
  }

  private static Order sampleOrder() {
    ArrayList<Item> items = new ArrayList<>(List.of(new Item("a", 1), new Item("b", 2)));
    HashMap<String, Integer> counts = new HashMap<>(Map.of("x", 1, "y", 2_000));
    LinkedHashMap<String, Long> ordered = new LinkedHashMap<>();
    ordered.put("first", 1L);
    ordered.put("second", Long.MIN_VALUE);
    return new Order(
        "order-1",
        Status.ACTIVE,
        Status.RETIRED,
        new BigDecimal("12.345"),
        new BigInteger("123456789012345678901234567890"),
        LocalDate.of(2024, 2, 29),
        LocalDateTime.of(2024, 2, 29, 23, 59),
        Instant.ofEpochSecond(1_700_000_000L, 5),
        ZonedDateTime.of(2024, 3, 31, 2, 30, 0, 0, ZoneId.of("Europe/Paris")),
        Duration.ofMinutes(90),
        Period.ofMonths(14),
        items,
        counts,
        ordered,
        new HashSet<>(Set.of("s")),
        new LinkedHashSet<>(List.of('é', '日')),
        0.5,
        true,
        (short) 3,
        (byte) 4,
        1.5f);
  }

  /** Bytes as another writer (or an attacker) would put them in the L2: no codec, no filter. */
  private static byte[] serializeWithoutFilter(Object value) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
      out.writeObject(value);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return bytes.toByteArray();
  }
}
