package dev.tiercache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tiercache.codec.CodecException;
import dev.tiercache.codec.ValueCodec;
import dev.tiercache.codec.ValueCodecs;
import dev.tiercache.spi.L2Entry;
import dev.tiercache.spi.L2Store;
import dev.tiercache.spi.L2Write;
import dev.tiercache.testkit.ForwardingL2Store;
import dev.tiercache.testkit.InMemoryL2Store;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * DESIGN.md invariant 7: no values in logs. The failure paths that log (L2 errors, undecodable entries) run with a
 * value holding a marker, while everything written to System.err (where slf4j-simple, the test binding, logs) is
 * captured; the marker must never appear. Each scenario also checks that its log line was captured at all, so the
 * test cannot pass by capturing nothing.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class NoValuesInLogsTest {

  private static final String MARKER = "SECRET-VALUE-42";
  private static final String VALUE = "name=Alice, card=" + MARKER;

  /** Runs {@code body} with System.err captured, and returns what was written to it. */
  private static String capturingStdErr(Runnable body) {
    PrintStream original = System.err;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
    try {
      body.run();
    } finally {
      System.err.flush();
      System.setErr(original);
    }
    return captured.toString(StandardCharsets.UTF_8);
  }

  private static TieredCache<String, String> cache(String name, L2Store store, ValueCodec<String> codec) {
    return TieredCache.<String, String>builder(name)
        .l2(store)
        .valueCodec(codec)
        .meterRegistry(new SimpleMeterRegistry())
        .executor(Runnable::run)
        .l2Timeout(Duration.ofSeconds(5))
        .build();
  }

  @Test
  void l2DownLogsNoValue() {
    InMemoryL2Store store = new InMemoryL2Store();
    try (TieredCache<String, String> cache = cache("logs-down", store, ValueCodecs.string())) {
      String log =
          capturingStdErr(
              () -> {
                store.setDown(true);
                assertThat(cache.get("user:1", k -> VALUE)).isEqualTo(VALUE);
                assertThatThrownBy(() -> cache.put("user:2", VALUE))
                    .isInstanceOf(InvalidationPendingException.class)
                    .satisfies(e -> assertThat(e.getMessage()).doesNotContain(MARKER).doesNotContain("user:2"));
                assertThat(cache.getAll(List.of("user:3"), keys -> Map.of("user:3", VALUE))).hasSize(1);
                assertThatThrownBy(() -> cache.invalidate(Invalidation.key("user:1")))
                    .isInstanceOf(InvalidationPendingException.class);
              });

      assertThat(log).contains("logs-down").doesNotContain(MARKER);
    }
  }

  @Test
  void l2FailureWhoseMessageQuotesTheValueLogsNoValue() {
    LeakyStore store = new LeakyStore();
    try (TieredCache<String, String> cache = cache("logs-leaky-put", store, ValueCodecs.string())) {
      String log =
          capturingStdErr(
              () -> {
                // The put fails, and the store's error quotes the value.
                assertThatThrownBy(() -> cache.put("user:1", VALUE))
                    .isInstanceOf(InvalidationPendingException.class)
                    .satisfies(e -> assertThat(e.getMessage()).doesNotContain(MARKER));
                assertThat(cache.get("user:2", k -> VALUE)).isEqualTo(VALUE); // write-back fails, quoting it
                assertThat(cache.getAll(List.of("user:3"), keys -> Map.of("user:3", VALUE))).hasSize(1);
              });

      assertThat(log).contains("logs-leaky-put").doesNotContain(MARKER);
    }
  }

  @Test
  void l2WriteBackFailureWhoseMessageQuotesTheValueLogsNoValue() {
    LeakyStore store = new LeakyStore();
    try (TieredCache<String, String> cache = cache("logs-leaky-load", store, ValueCodecs.string())) {
      String log = capturingStdErr(() -> assertThat(cache.get("user:2", k -> VALUE)).isEqualTo(VALUE));

      assertThat(log).contains("logs-leaky-load").doesNotContain(MARKER);
    }
  }

  @Test
  void undecodableBytesLogNoValue() {
    InMemoryL2Store store = new InMemoryL2Store();
    byte[] corrupt = (VALUE + "\u0000").getBytes(StandardCharsets.UTF_8);
    corrupt[corrupt.length - 1] = (byte) 0xFF; // not UTF-8 any more
    store.writeRaw("logs-corrupt", "user:1", new L2Entry("string", corrupt, Tags.empty()));
    try (TieredCache<String, String> cache = cache("logs-corrupt", store, ValueCodecs.string())) {
      String log = capturingStdErr(() -> assertThat(cache.get("user:1", k -> "reloaded")).isEqualTo("reloaded"));

      assertThat(log).contains("logs-corrupt").doesNotContain(MARKER);
    }
  }

  @Test
  void codecExceptionWhoseMessageQuotesTheBytesLogsNoValue() {
    InMemoryL2Store store = new InMemoryL2Store();
    store.writeRaw(
        "logs-codec", "user:1", new L2Entry("leaky", VALUE.getBytes(StandardCharsets.UTF_8), Tags.empty()));
    try (TieredCache<String, String> cache = cache("logs-codec", store, new LeakyCodec())) {
      String log =
          capturingStdErr(
              () -> {
                assertThat(cache.getIfPresent("user:1")).isNull();
                assertThat(cache.get("user:1", k -> "reloaded")).isEqualTo("reloaded");
              });

      assertThat(log).contains("logs-codec").doesNotContain(MARKER);
    }
  }

  @Test
  void foreignCodecEntryLogsNoValue() {
    InMemoryL2Store store = new InMemoryL2Store();
    store.writeRaw(
        "logs-foreign", "user:1", new L2Entry("java", VALUE.getBytes(StandardCharsets.UTF_8), Tags.empty()));
    try (TieredCache<String, String> cache = cache("logs-foreign", store, ValueCodecs.string())) {
      String log =
          capturingStdErr(
              () -> assertThat(cache.getAll(List.of("user:1"), keys -> Map.of())).isEmpty());

      assertThat(log).contains("logs-foreign").doesNotContain(MARKER);
    }
  }

  /** A string codec whose decode failures quote the bytes, as careless parsers do. */
  private static final class LeakyCodec implements ValueCodec<String> {
    @Override
    public String id() {
      return "leaky";
    }

    @Override
    public byte[] encode(String value) {
      return value.getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public String decode(byte[] bytes) {
      throw new CodecException(
          "unexpected token in '" + new String(bytes, StandardCharsets.UTF_8) + "'",
          new IllegalArgumentException("at: " + new String(bytes, StandardCharsets.UTF_8)));
    }
  }

  /** An L2 whose reads work and whose writes fail with a message that quotes the value, as a careless client's may. */
  private static final class LeakyStore extends ForwardingL2Store {
    LeakyStore() {
      super(new InMemoryL2Store());
    }

    private static <T> CompletableFuture<T> refuse(Collection<L2Entry> entries) {
      StringBuilder quoted = new StringBuilder("write refused for ");
      for (L2Entry entry : entries) {
        if (entry.value() != null) {
          quoted.append(new String(entry.value(), StandardCharsets.UTF_8)).append(' ');
        }
      }
      return CompletableFuture.failedFuture(new IllegalStateException(quoted.toString()));
    }

    @Override
    public CompletableFuture<Collection<String>> putIfCurrent(
        String cache, Map<String, L2Write> writes, Duration ttl) {
      return refuse(writes.values().stream().map(L2Write::entry).toList());
    }

    @Override
    public CompletableFuture<Void> put(String cache, String key, L2Entry entry, Duration ttl) {
      return refuse(List.of(entry));
    }
  }
}
