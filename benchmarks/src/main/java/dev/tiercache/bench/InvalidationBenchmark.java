package dev.tiercache.bench;

import dev.tiercache.Invalidation;
import dev.tiercache.InvalidationPendingException;
import dev.tiercache.TieredCache;
import io.lettuce.core.pubsub.RedisPubSubAdapter;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import io.lettuce.core.codec.ByteArrayCodec;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.infra.BenchmarkParams;

/**
 * Suite 5: cross-node invalidation latency. Two application instances A and B (each with its own Lettuce client)
 * share one Redis. One operation is: A invalidates a key that B holds in its L1, and the clock stops when B's L1 no
 * longer holds it. The reference is a raw Redis Pub/Sub round on the same clients: A's client publishes, and the
 * clock stops when B's subscriber connection has delivered the message.
 *
 * <p>B holds exactly one entry, so {@code estimatedL1Size() == 0} is the probe for "B's L1 dropped it": it reads the
 * L1 alone, where {@code getIfPresent} would add an L2 round trip once the entry is gone. Both sides wait the same
 * way (a bounded loop that yields the core, two cores being few for a spinning thread, Redis and the event loops).
 * Before each operation (outside the clock) B loads the key again through a read-through {@code get}, which sends
 * nothing on the bus, and both sides then pause 1 ms so that each operation starts from a quiet system.
 */
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Threads(1)
public class InvalidationBenchmark {

  static final String KEY = "user:42";
  static final long TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(5);
  static final long SETTLE_NANOS = TimeUnit.MILLISECONDS.toNanos(1);

  @State(Scope.Benchmark)
  public static class Nodes extends PendingCount.ByIteration {
    String namespace;
    Node a;
    Node b;
    TieredCache<String, String> cacheA;
    TieredCache<String, String> cacheB;
    StatefulRedisPubSubConnection<byte[], byte[]> subscriber;
    byte[] channel;
    byte[] payload;
    volatile long received;
    long sent;
    long version;
    Invalidation invalidation;

    @Setup(Level.Trial)
    public void setUp() {
      namespace = BenchRedis.namespace("invalidation");
      a = new Node(namespace);
      b = new Node(namespace);
      cacheA = a.cache("inval", builder -> {});
      cacheB = b.cache("inval", builder -> {});
      invalidation = Invalidation.key(KEY);
      channel = (namespace + ":raw-channel").getBytes(StandardCharsets.UTF_8);
      // About the size of one invalidation frame of the bus.
      payload = new byte[96];
      subscriber = b.client.connectPubSub(ByteArrayCodec.INSTANCE);
      subscriber.addListener(new RedisPubSubAdapter<>() {
        @Override
        public void message(byte[] ch, byte[] message) {
          received++;
        }
      });
      subscriber.sync().subscribe(channel);
    }

    /**
     * Puts the value in B's L1 without a bus message. B may refuse the first install: the probe sees the L1 entry
     * gone as soon as B's bus thread removed it, and a read that begins before that thread has closed its side of
     * the invalidation is conservatively not installed. The next read installs.
     */
    void fillB() {
      String value = "v" + (++version);
      long deadline = System.nanoTime() + TIMEOUT_NANOS;
      while (true) {
        cacheB.get(KEY, k -> value);
        if (cacheB.estimatedL1Size() == 1) {
          return;
        }
        if (System.nanoTime() - deadline > 0) {
          throw new IllegalStateException("B's L1 did not take the key within 5 s");
        }
        Thread.yield();
      }
    }

    /**
     * A's invalidation. One Redis did not take within the L2 timeout took effect on A and reaches B once A's retry
     * gets through, so the operation still ends when B drops the key; it is counted, since its time includes the
     * timeout and the retry.
     */
    void invalidateOnA() {
      try {
        cacheA.invalidate(invalidation);
      } catch (InvalidationPendingException e) {
        PendingCount.count();
      }
    }

    @TearDown(Level.Trial)
    public void tearDown(BenchmarkParams params) {
      close();
      PendingCount.trialEnds(params);
    }

    void close() {
      // The probe must not have lied: after an invalidation B serves nothing old, from L1 or L2.
      fillB();
      invalidateOnA();
      await(() -> cacheB.estimatedL1Size() == 0, "B to drop the key");
      if (cacheB.getIfPresent(KEY) != null) {
        throw new IllegalStateException("B still served the key after the invalidation");
      }
      subscriber.close();
      cacheA.close();
      cacheB.close();
      BenchRedis.shared().deleteNamespace(namespace);
      a.close();
      b.close();
    }
  }

  @State(Scope.Thread)
  public static class TiercacheRound {
    @Setup(Level.Invocation)
    public void prepare(Nodes n) {
      n.fillB();
      LockSupport.parkNanos(SETTLE_NANOS);
    }
  }

  @State(Scope.Thread)
  public static class PubSubRound {
    @Setup(Level.Invocation)
    public void prepare(Nodes n) {
      // The same kind of round trips as fillB (a read and a write), so both sides start from the same state.
      n.a.raw.sync().set(n.channel, n.payload);
      n.a.raw.sync().get(n.channel);
      LockSupport.parkNanos(SETTLE_NANOS);
    }
  }

  @Benchmark
  public void tiercache_invalidate(Nodes n, TiercacheRound round) {
    n.invalidateOnA();
    await(() -> n.cacheB.estimatedL1Size() == 0, "B to drop the key");
  }

  @Benchmark
  public void pubsub_roundTrip(Nodes n, PubSubRound round) {
    long expected = ++n.sent;
    n.a.raw.async().publish(n.channel, n.payload);
    await(() -> n.received >= expected, "the subscriber to receive the message");
  }

  static void await(BooleanSupplier done, String what) {
    long deadline = System.nanoTime() + TIMEOUT_NANOS;
    while (!done.getAsBoolean()) {
      if (System.nanoTime() - deadline > 0) {
        throw new IllegalStateException("waited " + TimeUnit.NANOSECONDS.toSeconds(TIMEOUT_NANOS) + " s for " + what);
      }
      Thread.yield();
    }
  }
}
