package dev.tiercache.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.math.BigDecimal;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.springframework.cache.interceptor.SimpleKey;

class SpringKeyCodecTest {

  private final SpringKeyCodec codec = SpringKeyCodec.standard();

  enum Color { RED }

  public record Page(int number, int size) {}

  @Test
  void encodesTheDocumentedForms() {
    assertThat(codec.encode("user:42")).isEqualTo("user:42");
    assertThat(codec.encode("~x")).isEqualTo("~~x");
    assertThat(codec.encode(42L)).isEqualTo("~long:42");
    assertThat(codec.encode(42)).isEqualTo("~int:42");
    assertThat(codec.encode(new BigDecimal("1.50"))).isEqualTo("~decimal:1.50");
    assertThat(codec.encode(Color.RED)).isEqualTo("~enum:" + Color.class.getName() + ".RED");
    assertThat(codec.encode(LocalDate.of(2026, 11, 30))).isEqualTo("~time:LocalDate:2026-11-30");
    assertThat(codec.encode(new SimpleKey("a", 1L))).isEqualTo("~key(1:a,7:~long:1)");
    assertThat(codec.encode(SimpleKey.EMPTY)).isEqualTo("~key()");
    assertThat(codec.encode(new Page(0, 20)))
        .isEqualTo("~record:" + Page.class.getName() + "(6:~int:0,7:~int:20)");
    assertThat(codec.encode(new SimpleKey("a", null))).isEqualTo("~key(1:a,5:~null)");
  }

  @Test
  void keysThatAreNotEqualNeverShareAnEncoding() {
    List<Object> keys =
        List.of(
            "1", 1, 1L, (short) 1, 1.0, 1.0f, new BigDecimal("1"), new BigDecimal("1.0"), "~int:1", "~~int:1",
            new SimpleKey("a,1:b"), new SimpleKey("a", "b"), new SimpleKey("a", "1:b"), List.of("a", "b"),
            new Object[] {"a", "b"}, new int[] {1, 2}, new long[] {1, 2}, UUID.fromString(
                "00000000-0000-0000-0000-000000000001"), true, "true", 'c', "c", SimpleKey.EMPTY, "~key()");
    Set<String> encodings = new HashSet<>();
    for (Object key : keys) {
      assertThat(encodings.add(codec.encode(key))).as("encoding of %s is unique", key).isTrue();
    }
  }

  @Test
  void equalKeysShareAnEncodingWhateverTheirImplementation() {
    assertThat(codec.encode(new SimpleKey("a", 1L))).isEqualTo(codec.encode(new SimpleKey("a", 1L)));
    assertThat(codec.encode(new ArrayList<>(List.of("a", "b")))).isEqualTo(codec.encode(List.of("a", "b")));
    assertThat(codec.encode(new SimpleKey(new Object[] {new String[] {"x"}})))
        .isEqualTo(codec.encode(new SimpleKey(new Object[] {new Object[] {"x"}})));
  }

  @Test
  void refusesUnknownTypesUnlessGivenAFallback() {
    Object unknown = new StringBuilder("x");
    assertThatThrownBy(() -> codec.encode(unknown))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("java.lang.StringBuilder");
    assertThat(SpringKeyCodec.withFallback(Object::toString).encode(unknown)).isEqualTo("~other:x");
    assertThat(SpringKeyCodec.withFallback(Object::toString).encode(new SimpleKey(unknown, 2)))
        .isEqualTo("~key(8:~other:x,6:~int:2)");
  }

  @Test
  void prefixesOfStringKeysEncodeLikeTheKeys() {
    assertThat(codec.encodePrefix("user:")).isEqualTo("user:");
    assertThat(codec.encode("~user:1")).startsWith(codec.encodePrefix("~user"));
  }
}
