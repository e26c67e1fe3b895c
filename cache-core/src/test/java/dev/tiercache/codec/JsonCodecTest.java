package dev.tiercache.codec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class JsonCodecTest {

  record Item(int id, String name) {}

  record Tagged(String label, List<String> tags, Map<String, Integer> counts) {}

  record Positive(int value) {
    Positive {
      if (value <= 0) {
        throw new IllegalArgumentException("value must be positive");
      }
    }
  }

  /** Has a property whose getter fails, with a message that quotes private data. */
  static final class FailingGetter {
    public String getSecret() {
      throw new IllegalStateException("secret-in-getter-message");
    }
  }

  private final JsonCodec<Item> items = JsonCodec.of(Item.class);

  @Test
  void idIsJson() {
    assertThat(items.id()).isEqualTo("json");
  }

  @Test
  void recordRoundTrips() {
    Item item = new Item(42, "héllo 日本 😀");

    byte[] encoded = items.encode(item);

    assertThat(new String(encoded, StandardCharsets.UTF_8)).startsWith("{\"id\":42,\"name\":\"héllo 日本 ");
    assertThat(items.decode(encoded)).isEqualTo(item);
  }

  @Test
  void emptyStringAndNullComponentsRoundTrip() {
    assertThat(items.decode(items.encode(new Item(0, "")))).isEqualTo(new Item(0, ""));
    assertThat(items.decode(items.encode(new Item(1, null)))).isEqualTo(new Item(1, null));
    JsonCodec<String> strings = JsonCodec.of(String.class);
    assertThat(strings.decode(strings.encode(""))).isEmpty();
  }

  @Test
  void nestedCollectionsRoundTrip() {
    JsonCodec<Tagged> codec = JsonCodec.of(Tagged.class);
    Tagged value = new Tagged("x", List.of("a", "b"), Map.of("k", 1));

    assertThat(codec.decode(codec.encode(value))).isEqualTo(value);
  }

  @Test
  void genericTypeViaTypeReference() {
    JsonCodec<List<Item>> codec = JsonCodec.of(new TypeReference<List<Item>>() {});
    List<Item> value = List.of(new Item(1, "a"), new Item(2, "b"));

    List<Item> decoded = codec.decode(codec.encode(value));

    // Without the type reference Jackson would produce a list of LinkedHashMaps, which equals() would not match.
    assertThat(decoded).containsExactly(new Item(1, "a"), new Item(2, "b"));
    assertThat(decoded.get(0)).isInstanceOf(Item.class);
  }

  @Test
  void typeReferenceWithCallersMapper() {
    JsonCodec<Map<String, Item>> codec = JsonCodec.of(new TypeReference<Map<String, Item>>() {}, new ObjectMapper());

    assertThat(codec.decode(codec.encode(Map.of("a", new Item(1, "a"))))).containsEntry("a", new Item(1, "a"));
  }

  @Test
  void unknownPropertiesFromANewerVersionAreTolerated() {
    byte[] newer = "{\"id\":7,\"name\":\"n\",\"addedInV2\":{\"deep\":[1,2]}}".getBytes(StandardCharsets.UTF_8);

    assertThat(items.decode(newer)).isEqualTo(new Item(7, "n"));
  }

  @Test
  void callersMapperConfigurationIsRespected() {
    // A plain ObjectMapper fails on unknown properties: proves the leniency above comes from the default mapper.
    JsonCodec<Item> strict = JsonCodec.of(Item.class, new ObjectMapper());
    byte[] newer = "{\"id\":7,\"name\":\"n\",\"addedInV2\":true}".getBytes(StandardCharsets.UTF_8);

    assertThatThrownBy(() -> strict.decode(newer)).isInstanceOf(CodecException.class);
  }

  @Test
  void mapperChangesAfterCreationDoNotAffectTheCodec() {
    ObjectMapper mapper = new ObjectMapper();
    JsonCodec<Item> codec = JsonCodec.of(Item.class, mapper);
    mapper.configure(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

    assertThatThrownBy(() -> codec.decode("{\"id\":1,\"extra\":1}".getBytes(StandardCharsets.UTF_8)))
        .isInstanceOf(CodecException.class);
  }

  @Test
  void everyTruncationIsACodecException() {
    byte[] encoded = items.encode(new Item(123, "some name"));
    for (int length = 0; length < encoded.length; length++) {
      byte[] truncated = Arrays.copyOf(encoded, length);
      assertThatThrownBy(() -> items.decode(truncated))
          .as("prefix of %d bytes", length)
          .isInstanceOf(CodecException.class)
          .hasMessageContaining(Item.class.getName());
    }
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "[1,2]", // wrong JSON type: array for an object
        "\"text\"",
        "42",
        "true",
        "{\"id\":\"not a number\",\"name\":\"n\"}",
        "{\"id\":1,\"name\":{\"nested\":true}}",
        "null", // a valid document, but the contract forbids null
        "{\"id\":1,\"name\":\"n\"} trailing",
        "{\"id\":1,\"name\":\"n\"}{\"id\":2}",
        "{id:1}",
        ""
      })
  void malformedOrMismatchedJsonIsACodecException(String json) {
    assertThatThrownBy(() -> items.decode(json.getBytes(StandardCharsets.UTF_8)))
        .isInstanceOf(CodecException.class);
  }

  @Test
  void invalidUtf8AndRandomBytesOnlyEverThrowCodecException() {
    assertThatThrownBy(() -> items.decode(new byte[] {'{', '"', (byte) 0xC3, '"', ':', '1', '}'}))
        .isInstanceOf(CodecException.class);
    Random random = new Random(42);
    byte[] valid = items.encode(new Item(5, "five"));
    for (int i = 0; i < 2_000; i++) {
      byte[] input;
      if (i % 2 == 0) {
        input = new byte[random.nextInt(64)];
        random.nextBytes(input);
      } else {
        input = valid.clone();
        input[random.nextInt(input.length)] = (byte) random.nextInt(256);
      }
      try {
        assertThat(items.decode(input)).isNotNull();
      } catch (CodecException expected) {
        // the only exception the contract allows
      }
    }
  }

  @Test
  void exceptionsFromConstructorsBecomeCodecExceptions() {
    JsonCodec<Positive> codec = JsonCodec.of(Positive.class);

    assertThatThrownBy(() -> codec.decode("{\"value\":-1}".getBytes(StandardCharsets.UTF_8)))
        .isInstanceOf(CodecException.class);
  }

  @Test
  void decodeFailureDoesNotQuoteTheInputAnywhereInTheStackTrace() throws Exception {
    byte[] json = "{\"id\":\"alice@example.com\",\"name\":\"n\"}".getBytes(StandardCharsets.UTF_8);
    // The control: Jackson itself quotes the offending value, so the codec must not pass its message on.
    Exception raw = catchThrowableOfType(Exception.class, () -> new ObjectMapper().readValue(json, Item.class));
    assertThat(raw.getMessage()).contains("alice@example.com");

    CodecException e = catchThrowableOfType(CodecException.class, () -> items.decode(json));

    assertThat(stackTrace(e)).doesNotContain("alice@example.com").contains("InvalidFormatException");
    assertThat(e.getMessage()).contains(Item.class.getName()).contains("line 1");
  }

  @Test
  void encodeFailuresAreCodecExceptionsWithoutTheirMessages() {
    JsonCodec<FailingGetter> codec = JsonCodec.of(FailingGetter.class);

    CodecException e = catchThrowableOfType(CodecException.class, () -> codec.encode(new FailingGetter()));

    assertThat(e).isNotNull();
    assertThat(stackTrace(e)).doesNotContain("secret-in-getter-message").contains("IllegalStateException");
  }

  @Test
  void typeNamesInTheDataDoNotChooseTheClass() {
    // With default typing on, this array would be read as a java.net.URL; the default mapper reads plain JSON.
    JsonCodec<Object> anything = JsonCodec.of(Object.class);

    Object decoded = anything.decode("[\"java.net.URL\",\"http://example.com\"]".getBytes(StandardCharsets.UTF_8));

    assertThat(decoded).isInstanceOf(List.class);
  }

  @Test
  void nullArgumentsAreRejected() {
    assertThat(catchThrowable(() -> JsonCodec.of((Class<Item>) null))).isInstanceOf(NullPointerException.class);
    assertThat(catchThrowable(() -> JsonCodec.of(Item.class, null))).isInstanceOf(NullPointerException.class);
  }

  private static String stackTrace(Throwable t) {
    StringWriter out = new StringWriter();
    t.printStackTrace(new PrintWriter(out));
    return out.toString();
  }
}
