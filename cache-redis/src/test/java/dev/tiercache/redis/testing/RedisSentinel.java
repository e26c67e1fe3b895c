package dev.tiercache.redis.testing;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.output.ArrayOutput;
import io.lettuce.core.protocol.CommandArgs;
import io.lettuce.core.protocol.CommandType;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * One Redis Sentinel process on a loopback port, monitoring a master the caller runs (for example a
 * {@link RedisExtension#standalone()} with process control). Launched from the same binary chain as the other
 * fixtures; closed by the caller, and killed with the JVM at the latest.
 */
public final class RedisSentinel implements AutoCloseable {

  /** The name the sentinel knows the master by. */
  public static final String MASTER = "tiercache-master";

  private final Process process;
  private final int port;
  private final Path dir;

  private RedisSentinel(Process process, int port, Path dir) {
    this.process = process;
    this.port = port;
    this.dir = dir;
  }

  /**
   * Starts a sentinel that monitors a master, and waits (at most 15 s) until it reports the master's address.
   *
   * @param master the master's URI (host and port)
   * @return the running sentinel
   */
  public static RedisSentinel start(RedisURI master) {
    RedisBinary binary = RedisProviders.binaryForOwnedProcess("Sentinel fixtures");
    int port = LoopbackPorts.pick(false);
    try {
      Path dir = Files.createTempDirectory("tiercache-sentinel-");
      Path conf = dir.resolve("sentinel.conf");
      Files.write(
          conf,
          List.of(
              "port " + port,
              "bind 127.0.0.1",
              "dir " + dir,
              "sentinel monitor " + MASTER + " " + master.getHost() + " " + master.getPort() + " 1",
              "sentinel down-after-milliseconds " + MASTER + " 5000"));
      Process process =
          new ProcessBuilder(binary.path().toString(), conf.toString(), "--sentinel")
              .redirectErrorStream(true)
              .redirectOutput(dir.resolve("sentinel.log").toFile())
              .start();
      RedisSentinel sentinel = new RedisSentinel(process, port, dir);
      Runtime.getRuntime().addShutdownHook(new Thread(process::destroyForcibly));
      sentinel.awaitMaster(Duration.ofSeconds(15));
      return sentinel;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start a Redis Sentinel", e);
    }
  }

  private void awaitMaster(Duration limit) {
    long deadline = System.nanoTime() + limit.toNanos();
    RedisClient client = RedisClient.create(RedisURI.create("127.0.0.1", port));
    try {
      for (int attempt = 0; attempt < 1_000; attempt++) {
        try (StatefulRedisConnection<String, String> c = client.connect()) {
          List<Object> address =
              c.sync()
                  .dispatch(
                      CommandType.SENTINEL,
                      new ArrayOutput<>(StringCodec.UTF8),
                      new CommandArgs<>(StringCodec.UTF8).add("get-master-addr-by-name").add(MASTER));
          if (address != null && address.size() == 2) {
            return;
          }
        } catch (RuntimeException notYet) {
          // The sentinel is still starting: try again until the deadline.
        }
        if (System.nanoTime() > deadline || !process.isAlive()) {
          throw new IllegalStateException("the sentinel on port " + port + " did not come up; see " + dir);
        }
        try {
          process.waitFor(50, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IllegalStateException("interrupted while waiting for the sentinel", e);
        }
      }
    } finally {
      client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
  }

  /**
   * A URI that reaches the master through this sentinel.
   *
   * @return the Sentinel URI
   */
  public RedisURI uri() {
    return RedisURI.Builder.sentinel("127.0.0.1", port, MASTER).build();
  }

  /** Stops the sentinel (and waits at most 5 s for it to go). */
  @Override
  public void close() {
    process.destroy();
    try {
      if (!process.waitFor(5, TimeUnit.SECONDS)) {
        process.destroyForcibly();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      process.destroyForcibly();
    }
  }
}
