package dev.tiercache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tiercache.codec.CodecException;
import dev.tiercache.codec.ValueCodec;
import dev.tiercache.testkit.InMemoryL2Store;
import dev.tiercache.testkit.TestCodec;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Values a bulk load brings carry the call's tags, in both tiers; and a codec's refusal does not depend on the L2. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class TaggedGetAllTest {

  private final InMemoryL2Store store = new InMemoryL2Store();
  private final AtomicInteger bulkCalls = new AtomicInteger();

  private TieredCache<String, String> node() {
    return TieredCache.<String, String>builder("tagged-getall")
        .keyCodec(k -> k)
        .l2(store)
        .valueCodec(TestCodec.STRING)
        .build();
  }

  private Map<String, String> load(java.util.Set<String> keys) {
    bulkCalls.incrementAndGet();
    Map<String, String> values = new HashMap<>();
    keys.forEach(k -> values.put(k, "v" + bulkCalls.get() + ":" + k));
    return values;
  }

  @Test
  void aTagInvalidationRemovesWhatABulkLoadTaggedInBothTiers() {
    TieredCache<String, String> a = node();
    assertThat(a.getAll(List.of("1", "2"), Tags.of("table:users"), this::load))
        .containsExactly(Map.entry("1", "v1:1"), Map.entry("2", "v1:2"));
    assertThat(a.getAll(List.of("3"), this::load)).containsEntry("3", "v2:3");

    a.invalidate(Invalidation.tag("table:users"));

    TieredCache<String, String> fresh = node();
    assertThat(fresh.getAll(List.of("1", "2", "3"), Tags.of("table:users"), this::load))
        .containsExactly(Map.entry("1", "v3:1"), Map.entry("2", "v3:2"), Map.entry("3", "v2:3"));
    assertThat(a.getAll(List.of("1", "3"), this::load)).containsEntry("1", "v3:1").containsEntry("3", "v2:3");
    assertThat(bulkCalls).hasValue(3);
  }

  @Test
  void aValueTheCodecRejectsFailsEvenWhenTheL2IsDown() {
    ValueCodec<String> picky =
        new ValueCodec<>() {
          @Override
          public String id() {
            return "picky";
          }

          @Override
          public byte[] encode(String value) {
            if (value.contains("!")) {
              throw new CodecException("not encodable");
            }
            return TestCodec.STRING.encode(value);
          }

          @Override
          public String decode(byte[] bytes) {
            return TestCodec.STRING.decode(bytes);
          }
        };
    TieredCache<String, String> cache =
        TieredCache.<String, String>builder("picky").keyCodec(k -> k).l2(store).valueCodec(picky).build();
    store.setDown(true);
    assertThatThrownBy(() -> cache.get("k", k -> "bad!")).isInstanceOf(CodecException.class);
    assertThatThrownBy(() -> cache.getAll(List.of("k"), keys -> Map.of("k", "bad!")))
        .isInstanceOf(CodecException.class);
    assertThat(cache.getIfPresent("k")).isNull();
  }
}
