package dev.tiercache.spring.sample;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tiercache.redis.testing.RedisExtension;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The sample runs as documented, so the README's command keeps working. */
class TwoInstancesTest {

  @RegisterExtension static RedisExtension redis = RedisExtension.standalone();

  @Test
  void theSampleTellsItsStory() throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    long millis = TwoInstances.run(redis.host(), redis.port(), new PrintStream(bytes, true, StandardCharsets.UTF_8), 1_000);
    String story = bytes.toString(StandardCharsets.UTF_8);
    assertThat(story)
        .contains("database reads on instance-2: 0")
        .contains("16 concurrent readers of book 2 on instance-2: 1 database read")
        .contains("instance-2 reads book 1: Dune Messiah");
    assertThat(millis).isLessThan(2_000);
  }
}
