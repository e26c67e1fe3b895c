package dev.tiercache.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tiercache.redis.testing.RedisExtension;
import io.lettuce.core.ScriptOutputType;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Review s8-review2 (holds): the scripts' numbers at the end of the clock, in the server's own Lua. ver() reads every
 * 16-digit figure up to 2^53 - 1 exactly and refuses every one above (tonumber rounds 2^53 + 1 to 2^53, still
 * above), and the two ways the scripts print versions give 16 exact digits there.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class RedisLuaEndNumbersTest {

  @RegisterExtension static final RedisExtension REDIS = RedisExtension.standalone();

  private static TierSession session;

  @BeforeAll
  static void connect() {
    session = new TierSession(REDIS.uri());
  }

  @AfterAll
  static void disconnect() {
    session.close();
  }

  private static String lua(String body) {
    List<Object> out = session.redis.eval(LuaLib.NUMBERS + body, ScriptOutputType.MULTI, new String[0]);
    return String.valueOf(out.get(0));
  }

  private static String ver(String text) {
    return lua("local n = ver('" + text + "')\nreturn {n and num(n) or 'nil'}");
  }

  @Test
  void verAtTheEnd() {
    assertThat(ver("9007199254740991")).isEqualTo("9007199254740991");
    assertThat(ver("9007199254740990")).isEqualTo("9007199254740990");
    assertThat(ver("9007199254740989")).isEqualTo("9007199254740989");
    assertThat(ver("9007199254740992")).isEqualTo("nil");
    assertThat(ver("9007199254740993")).isEqualTo("nil");
    assertThat(ver("9007199254740994")).isEqualTo("nil");
    assertThat(ver("9999999999999999")).isEqualTo("nil");
    assertThat(ver("09007199254740991")).isEqualTo("nil");
    assertThat(ver("0000000000000000")).isEqualTo("0");
    assertThat(ver("-1")).isEqualTo("nil");
    assertThat(ver("1e15")).isEqualTo("nil");
    assertThat(ver("0x1F")).isEqualTo("nil");
  }

  @Test
  void printedVersionsAtTheEnd() {
    assertThat(lua("return {num(VMAX)}")).isEqualTo("9007199254740991");
    assertThat(lua("return {string.format('%016.0f', VMAX - 1)}")).isEqualTo("9007199254740990");
    assertThat(lua("return {string.format('%016.0f', VMAX - 2)}")).isEqualTo("9007199254740989");
    assertThat(lua("return {string.format('%016.0f', 5)}")).isEqualTo("0000000000000005");
    assertThat(lua("return {num(math.min(math.max(VMAX - 2 + 1, 1700000000000000), VMAX - 1))}"))
        .isEqualTo("9007199254740990");
    // What the Java side parses back is the same figure.
    assertThat(EntryFormat.parseVersion("9007199254740991".getBytes())).isEqualTo(SeenVersions.MAX_VERSION);
    assertThat(EntryFormat.parseVersion("9007199254740992".getBytes())).isEqualTo(-1);
  }
}
