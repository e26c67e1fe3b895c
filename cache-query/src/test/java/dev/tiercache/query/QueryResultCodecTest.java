package dev.tiercache.query;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tiercache.codec.CodecException;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The L2 format of query results: row classes come from an allow-list, never from the bytes. */
class QueryResultCodecTest {

  record User(long id, String name) {}

  record Secret(String value) {}

  private final QueryResultCodec codec = QueryResultCodec.json(new ObjectMapper(), User.class);

  @Test
  void rowsOfSeveralAllowedTypesAndNullsRoundTrip() {
    QueryResult result =
        new QueryResult(Arrays.asList(new User(1, "alice"), 7L, "x", null, new BigDecimal("1.50")), 1234L);
    QueryResult back = codec.decode(codec.encode(result));
    assertThat(back.rows()).containsExactly(new User(1, "alice"), 7L, "x", null, new BigDecimal("1.50"));
    assertThat(back.expiresAtMillis()).isEqualTo(1234L);
  }

  @Test
  void aRowOfAClassNotGivenIsRefusedWhenEncodedAndWhenDecoded() {
    assertThatThrownBy(() -> codec.encode(new QueryResult(List.of(new Secret("s")), QueryResult.NEVER)))
        .isInstanceOf(CodecException.class)
        .hasMessageContaining(Secret.class.getName())
        .hasMessageNotContaining("\"s\"");
    byte[] foreign = QueryResultCodec.json(new ObjectMapper(), Secret.class)
        .encode(new QueryResult(List.of(new Secret("s")), QueryResult.NEVER));
    assertThatThrownBy(() -> codec.decode(foreign)).isInstanceOf(CodecException.class).hasMessageContaining("not allowed");
  }

  @Test
  void malformedBytesAreACodecException() {
    for (String bad : List.of("", "null", "[]", "{\"exp\":1}", "{\"exp\":1,\"types\":[],\"rows\":[[0,{}]]}",
        "{\"exp\":1,\"types\":[\"java.lang.Runtime\"],\"rows\":[]}", "{\"exp\":1,\"types\":[],\"rows\":[[\"x\"]]}")) {
      assertThatThrownBy(() -> codec.decode(bad.getBytes(StandardCharsets.UTF_8)))
          .as(bad)
          .isInstanceOf(CodecException.class);
    }
  }
}
