package dev.tiercache.redis.testing;

import io.lettuce.core.RedisURI;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A loopback TCP proxy in front of Redis that the test controls, to cut one instance off Redis while the others keep
 * it. Modes:
 * <ul>
 *   <li>{@link Mode#PASS}: forwards both ways;
 *   <li>{@link Mode#SILENT}: keeps every socket open and accepts new connections, but forwards nothing (what was read
 *       is held and forwarded when the mode returns to PASS, as TCP would after a partition heals): a half-open
 *       network, which nothing but a timeout or a heartbeat notices;
 *   <li>{@link Mode#RESET}: resets every proxied connection (RST) and every new one, as a peer that went away does.
 * </ul>
 */
public final class TcpProxy implements AutoCloseable {

  /** What the proxy does with traffic. */
  public enum Mode {
    PASS,
    SILENT,
    RESET
  }

  private static final Logger LOG = LoggerFactory.getLogger(TcpProxy.class);
  /** A connection silent longer than this is dropped: bounds every pump's wait. */
  private static final Duration MAX_SILENCE = Duration.ofMinutes(2);
  private static final int CONNECT_TIMEOUT_MS = 1_000;

  private final String targetHost;
  private final int targetPort;
  private final ServerSocket server;
  private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();
  private final Object lock = new Object();
  private volatile Mode mode = Mode.PASS;
  private volatile boolean closed;

  /**
   * Starts a proxy on a free loopback port, in PASS mode.
   *
   * @param targetHost where to forward
   * @param targetPort its port
   */
  public TcpProxy(String targetHost, int targetPort) {
    this.targetHost = targetHost;
    this.targetPort = targetPort;
    try {
      server = new ServerSocket();
      server.setReuseAddress(true);
      server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot listen on loopback", e);
    }
    daemon("chaos-proxy-accept-" + server.getLocalPort(), this::acceptLoop);
  }

  /**
   * The loopback port the proxy listens on.
   *
   * @return the port
   */
  public int port() {
    return server.getLocalPort();
  }

  /**
   * A URI of the proxy.
   *
   * @param like the URI to copy (timeout, credentials)
   * @return {@code like}, pointing at the proxy
   */
  public RedisURI uri(RedisURI like) {
    return RedisURI.builder(like).withHost("127.0.0.1").withPort(server.getLocalPort()).build();
  }

  /**
   * The current mode.
   *
   * @return the mode
   */
  public Mode mode() {
    return mode;
  }

  /**
   * Switches mode; RESET resets every open connection at once.
   *
   * @param next the new mode
   */
  public void mode(Mode next) {
    synchronized (lock) {
      mode = next;
      if (next == Mode.RESET) {
        sockets.forEach(TcpProxy::reset);
        sockets.clear();
      }
      lock.notifyAll();
    }
  }

  private void acceptLoop() {
    while (!closed) {
      Socket client;
      try {
        client = server.accept();
      } catch (IOException e) {
        return; // closed
      }
      if (mode == Mode.RESET) {
        reset(client);
        continue;
      }
      Socket upstream = new Socket();
      try {
        upstream.connect(new InetSocketAddress(targetHost, targetPort), CONNECT_TIMEOUT_MS);
      } catch (IOException e) {
        reset(client);
        closeQuietly(upstream);
        continue;
      }
      sockets.add(client);
      sockets.add(upstream);
      pump(client, upstream);
      pump(upstream, client);
    }
  }

  private void pump(Socket from, Socket to) {
    daemon("chaos-proxy-pump-" + server.getLocalPort(), () -> {
      byte[] buffer = new byte[16 * 1024];
      try {
        InputStream in = from.getInputStream();
        OutputStream out = to.getOutputStream();
        for (int n; (n = in.read(buffer)) >= 0; ) {
          if (!awaitForwarding()) {
            break;
          }
          out.write(buffer, 0, n);
          out.flush();
        }
      } catch (IOException e) {
        // one side went away, or RESET closed it
      } finally {
        closeQuietly(from);
        closeQuietly(to);
        sockets.remove(from);
        sockets.remove(to);
      }
    });
  }

  /** Waits while SILENT; true to forward, false to drop the connection. */
  private boolean awaitForwarding() {
    long deadline = System.nanoTime() + MAX_SILENCE.toNanos();
    synchronized (lock) {
      while (mode == Mode.SILENT && !closed) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          LOG.warn("a connection stayed silent for {}; dropping it", MAX_SILENCE);
          return false;
        }
        try {
          lock.wait(Math.max(1, Math.min(left / 1_000_000, 100)));
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return false;
        }
      }
      return mode == Mode.PASS && !closed;
    }
  }

  private static void reset(Socket socket) {
    try {
      socket.setSoLinger(true, 0); // close sends RST, not FIN
    } catch (IOException e) {
      // already closed
    }
    closeQuietly(socket);
  }

  private static void closeQuietly(AutoCloseable closeable) {
    try {
      closeable.close();
    } catch (Exception e) {
      // already closed
    }
  }

  private static void daemon(String name, Runnable body) {
    Thread thread = new Thread(body, name);
    thread.setDaemon(true);
    thread.start();
  }

  @Override
  public void close() {
    closed = true;
    closeQuietly(server);
    synchronized (lock) {
      sockets.forEach(TcpProxy::closeQuietly);
      sockets.clear();
      lock.notifyAll();
    }
  }
}
