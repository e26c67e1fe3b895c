package dev.tiercache.redis.history;

import dev.tiercache.redis.testing.TcpProxy;
import dev.tiercache.redis.testing.TcpProxy.Mode;
import dev.tiercache.redis.history.Workload.Fault;
import dev.tiercache.redis.history.Workload.FaultContext;
import dev.tiercache.redis.testing.RedisExtension;
import io.lettuce.core.KillArgs;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.output.StatusOutput;
import io.lettuce.core.protocol.CommandArgs;
import io.lettuce.core.protocol.CommandType;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.function.Function;

/**
 * The faults of issue 9, injected into real processes: a redis-server the fixture owns, and a {@link TcpProxy}.
 * Each fault brings Redis back before it returns, and records its window in the history.
 */
final class Faults {

  /**
   * When and how long faults last.
   *
   * @param run the whole run
   * @param faultAt when the fault begins, after the run began
   * @param faultFor how long a freeze, slow-down or cut lasts
   * @param pubSubEvery how often pub/sub connections are killed
   * @param down how long a stopped Redis stays down
   */
  record Timing(Duration run, Duration faultAt, Duration faultFor, Duration pubSubEvery, Duration down) {

    /** The short form for CI, unless {@code -Dhistory.seconds=N} asks for runs of N seconds (issue 9's faults). */
    static Timing fromSystemProperties() {
      long seconds = Long.getLong("history.seconds", 0);
      if (seconds <= 0) {
        return new Timing(Duration.ofMillis(4_000), Duration.ofMillis(800), Duration.ofMillis(1_800),
            Duration.ofMillis(700), Duration.ofMillis(1_100));
      }
      Duration run = Duration.ofSeconds(Math.max(seconds, 6));
      Duration third = run.dividedBy(3);
      return new Timing(run, third, third.compareTo(Duration.ofSeconds(5)) < 0 ? third : Duration.ofSeconds(5),
          Duration.ofSeconds(3), Duration.ofMillis(1_100));
    }

    boolean isShort() {
      return Long.getLong("history.seconds", 0) <= 0;
    }
  }

  private static final long CLIENT_PAUSE_MS = 500;

  private Faults() {}

  /** Redis stopped, down for {@code down}, started again empty. */
  static Fault restartEmpty(RedisExtension redis, Timing timing) {
    return context -> during(context, timing, "stopped, restarted empty", redis::stop, timing.down(), redis::start);
  }

  /** Redis frozen with SIGSTOP for {@code faultFor}, then SIGCONT. */
  static Fault freeze(RedisExtension redis, Timing timing) {
    return context ->
        during(context, timing, "frozen (SIGSTOP)", redis::freeze, timing.faultFor(), redis::unfreeze);
  }

  /** At {@code faultAt}: {@code begin}, {@code hold} of work, then {@code end} (even if the work failed). */
  private static void during(
      FaultContext context, Timing timing, String what, Runnable begin, Duration hold, Runnable end) {
    context.at(timing.faultAt());
    long from = System.nanoTime();
    begin.run();
    try {
      context.hold(hold);
    } finally {
      end.run();
      context.window(what, from);
    }
  }

  /**
   * Redis slowed for {@code faultFor}: {@code CLIENT PAUSE 500} re-issued back to back. The pausing client's next
   * command is answered only when its pause is over, so each re-issue starts the next pause as the last one ends.
   */
  static Fault clientPause(RedisURI admin, Timing timing) {
    return context -> {
      context.at(timing.faultAt());
      withAdmin(admin, c -> {
        long from = System.nanoTime();
        long until = from + timing.faultFor().toNanos() - Duration.ofMillis(CLIENT_PAUSE_MS).toNanos();
        int pauses = (int) (timing.faultFor().toMillis() / CLIENT_PAUSE_MS) + 1;
        for (int i = 0; i < pauses && (i == 0 || System.nanoTime() < until); i++) {
          c.clientPause(CLIENT_PAUSE_MS);
        }
        c.ping(); // answered when the last pause is over
        context.window("CLIENT PAUSE " + CLIENT_PAUSE_MS + " ms, re-issued", from);
        return null;
      });
    };
  }

