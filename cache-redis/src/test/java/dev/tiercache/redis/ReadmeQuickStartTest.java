package dev.tiercache.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tiercache.Invalidation;
import dev.tiercache.Tags;
import dev.tiercache.TieredCache;
import dev.tiercache.codec.JsonCodec;
import dev.tiercache.codec.KeyCodec;
import dev.tiercache.redis.testing.RedisExtension;
import io.lettuce.core.RedisClient;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The README's quick start, compiled and run against a real Redis; the README's copy must match this one. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class ReadmeQuickStartTest {

  @RegisterExtension static final RedisExtension REDIS = RedisExtension.standalone();

  /** The quick start's value type. */
  public record User(long id, String name) {}

  /** Stands for the application's repository. */
  static final class Repository {
    final AtomicInteger finds = new AtomicInteger();

    User find(long id) {
      finds.incrementAndGet();
      return new User(id, "Ada");
    }
  }

  @Test
  void theQuickStartRunsAsWritten() {
    String redisUri = REDIS.uri().toURI().toString();
    Repository repository = new Repository();
    // README:begin
    RedisClient redisClient = RedisClient.create(redisUri);
    redisClient.setOptions(RedisTier.recommendedClientOptions());
    RedisTier redis = RedisTier.create(redisClient);

    TieredCache<String, User> users = TieredCache.<String, User>builder("users")
        .keyCodec(KeyCodec.identity())
        .l1(l1 -> l1.maximumSize(10_000).expireAfterWrite(Duration.ofMinutes(1)))
        .l2(redis)                                 // Redis as L2, with its Pub/Sub bus for the other instances
        .valueCodec(JsonCodec.of(User.class))
        .l2Ttl(Duration.ofMinutes(30)).ttlJitter(0.1)
        .build();

    User user = users.get("user:42", Tags.of("tenant:7"), key -> repository.find(42));
    users.invalidate(Invalidation.key("user:42"));            // exactly this key
    users.invalidate(Invalidation.prefix("user:4"));          // every key starting with "user:4" (literally)
    users.invalidate(Invalidation.tag("tenant:7"));           // every entry tagged tenant:7
    users.invalidate(Invalidation.pattern("user:*:profile")); // a Redis-style glob

    users.close();
    redis.close();
    redisClient.shutdown();
    // README:end
    assertThat(user).isEqualTo(new User(42, "Ada"));
    assertThat(repository.finds).hasValue(1);
  }

  @Test
  void theReadmeShowsExactlyThisCode() throws IOException {
    String readme = Files.readString(Path.of("..", "README.md"));
    Matcher block = Pattern.compile("## Quick start.*?```java\\n(.*?)```", Pattern.DOTALL).matcher(readme);
    assertThat(block.find()).as("README.md has a java block under '## Quick start'").isTrue();
    String source =
        Files.readString(Path.of("src/test/java/dev/tiercache/redis/ReadmeQuickStartTest.java"));
    Matcher here = Pattern.compile("// README:begin\\n(.*?)\\s*// README:end", Pattern.DOTALL).matcher(source);
    assertThat(here.find()).isTrue();
    assertThat(normalise(block.group(1))).isEqualTo(normalise(here.group(1)));
  }

  /** Indentation and blank lines differ between a README and a method body; the code must not. */
  private static String normalise(String code) {
    return code.lines().map(String::strip).filter(l -> !l.isEmpty()).reduce("", (a, b) -> a + b + "\n");
  }
}
