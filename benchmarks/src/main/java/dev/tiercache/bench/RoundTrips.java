package dev.tiercache.bench;

import io.lettuce.core.RedisURI;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Counts the Redis commands of suite 4's mixed load per operation, library by library: the commands a client sends
 * (each one a round trip of its caller) apart from those its Lua scripts run inside Redis. Throughput on the 2-core
 * VM moves by a third between runs of the same code; these counts do not, so they tell whether a library could be
 * faster by design or only by the machine.
 *
 * <p>Reads Redis's {@code MONITOR} stream on its own connection; a window is delimited by two {@code ECHO} markers
 * sent on another connection, so exactly the commands between them are counted. Runs the same operations as
 * {@link PeerL1Benchmark}'s {@code *_mixed} methods, on 2 threads, after one unmeasured pass.
 *
 * <pre>
 * java -cp "$(cat benchmarks/target/benchmark.classpath):benchmarks/target/classes" \
 *     dev.tiercache.bench.RoundTrips [operations per thread, default 20000]
 * </pre>
 *
 * Uses the same Redis provider chain as the suites ({@code REDIS_URL}, else a server it starts).
 */
public final class RoundTrips {

  private static final int THREADS = 2;
  private static final Duration WAIT = Duration.ofMinutes(5);

  private RoundTrips() {}

  public static void main(String[] args) throws Exception {
    int operations = args.length > 0 ? Integer.parseInt(args[0]) : 20_000;
    if (operations <= 0) {
      throw new IllegalArgumentException("operations per thread must be positive, got " + operations);
    }
    PeerL1Benchmark benchmark = new PeerL1Benchmark();
    try (Monitor monitor = new Monitor(BenchRedis.shared().uri())) {
      PeerL1Benchmark.TiercacheState tiercache = new PeerL1Benchmark.TiercacheState();
      tiercache.setUp();
      try {
        report("Tiercache", monitor, operations,
            () -> cursor -> benchmark.tiercache_mixed(tiercache, cursor));
      } finally {
        tiercache.close();
      }
      PeerL1Benchmark.RedissonState redisson = new PeerL1Benchmark.RedissonState();
      redisson.setUp();
      try {
        report("Redisson", monitor, operations, () -> cursor -> benchmark.redisson_mixed(redisson, cursor));
      } finally {
        redisson.tearDown();
      }
      PeerL1Benchmark.JetCacheState jetcache = new PeerL1Benchmark.JetCacheState();
      jetcache.setUp();
      try {
        report("JetCache", monitor, operations, () -> cursor -> benchmark.jetcache_mixed(jetcache, cursor));
      } finally {
        jetcache.tearDown();
      }
    } finally {
      BenchRedis.shared().close();
    }
    System.exit(0);
  }

  /** One operation of the mixed load, on a thread's own cursor. */
  private interface Operation {
    void run(PeerL1Benchmark.Cursor cursor);
  }

  private static void report(String library, Monitor monitor, int operations, Supplier<Operation> operation)
      throws Exception {
    runThreads(operations, operation);
    Map<String, Long> counted = monitor.count(() -> runThreads(operations, operation));
    double total = (double) operations * THREADS;
    StringBuilder sent = new StringBuilder();
    StringBuilder scripted = new StringBuilder();
    double sentPerOp = 0;
    double scriptedPerOp = 0;
    for (Map.Entry<String, Long> e : counted.entrySet()) {
      double perOp = e.getValue() / total;
      boolean inScript = e.getKey().startsWith(Monitor.LUA);
      String name = inScript ? e.getKey().substring(Monitor.LUA.length()) : e.getKey();
      (inScript ? scripted : sent).append(String.format(" %s %.3f", name, perOp));
      if (inScript) {
        scriptedPerOp += perOp;
      } else {
        sentPerOp += perOp;
      }
    }
    System.out.printf("ROUNDTRIPS %-9s sent %.3f per op (%s), run inside scripts %.3f per op (%s)%n",
        library, sentPerOp, sent.toString().trim(), scriptedPerOp, scripted.toString().trim());
  }

