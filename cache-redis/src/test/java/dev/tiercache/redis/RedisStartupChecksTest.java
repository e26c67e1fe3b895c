package dev.tiercache.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.tiercache.redis.RedisTierOptions.StartupCheck;
import dev.tiercache.redis.testing.RedisExtension;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Issue 9 ("check maxmemory-policy at start-up") and issue 10 #11/#12: a tier checks, when it first reaches Redis,
 * that eviction cannot remove its invalidation state and that its user may run what it needs; it names the problem
 * instead of running silently on the loaders.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RedisStartupChecksTest {

  @RegisterExtension
  static final RedisExtension REDIS = RedisExtension.standalone().withProcessControl();

  private final List<RedisClient> clients = new ArrayList<>();

  @AfterEach
  void reset() {
    clients.forEach(c -> c.shutdown(Duration.ZERO, Duration.ofSeconds(2)));
    if (REDIS.node(0).isRunning()) {
      admin("CONFIG SET maxmemory-policy noeviction");
      admin("ACL DELUSER limited");
    }
  }

  @Test
  void anEvictingPolicyIsRefusedWhenSetToFailAndNamedWithItsFix() {
    for (String policy : List.of("allkeys-lru", "volatile-ttl")) {
      admin("CONFIG SET maxmemory-policy " + policy);
      RedisTierOptions options = RedisTierOptions.builder().evictionPolicyCheck(StartupCheck.FAIL).build();

      assertThatThrownBy(() -> RedisTier.create(client(REDIS.uri()), options))
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("'" + policy + "'")
          .hasMessageContaining("maxmemory-policy noeviction");
    }
    // Warning (the default) or ignoring lets the tier start.
    RedisTier.create(client(REDIS.uri())).close();
    RedisTier.create(client(REDIS.uri()), RedisTierOptions.builder()
        .evictionPolicyCheck(StartupCheck.IGNORE).build()).close();
  }

  @Test
  void aUserWithoutConfigRightsStillHasThePolicyCheckedThroughInfo() {
    admin("CONFIG SET maxmemory-policy allkeys-random");
    admin("ACL SETUSER limited on >secret ~tiercache:* &* +@all -config");
    RedisTierOptions options = RedisTierOptions.builder().evictionPolicyCheck(StartupCheck.FAIL).build();

    assertThatThrownBy(() -> RedisTier.create(client(limitedUser()), options))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("'allkeys-random'");
  }

  @Test
  void aUserWithoutEvalshaOrScanIsRefusedWithTheMissingPermissionsNamed() {
    admin("ACL SETUSER limited on >secret ~tiercache:* &* +@all -evalsha -scan");

    assertThatThrownBy(() -> RedisTier.create(client(limitedUser())))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("EVALSHA (NOPERM")
        .hasMessageContaining("SCAN (NOPERM")
        .hasMessageNotContaining("EVAL (")
        .hasMessageContaining("Limits and hardening");
  }

  @Test
  void aCommandOnlyTheScriptsRunIsCheckedInsideAScript() {
    admin("ACL SETUSER limited on >secret ~tiercache:* &* +@all -zadd");

    assertThatThrownBy(() -> RedisTier.create(client(limitedUser())))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("in a script, ZADD: ")
        .hasMessageNotContaining("EVAL (");
  }

  @Test
  void aUserLimitedToOtherKeysIsRefused() {
    admin("ACL SETUSER limited on >secret ~other:* &* +@all");

    assertThatThrownBy(() -> RedisTier.create(client(limitedUser())))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("EVAL (NOPERM");
  }

  @Test
  void aUserWithEveryNeededRightStarts() throws Exception {
    admin("ACL SETUSER limited on >secret ~tiercache:* resetchannels &tiercache:* -@all +evalsha +eval +script|load +scan"
        + " +unlink +publish +subscribe +unsubscribe +ping +get +mget +getrange +strlen +exists +set +pexpire +hset +hmget +hget +hdel"
        + " +zadd +zcard +zcount +zscore +zrange +zrangebyscore +zrem +zpopmin +zremrangebyscore +time +del"
        + " +info +hello +client");
    try (RedisTier tier = RedisTier.create(client(limitedUser()));
        var subscription = tier.bus().subscribe("acl", new RecordingListener())) {
      // Subscribing does not wait for Redis to confirm; until it has, a heartbeat fails ("not subscribed").
      await().atMost(Duration.ofSeconds(10))
          .pollInterval(Duration.ofMillis(20)).ignoreExceptions()
          .until(() -> tier.bus().heartbeat("acl").get(1, TimeUnit.SECONDS) != null);
      assertThat(tier.get("acl", "k").get(5, TimeUnit.SECONDS).entry()).isNull();
      // Every script the cache runs works with exactly these rights: writes, each kind of invalidation, reads.
      try (dev.tiercache.TieredCache<String, String> cache =
          dev.tiercache.TieredCache.<String, String>builder("acl-e2e").keyCodec(k -> k).l2(tier)
              .valueCodec(dev.tiercache.codec.ValueCodecs.string()).build()) {
        cache.put("user:1", "v1", dev.tiercache.Tags.of("t"));
        for (dev.tiercache.Invalidation invalidation : java.util.List.of(
            dev.tiercache.Invalidation.key("user:1"), dev.tiercache.Invalidation.tag("t"),
            dev.tiercache.Invalidation.prefix("user:"), dev.tiercache.Invalidation.pattern("user:*"),
            dev.tiercache.Invalidation.all())) {
          cache.invalidate(invalidation);
        }
        assertThat(cache.get("user:1", k -> "loaded")).isEqualTo("loaded");
        assertThat(tier.get("acl-e2e", "user:1").get(5, TimeUnit.SECONDS).isHit()).as("written back").isTrue();
      }
    }
  }

  /**
   * Review of the MGET read path: the README's least-privilege user, as written there, must be able to read. A read
   * now starts with a plain MGET from the client, which that user needs the right to send.
   */
  @Test
  void theReadmesLeastPrivilegeUserStartsAndReads() throws Exception {
    String readme = java.nio.file.Files.readString(java.nio.file.Path.of("..", "README.md"));
    java.util.regex.Matcher block =
        java.util.regex.Pattern.compile("A least-privilege user:\\s*```\\s*(ACL SETUSER .*?)```", java.util.regex.Pattern.DOTALL)
            .matcher(readme);
    assertThat(block.find()).as("README.md shows a least-privilege ACL SETUSER").isTrue();
    admin(block.group(1).trim().replaceAll("\\s+", " ").replace("ACL SETUSER app ", "ACL SETUSER limited "));

    try (RedisTier tier = RedisTier.create(client(limitedUser()))) {
      assertThat(tier.get("acl", "k").get(5, TimeUnit.SECONDS).entry()).isNull();
      assertThat(tier.getAll("acl", List.of("k", "j")).get(5, TimeUnit.SECONDS)).hasSize(2);
    }
  }

  @Test
  void aProblemFoundWhenRedisComesUpLaterRefusesTheTierInsteadOfThrowingIntoNowhere() throws Exception {
    REDIS.stop();
    RedisTier tier = RedisTier.create(client(REDIS.uri()), RedisTierOptions.builder()
        .connectRetryInterval(Duration.ofSeconds(3))
        .evictionPolicyCheck(StartupCheck.FAIL)
        .build());
    try {
      REDIS.start();
      admin("CONFIG SET maxmemory-policy volatile-lru");
      await().atMost(Duration.ofSeconds(15)).untilAsserted(() ->
          assertThatThrownBy(() -> tier.get("c", "k").get(2, TimeUnit.SECONDS))
              .isInstanceOf(ExecutionException.class)
              .hasCauseInstanceOf(IllegalStateException.class)
              .hasMessageContaining("volatile-lru"));
    } finally {
      tier.close();
    }
  }

  private RedisURI limitedUser() {
    RedisURI uri = REDIS.uri();
    uri.setUsername("limited");
    uri.setPassword("secret".toCharArray());
    return uri;
  }

  private RedisClient client(RedisURI uri) {
    RedisClient client = RedisClient.create(uri);
    client.setOptions(RedisTier.recommendedClientOptions());
    clients.add(client);
    return client;
  }

  private static void admin(String command) {
    RedisClient client = RedisClient.create(REDIS.uri());
    try (StatefulRedisConnection<String, String> connection = client.connect()) {
      String[] parts = command.split(" ");
      connection.sync().dispatch(
          io.lettuce.core.protocol.CommandType.valueOf(parts[0]),
          new io.lettuce.core.output.NestedMultiOutput<>(io.lettuce.core.codec.StringCodec.UTF8),
          new io.lettuce.core.protocol.CommandArgs<>(io.lettuce.core.codec.StringCodec.UTF8)
              .addValues(List.of(parts).subList(1, parts.length)));
    } finally {
      client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
  }
}