  /** Every pub/sub connection killed ({@code CLIENT KILL TYPE pubsub}) every {@code pubSubEvery}, until 1.5 s before the end. */
  static Fault killPubSub(RedisURI admin, Timing timing) {
    return context -> {
      context.at(timing.faultAt());
      withAdmin(admin, c -> {
        long from = System.nanoTime();
        long last = context.runEnd() - Duration.ofMillis(1_500).toNanos();
        int kills = 0;
        for (long next = from; next < last && kills < 10_000; next += timing.pubSubEvery().toNanos()) {
          Workload.parkUntil(next);
          c.clientKill(KillArgs.Builder.typePubsub());
          kills++;
        }
        context.window(kills + " pub/sub kills", from);
        return null;
      });
    };
  }

  /**
   * A restore of an older snapshot by restart: {@code SAVE}, {@code faultFor} of work, then Redis stopped (it saves
   * nothing on the way down) and started from that older dump.rdb. The dump is deleted afterwards.
   */
  static Fault restoreSnapshotByRestart(RedisExtension redis, Timing timing) {
    return context -> {
      context.at(timing.faultAt());
      Path dump = withAdmin(redis.uri(), Faults::save);
      long from = System.nanoTime();
      try {
        context.hold(timing.faultFor());
        redis.stop();
      } finally {
        redis.start();
        long loaded = withAdmin(redis.uri(), c -> c.dbsize());
        context.window("restarted from a snapshot " + timing.faultFor().toMillis() + " ms old (" + loaded
            + " keys loaded)", from);
        deleteQuietly(dump);
      }
    };
  }

  /**
   * A restore of an older snapshot in place: {@code SAVE}, {@code faultFor} of work, then
   * {@code DEBUG RELOAD NOSAVE}: Redis replaces its data with the older dump while every connection stays open.
   */
  static Fault restoreSnapshotByReload(RedisURI admin, Timing timing) {
    return context -> {
      context.at(timing.faultAt());
      withAdmin(admin, c -> {
        Path dump = save(c);
        long from = System.nanoTime();
        try {
          context.hold(timing.faultFor());
          String reply = c.dispatch(CommandType.DEBUG, new StatusOutput<>(StringCodec.UTF8),
              new CommandArgs<>(StringCodec.UTF8).add("RELOAD").add("NOSAVE"));
          if (!"OK".equals(reply)) {
            throw new IllegalStateException("DEBUG RELOAD NOSAVE answered " + reply);
          }
          context.window("DEBUG RELOAD NOSAVE of a snapshot " + timing.faultFor().toMillis() + " ms old ("
              + c.dbsize() + " keys loaded)", from);
        } finally {
          deleteQuietly(dump);
        }
        return null;
      });
    };
  }

  /** Instance 0, behind {@code proxy}, cut off from Redis for {@code faultFor} in {@code mode}, then reconnected. */
  static Fault cutOff(TcpProxy proxy, Mode mode, Timing timing) {
    return context -> during(context, timing, "instance 0 cut off (" + mode + ")", () -> proxy.mode(mode),
        timing.faultFor(), () -> proxy.mode(Mode.PASS));
  }

  private static Path save(RedisCommands<String, String> c) {
    String dir = c.configGet("dir").get("dir");
    String saved = c.save();
    if (!"OK".equals(saved)) {
      throw new IllegalStateException("SAVE answered " + saved);
    }
    return Path.of(dir).resolve("dump.rdb");
  }

  private static void deleteQuietly(Path file) {
    try {
      Files.deleteIfExists(file);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot delete the snapshot " + file, e);
    }
  }

  /** Runs admin commands on a connection of their own, with a 10 s command timeout. */
  static <T> T withAdmin(RedisURI uri, Function<RedisCommands<String, String>, T> commands) {
    RedisClient client = RedisClient.create(RedisURI.builder(uri).withTimeout(Duration.ofSeconds(10)).build());
    try (StatefulRedisConnection<String, String> connection = client.connect()) {
      return commands.apply(connection.sync());
    } finally {
      client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
  }
}