  private static void runThreads(int operations, Supplier<Operation> operation) {
    CountDownLatch done = new CountDownLatch(THREADS);
    Throwable[] failure = new Throwable[1];
    for (int t = 0; t < THREADS; t++) {
      Operation op = operation.get();
      Thread worker = new Thread(() -> {
        try {
          PeerL1Benchmark.Cursor cursor = new PeerL1Benchmark.Cursor();
          for (int i = 0; i < operations; i++) {
            op.run(cursor);
          }
        } catch (RuntimeException | Error e) {
          synchronized (failure) {
            failure[0] = e;
          }
        } finally {
          done.countDown();
        }
      }, "roundtrips-" + t);
      worker.setDaemon(true);
      worker.start();
    }
    try {
      if (!done.await(WAIT.toMillis(), TimeUnit.MILLISECONDS)) {
        throw new IllegalStateException("the mixed load did not finish within " + WAIT);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
    synchronized (failure) {
      if (failure[0] != null) {
        throw new IllegalStateException("the mixed load failed", failure[0]);
      }
    }
  }

  /**
   * Redis's {@code MONITOR} stream. Each line names the client that sent the command, or {@code lua} for one a script
   * ran, then the command's name in quotes.
   */
  static final class Monitor implements AutoCloseable {
    static final String LUA = "lua:";

    private final Socket monitor;
    private final Socket markers;
    private final BufferedReader lines;
    private final BufferedReader markerReplies;

    Monitor(RedisURI uri) throws IOException {
      monitor = open(uri);
      markers = open(uri);
      lines = reader(monitor);
      markerReplies = reader(markers);
      send(monitor, "MONITOR");
      if (!"+OK".equals(lines.readLine())) {
        throw new IllegalStateException("Redis refused MONITOR");
      }
    }

    private static Socket open(RedisURI uri) throws IOException {
      Socket socket = new Socket(uri.getHost(), uri.getPort());
      socket.setSoTimeout((int) WAIT.toMillis());
      if (uri.getPassword() != null) {
        send(socket, "AUTH " + new String(uri.getPassword()));
        String reply = reader(socket).readLine();
        if (reply == null || !reply.startsWith("+OK")) {
          throw new IllegalStateException("Redis refused the password");
        }
      }
      return socket;
    }

    private static BufferedReader reader(Socket socket) throws IOException {
      return new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.ISO_8859_1));
    }

    /** Sends a marker; its reply (a bulk string: a length line, then the marker) is read so that none piles up. */
    private void mark(String marker) throws IOException {
      send(markers, "ECHO " + marker);
      markerReplies.readLine();
      markerReplies.readLine();
    }

    private static void send(Socket socket, String inline) throws IOException {
      OutputStream out = socket.getOutputStream();
      out.write((inline + "\r\n").getBytes(StandardCharsets.US_ASCII));
      out.flush();
    }

    /** The commands Redis ran between two markers sent around {@code work}, by name ({@link #LUA} for scripts'). */
    Map<String, Long> count(Runnable work) throws IOException {
      String start = "roundtrips-start-" + UUID.randomUUID();
      String end = "roundtrips-end-" + UUID.randomUUID();
      mark(start);
      work.run();
      mark(end);
      Map<String, Long> counts = new TreeMap<>();
      boolean counting = false;
      String line;
      while ((line = lines.readLine()) != null) {
        if (line.contains(start)) {
          counting = true;
        } else if (line.contains(end)) {
          return counts;
        } else if (counting) {
          String command = command(line);
          if (command != null) {
            counts.merge(command, 1L, Long::sum);
          }
        }
      }
      throw new IllegalStateException("the MONITOR stream ended before the end marker");
    }

    /** {@code 1700000000.123456 [0 127.0.0.1:5000] "GET" "k"} gives {@code get}; from a script, {@code lua:get}. */
    static String command(String line) {
      int open = line.indexOf('[');
      int close = open < 0 ? -1 : line.indexOf(']', open);
      int quote = close < 0 ? -1 : line.indexOf('"', close);
      int endQuote = quote < 0 ? -1 : line.indexOf('"', quote + 1);
      if (endQuote < 0) {
        return null;
      }
      String name = line.substring(quote + 1, endQuote).toLowerCase(java.util.Locale.ROOT);
      return line.substring(open + 1, close).endsWith(" lua") ? LUA + name : name;
    }

    @Override
    public void close() throws IOException {
      try {
        monitor.close();
      } finally {
        markers.close();
      }
    }
  }
}
