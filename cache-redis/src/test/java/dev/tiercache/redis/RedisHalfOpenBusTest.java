package dev.tiercache.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.tiercache.redis.testing.RedisExtension;
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
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A half-open Pub/Sub connection: the socket stays open but nothing Redis sends on it arrives any more (a peer gone
 * without a reset, a NAT that forgot the flow), while commands still work. TCP never notices on a connection that only
 * receives. Heartbeats stop proving delivery at once, and the bus, seeing Redis execute heartbeats that never come
 * back, replaces the connection: delivery and proof resume, after a suspect.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RedisHalfOpenBusTest {

  @RegisterExtension
  static final RedisExtension REDIS = RedisExtension.standalone();

  @Test
  void aDeafSubscriptionIsNoticedAndReplacedAndTheProofResumes() throws Exception {
    try (DeafeningProxy proxy = new DeafeningProxy(REDIS.uri())) {
      RedisClient client = RedisClient.create(proxy.uri());
      client.setOptions(RedisTier.recommendedClientOptions());
      RecordingListener listener = new RecordingListener();
      try (RedisTier tier = RedisTier.create(client, RedisTierOptions.builder()
              .heartbeatTimeout(Duration.ofMillis(300)).build());
          var subscription = tier.bus().subscribe("half-open", listener)) {
        // Subscribing does not wait for Redis to confirm: until it has, a heartbeat fails ("not subscribed"; a full
        // suite under load once found it 41 ms in).
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(20)).ignoreExceptions()
            .until(() -> tier.bus().heartbeat("half-open").get(1, TimeUnit.SECONDS) != null);

        proxy.deafenSubscribers();
        long deafened = System.nanoTime();
        assertThat(tier.bus().heartbeat("half-open")).failsWithin(Duration.ofSeconds(2));

        // Back with a new connection, and only heartbeats sent after it prove anything.
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(50)).ignoreExceptions()
            .until(() -> tier.bus().heartbeat("half-open").get(1, TimeUnit.SECONDS) - deafened > 0);
        assertThat(listener.events).containsSubsequence("restored", "lost", "suspect", "restored");
        tier.bus().publish("half-open", RecordingListener.message("peer", 1, "k")).get(5, TimeUnit.SECONDS);
        await().atMost(Duration.ofSeconds(5)).until(() -> listener.messages.size() == 1);
      } finally {
        client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
      }
    }
  }

  /**
   * A loopback proxy that can silently drop, from then on, everything Redis sends to the connections that have
   * subscribed so far. New connections are served normally.
   */
  private static final class DeafeningProxy implements AutoCloseable {
    private final ServerSocket server;
    private final RedisURI target;
    private final Set<AtomicBoolean> subscribers = ConcurrentHashMap.newKeySet();
    private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();

    DeafeningProxy(RedisURI target) throws IOException {
      this.target = target;
      server = new ServerSocket();
      server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
      daemon(() -> {
        while (!server.isClosed()) {
          try {
            Socket client = server.accept();
            Socket upstream = new Socket(target.getHost(), target.getPort());
            sockets.add(client);
            sockets.add(upstream);
            AtomicBoolean deaf = new AtomicBoolean();
            AtomicBoolean subscribed = new AtomicBoolean();
            daemon(() -> pump(client, upstream, bytes -> {
              if (!subscribed.get() && new String(bytes, StandardCharsets.ISO_8859_1)
                  .toUpperCase(java.util.Locale.ROOT).contains("SUBSCRIBE")) {
                subscribed.set(true);
                subscribers.add(deaf);
              }
              return true;
            }));
            daemon(() -> pump(upstream, client, bytes -> !deaf.get()));
          } catch (IOException e) {
            return;
          }
        }
      });
    }

    RedisURI uri() {
      return RedisURI.builder().withHost("127.0.0.1").withPort(server.getLocalPort())
          .withTimeout(Duration.ofSeconds(5)).build();
    }

    void deafenSubscribers() {
      subscribers.forEach(deaf -> deaf.set(true));
    }

    private interface Forward {
      boolean test(byte[] bytes);
    }

    private static void pump(Socket from, Socket to, Forward forward) {
      byte[] buffer = new byte[16 * 1024];
      try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
        for (int n; (n = in.read(buffer)) >= 0; ) {
          if (forward.test(java.util.Arrays.copyOf(buffer, n))) {
            out.write(buffer, 0, n);
            out.flush();
          }
        }
      } catch (IOException e) {
        // a side went away
      }
    }

    private static void daemon(Runnable body) {
      Thread thread = new Thread(body, "deafening-proxy");
      thread.setDaemon(true);
      thread.start();
    }

    @Override
    public void close() throws IOException {
      server.close();
      for (Socket socket : sockets) {
        socket.close();
      }
    }
  }
}
