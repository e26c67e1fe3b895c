package dev.tiercache.redis;

import static dev.tiercache.redis.StoreKit.entry;
import static dev.tiercache.redis.StoreKit.join;
import static dev.tiercache.redis.StoreKit.uniqueName;
import static org.assertj.core.api.Assertions.assertThat;

import dev.tiercache.redis.testing.RedisExtension;
import dev.tiercache.spi.L2Read;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Review 15: a read's {@code MGET} whose reply a dropped connection cuts short. A client with Lettuce's default
 * options (a configuration {@link RedisTier#create(RedisClient)} accepts, with a warning about queueing only)
 * replays every command still awaiting its reply on the new connection (at-least-once), into the <em>same</em>
 * {@link io.lettuce.core.output.CommandOutput}. {@link BucketReply} counts the elements it was given and never
 * starts over, so the elements of the replayed reply land one partial reply further on: an entry settles the read of
 * another key. The tier must answer each key with its own entry, a miss, or a failure, never another key's value.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RedisMgetReplayTest {

  @RegisterExtension static final RedisExtension REDIS = RedisExtension.standalone();

  private static final Duration TTL = Duration.ofMinutes(5);
  private static final int KEYS = 40;

  @Test
  void anMgetReplayedAfterItsReplyWasCutShortAnswersEachKeyWithItsOwnValue() throws Exception {
    cutAndReplay("MGET");
  }

  /**
   * The same for the read script's reply (entries written before the bucket's gmax, which the MGET leaves open), which
   * Lettuce's own NestedMultiOutput decodes: its replayed elements nest inside the partial reply's list.
   */
  @Test
  void aReadScriptReplayedAfterItsReplyWasCutShortAnswersEachKeyWithItsOwnValueOrFails() throws Exception {
    cutAndReplay("EVALSHA");
  }

  private void cutAndReplay(String command) throws Exception {
    boolean script = command.equals("EVALSHA");
    String cache = uniqueName("replay");
    RedisClient direct = RedisClient.create(REDIS.uri());
    direct.setOptions(RedisTier.recommendedClientOptions());
    try (CuttingProxy proxy = new CuttingProxy(REDIS.host(), REDIS.port())) {
      // Lettuce's default client options: commands in flight at a disconnect are replayed after the reconnect.
      RedisClient viaProxy = RedisClient.create(
          RedisURI.builder().withHost("127.0.0.1").withPort(proxy.port()).withTimeout(Duration.ofSeconds(5)).build());
      try (RedisTier writer = RedisTier.create(direct);
          RedisTier reader = RedisTier.create(viaProxy).alwaysMgetFirst()) {
        // A first read seeds the bucket's gmax and floor: entries written after it are settled by the MGET alone,
        // entries written before it by the script.
        join(writer.put(cache, "seed", entry("seed"), TTL));
        if (!script) {
          join(reader.get(cache, "seed"));
        }
        List<String> keys = new ArrayList<>();
        for (int i = 0; i < KEYS; i++) {
          keys.add("k" + i);
          join(writer.put(cache, "k" + i, entry(valueOf(i)), TTL));
        }
        if (script) {
          join(reader.get(cache, "seed"));
        }
        Map<String, L2Read> before = join(reader.getAll(cache, keys));
        for (int i = 0; i < KEYS; i++) {
          assertThat(text(before.get("k" + i))).as("k" + i + " before the cut").isEqualTo(valueOf(i));
        }

        // The next MGET's reply is cut after a few entries (its whole reply is ~20 KB), then the connection closed.
        proxy.cutNextReplyAfter(command, 3_000);
        Map<String, L2Read> after;
        try {
          after = reader.getAll(cache, keys).get(20, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException failed) {
          // A failed read is an acceptable answer; another key's value is not. Nothing to check then.
          System.out.println("REPLAY the cut " + command + " failed: " + failed.getCause());
          assertThat(proxy.cuts.get()).isOne();
          return;
        }
        assertThat(proxy.cuts.get()).as("the reply was cut").isOne();
        List<String> wrong = new ArrayList<>();
        for (int i = 0; i < KEYS; i++) {
          L2Read read = after.get("k" + i);
          // An unreadable entry is a miss to the cache (and a metric): acceptable here.
          if (read.isHit() && !EntryFormat.UNREADABLE.equals(read.entry().codecId())
              && !valueOf(i).equals(text(read))) {
            String found = text(read);
            wrong.add("k" + i + " -> " + found.substring(0, Math.max(0, found.indexOf(' '))));
          }
        }
        System.out.println(
            "REPLAY the cut " + command + " was answered; " + wrong.size() + " keys with another key's value");
        assertThat(wrong).as("keys answered with another key's value").isEmpty();
      } finally {
        viaProxy.shutdown(Duration.ZERO, Duration.ofSeconds(2));
      }
    } finally {
      direct.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
  }

  private static String valueOf(int i) {
    return "k" + i + " " + "x".repeat(400);
  }

  private static String text(L2Read read) {
    return read.entry() == null || read.entry().value() == null
        ? null
        : new String(read.entry().value(), StandardCharsets.UTF_8);
  }

  /**
   * A loopback proxy that forwards both ways, and once armed, lets through only the first bytes of the reply to the
   * next command of a name a client sends, then closes that connection (both sides). Later connections pass.
   */
  static final class CuttingProxy implements AutoCloseable {

    private final String host;
    private final int targetPort;
    private final ServerSocket server;
    private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();
    private volatile int armed = -1;
    private volatile byte[] armedFor;
    /** Commands of the armed name still to let through, replies and all, before the one whose reply is cut. */
    private volatile int skipping;
    final AtomicInteger cuts = new AtomicInteger();
    /** Runs at each cut, after the bytes let through and before the close: what it changes, the replay sees. */
    volatile Runnable atCut = () -> {};

    CuttingProxy(String host, int targetPort) throws IOException {
      this.host = host;
      this.targetPort = targetPort;
      server = new ServerSocket();
      server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
      daemon(this::accept);
    }

    int port() {
      return server.getLocalPort();
    }

    void cutNextReplyAfter(String command, int bytes) {
      cutReplyAfter(command, bytes, 0);
    }

    /** As {@link #cutNextReplyAfter}, for the command of that name after the next {@code skip} (a replay, say). */
    void cutReplyAfter(String command, int bytes, int skip) {
      armedFor = ("\r\n" + command + "\r\n").getBytes(StandardCharsets.US_ASCII);
      skipping = skip;
      armed = bytes;
    }

    private void accept() {
      while (!server.isClosed()) {
        try {
          Socket client = server.accept();
          Socket upstream = new Socket();
          upstream.connect(new InetSocketAddress(host, targetPort), 1_000);
          sockets.add(client);
          sockets.add(upstream);
          Pair pair = new Pair(client, upstream);
          daemon(pair::toServer);
          daemon(pair::toClient);
        } catch (IOException e) {
          return;
        }
      }
    }

    private final class Pair {
      final Socket client;
      final Socket upstream;
      /** Reply bytes still to let through before the cut; -1 while not cutting. */
      volatile int remaining = -1;

      Pair(Socket client, Socket upstream) {
        this.client = client;
        this.upstream = upstream;
      }

      void toServer() {
        byte[] buffer = new byte[64 * 1024];
        try (InputStream in = client.getInputStream(); OutputStream out = upstream.getOutputStream()) {
          for (int n; (n = in.read(buffer)) >= 0; ) {
            int cutAfter = armed;
            if (cutAfter >= 0 && contains(buffer, n, armedFor)) {
              if (skipping > 0) {
                skipping--;
              } else {
                armed = -1;
                remaining = cutAfter; // before Redis sees the command, so before any byte of its reply
              }
            }
            out.write(buffer, 0, n);
            out.flush();
          }
        } catch (IOException e) {
          // reset or closed
        } finally {
          close();
        }
      }

      void toClient() {
        byte[] buffer = new byte[64 * 1024];
        boolean cut = false;
        try {
          InputStream in = upstream.getInputStream();
          OutputStream out = client.getOutputStream();
          for (int n; (n = in.read(buffer)) >= 0; ) {
            int left = remaining;
            if (left < 0) {
              out.write(buffer, 0, n);
              out.flush();
              continue;
            }
            int pass = Math.min(left, n);
            out.write(buffer, 0, pass);
            out.flush();
            remaining = left - pass;
            if (remaining == 0) {
              cuts.incrementAndGet();
              atCut.run();
              // An orderly close (FIN), as a Redis killed or restarted mid-reply gives: Lettuce completes the head
              // of its stack exceptionally on a reset (RST), but replays every command of a closed connection. The
              // FIN follows the bytes let through, so the client reads them first; it then closes its side, which
              // toServer reads as the end and closes the client socket (no unread byte left there to send a RST).
              client.shutdownOutput();
              cut = true;
              return;
            }
          }
        } catch (IOException e) {
          // reset or closed
        } finally {
          if (cut) {
            closeQuietly(upstream);
          } else {
            close();
          }
        }
      }

      void close() {
        closeQuietly(client);
        closeQuietly(upstream);
        sockets.remove(client);
        sockets.remove(upstream);
      }
    }

    private static boolean contains(byte[] buffer, int length, byte[] needle) {
      outer:
      for (int i = 0; i + needle.length <= length; i++) {
        for (int j = 0; j < needle.length; j++) {
          if (buffer[i + j] != needle[j]) {
            continue outer;
          }
        }
        return true;
      }
      return false;
    }

    private static void closeQuietly(AutoCloseable closeable) {
      try {
        closeable.close();
      } catch (Exception e) {
        // closed already
      }
    }

    private static void daemon(Runnable body) {
      Thread thread = new Thread(body, "replay-proxy");
      thread.setDaemon(true);
      thread.start();
    }

    @Override
    public void close() {
      closeQuietly(server);
      sockets.forEach(CuttingProxy::closeQuietly);
    }
  }
}
