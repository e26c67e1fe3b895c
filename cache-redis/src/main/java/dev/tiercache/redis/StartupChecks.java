package dev.tiercache.redis;

import static dev.tiercache.redis.KeySpace.bytes;

import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.ScanArgs;
import io.lettuce.core.ScanCursor;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a tier checks when it first reaches Redis (at creation, or later when Redis comes up): that the eviction
 * policy cannot evict the invalidation state safety depends on (DESIGN.md invariant 8), and that the user may run
 * every command the tier needs on its key namespace (issue 10 #11). Each problem is reported with what to change;
 * whether it only warns or refuses the tier is an option.
 */
final class StartupChecks {

  private static final Logger LOG = LoggerFactory.getLogger(RedisTier.class);

  /**
   * Runs, inside one script, every command the tier's scripts run, each under {@code pcall} so that one refusal does
   * not hide the next; returns "COMMAND: error" for each refused one. The keys are the tier's own (one hash tag) and
   * expire at once.
   */
  static final Script COMMANDS = new Script("""
      local refused = {}
      local function try(...)
        local r = redis.pcall(...)
        if type(r) == 'table' and r.err then
          refused[#refused + 1] = select(1, ...) .. ': ' .. r.err
        end
      end
      try('SET', KEYS[1], '1', 'PX', '10000')
      try('GET', KEYS[1])
      try('MGET', KEYS[1], KEYS[3])
      try('GETRANGE', KEYS[1], '0', '27')
      try('STRLEN', KEYS[1])
      try('EXISTS', KEYS[1])
      try('PEXPIRE', KEYS[1], '10000')
      try('HSET', KEYS[2], 'f', '1', 'g', '2')
      try('PEXPIRE', KEYS[2], '10000')
      try('HMGET', KEYS[2], 'f')
      try('HGET', KEYS[2], 'f')
      try('HDEL', KEYS[2], 'g')
      try('ZADD', KEYS[4], '1', 'm', '2', 'n', '3', 'o')
      try('PEXPIRE', KEYS[4], '10000')
      try('ZCARD', KEYS[4])
      try('ZCOUNT', KEYS[4], '-inf', '+inf')
      try('ZSCORE', KEYS[4], 'm')
      try('ZRANGE', KEYS[4], '0', '-1')
      try('ZRANGEBYSCORE', KEYS[4], '-inf', '+inf')
      try('ZREM', KEYS[4], 'o')
      try('ZPOPMIN', KEYS[4])
      try('ZREMRANGEBYSCORE', KEYS[4], '-inf', '+inf')
      try('TIME')
      try('PUBLISH', ARGV[1], '')
      try('DEL', KEYS[1])
      try('UNLINK', KEYS[2], KEYS[3], KEYS[4])
      return refused
      """);

  private final RedisConnections connections;
  private final RedisTierOptions options;
  private final Duration timeout;

  StartupChecks(RedisConnections connections, RedisTierOptions options) {
    this.connections = connections;
    this.options = options;
    this.timeout = options.probeTimeout();
  }

  /**
   * Checks, and reports what it found.
   *
   * @throws IllegalStateException if a check set to {@link RedisTierOptions.StartupCheck#FAIL} failed
   */
  void run() {
    List<String> failures = new ArrayList<>();
    if (options.evictionPolicyCheck() != RedisTierOptions.StartupCheck.IGNORE) {
      report(options.evictionPolicyCheck(), evictionPolicyProblem(), failures);
    }
    if (options.permissionCheck() != RedisTierOptions.StartupCheck.IGNORE) {
      report(options.permissionCheck(), permissionProblem(), failures);
    }
    if (!failures.isEmpty()) {
      throw new IllegalStateException(String.join("; ", failures));
    }
  }

  private static void report(RedisTierOptions.StartupCheck mode, String problem, List<String> failures) {
    if (problem == null) {
      return;
    }
    if (mode == RedisTierOptions.StartupCheck.FAIL) {
      failures.add(problem);
    } else {
      LOG.warn(problem);
    }
  }

  /** Null if safe or unknown (unknown is logged), else what is wrong and what to do. */
  String evictionPolicyProblem() {
    String policy;
    try {
      Map<String, String> config = call(c -> c.configGet("maxmemory-policy"));
      policy = config.get("maxmemory-policy");
    } catch (CheckFailed refused) {
      // CONFIG is often denied to application users; INFO memory tells the policy too.
      try {
        policy = infoField(call(c -> c.info("memory")), "maxmemory_policy");
      } catch (CheckFailed alsoRefused) {
        LOG.warn("could not check Redis's maxmemory-policy ({}; {}): make sure it is noeviction",
            refused.getMessage(), alsoRefused.getMessage());
        return null;
      }
    }
    if (policy == null || policy.equals("noeviction")) {
      return null;
    }
    String which = policy.startsWith("allkeys-") ? "any key" : "keys with a TTL, as tombstones and epochs have";
    return "Redis's maxmemory-policy is '" + LogText.safe(policy) + "', which evicts " + which
        + ": losing the invalidation state (tombstones, clocks, tag, prefix and pattern epochs) can let a stale value"
        + " back in. Set maxmemory-policy noeviction (give the cache its own Redis if others need eviction), or"
        + " RedisTierOptions.evictionPolicyCheck(IGNORE) to accept the risk";
  }

  /** Null if every needed command is allowed (or the check could not run, which is logged), else what is denied. */
  String permissionProblem() {
    String tag = options.namespace() + ":{tiercache-check}:m:";
    byte[][] keys = {bytes(tag + "s"), bytes(tag + "h"), bytes(tag + "set"), bytes(tag + "z")};
    byte[] channel = bytes(options.namespace() + ":hb:check");
    List<String> denied = new ArrayList<>();
    try {
      List<Object> refusedInside = optional(denied, "EVAL",
          c -> c.<List<Object>>eval(COMMANDS.body, ScriptOutputType.MULTI, keys, channel));
      if (refusedInside != null) {
        // Only refusals count: OOM or READONLY say nothing about the user's rights.
        refusedInside.stream().map(StartupChecks::text).filter(StartupChecks::deniesPermission)
            .forEach(r -> denied.add("in a script, " + r));
      }
      String sha = optional(denied, "SCRIPT LOAD", c -> c.scriptLoad(COMMANDS.body));
      optional(denied, "EVALSHA", c -> c.<List<Object>>evalsha(
          sha != null ? sha : COMMANDS.sha, ScriptOutputType.MULTI, keys, channel));
      optional(denied, "SCAN", c -> c.scan(ScanCursor.INITIAL,
          ScanArgs.Builder.matches(options.namespace() + ":{tiercache-check}:*").limit(10)));
      optional(denied, "UNLINK", c -> c.unlink(bytes(tag + "x")));
      optional(denied, "PUBLISH", c -> c.publish(channel, new byte[0]));
    } catch (CheckFailed unavailable) {
      LOG.warn("could not check the Redis user's permissions: {}", unavailable.getMessage());
      return null;
    }
    if (denied.isEmpty()) {
      return null;
    }
    return "the Redis user may not run commands Tiercache needs on its namespace '" + options.namespace() + ":*': "
        + String.join(", ", denied) + ". See the README's \"Limits and hardening\" for the ACL rules";
  }

  /** Runs a command; a refusal (NOPERM, unknown command) is recorded, anything else stops the checks. */
  private <T> T optional(
      List<String> denied,
      String command,
      Function<RedisClusterAsyncCommands<byte[], byte[]>, io.lettuce.core.RedisFuture<T>> call) throws CheckFailed {
    try {
      return call(call);
    } catch (CheckFailed e) {
      if (!e.refused) {
        throw e;
      }
      if (deniesPermission(e.getMessage())) {
        denied.add(command + " (" + e.getMessage() + ")");
      }
      return null;
    }
  }

  private <T> T call(Function<RedisClusterAsyncCommands<byte[], byte[]>, io.lettuce.core.RedisFuture<T>> command)
      throws CheckFailed {
    CompletableFuture<T> future = connections.call(c -> command.apply(c).toCompletableFuture());
    try {
      return future.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      throw new CheckFailed(LogText.safe(cause.getMessage()), cause instanceof RedisCommandExecutionException);
    } catch (TimeoutException e) {
      future.cancel(false);
      throw new CheckFailed("no answer within " + timeout, false);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CheckFailed("interrupted", false);
    }
  }

  /**
   * NOPERM (Redis 6.2 words it "The user executing the script can't ..." inside scripts), or a command renamed or
   * disabled on the server; other errors (OOM, READONLY) are not about rights.
   */
  static boolean deniesPermission(String message) {
    return message.contains("NOPERM") || message.contains("unknown command")
        || message.contains("The user executing the script");
  }

  private static String infoField(String info, String field) {
    return info.lines()
        .filter(l -> l.startsWith(field + ":"))
        .map(l -> l.substring(field.length() + 1).trim())
        .findFirst()
        .orElse(null);
  }

  private static String text(Object reply) {
    return LogText.safe(reply instanceof byte[] b ? new String(b, StandardCharsets.UTF_8) : String.valueOf(reply));
  }

  /** A check that could not run: refused by the server, or no answer. */
  private static final class CheckFailed extends Exception {
    private static final long serialVersionUID = 1L;
    final boolean refused;

    CheckFailed(String message, boolean refused) {
      super(message, null, false, false);
      this.refused = refused;
    }
  }
}
