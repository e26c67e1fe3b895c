package dev.tiercache.testkit;

import dev.tiercache.codec.ValueCodec;
import java.nio.charset.StandardCharsets;

/** A plain UTF-8 string codec for tests that must not depend on the production codecs. */
public final class TestCodec implements ValueCodec<String> {

  /** The shared instance. */
  public static final TestCodec STRING = new TestCodec();

  private TestCodec() {}

  @Override
  public String id() {
    return "string";
  }

  @Override
  public byte[] encode(String value) {
    return value.getBytes(StandardCharsets.UTF_8);
  }

  @Override
  public String decode(byte[] bytes) {
    return new String(bytes, StandardCharsets.UTF_8);
  }
}
