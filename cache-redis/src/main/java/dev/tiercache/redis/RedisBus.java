package dev.tiercache.redis;

import static dev.tiercache.redis.KeySpace.bytes;

import dev.tiercache.spi.InvalidationBus;
import dev.tiercache.spi.InvalidationMessage;
import io.lettuce.core.RedisChannelHandler;
import io.lettuce.core.RedisConnectionException;
import io.lettuce.core.RedisConnectionStateListener;
import io.lettuce.core.pubsub.RedisPubSubAdapter;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The invalidation bus on Redis Pub/Sub: one channel per cache, plus one heartbeat channel that only this bus
 * subscribes to, all on one Pub/Sub connection per tier. Redis writes to one connection in the order it executed the
 * publishes, so a heartbeat's echo arrives behind every message published before it ({@link Heartbeats} for the
 * Cluster case).
 *
 * <p>Connection life: nothing here throws because Redis is down. The Pub/Sub connection is opened, and channels
 * subscribed, by a background task that retries until they are; Lettuce then reconnects and resubscribes by itself,
 * and the task subscribes whatever Lettuce does not know. A drop tells every listener {@code onConnectionLost}; the
 * next confirmation of a channel tells its listeners {@code onSuspect} (Pub/Sub keeps nothing for a subscriber that
 * was away) then {@code onConnectionRestored}. Heartbeats sent before a drop never complete.
 */
final class RedisBus implements InvalidationBus {

  private static final Logger LOG = LoggerFactory.getLogger(RedisBus.class);

  /** The most single-key items a message delivered on the event loop may carry (see {@code Delivery}). */
  static final int INLINE_ITEMS = 16;

  /** Larger frames are decoded on the delivery thread: a foreign publisher's huge frame does not stall the I/O. */
  static final int INLINE_BYTES = 16 * 1024;

  /** How many executed-but-lost heartbeat rounds in a row mark the Pub/Sub connection as broken. */
  static final int DEAF_ROUNDS = 2;

  private static final long REPLACE_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(5);

  /** Opens the Pub/Sub connection of a standalone or Cluster client. */
  interface Connector {
    StatefulRedisPubSubConnection<byte[], byte[]> connect();
  }

  private final KeySpace keys;
  private final RedisConnections connections;
  private final Connector connector;
  private final Duration probeTimeout;
  private final Duration retryInterval;
  private final BusNodes nodes;
  private final Heartbeats heartbeats;
  private final BusChannel heartbeatChannel;
  private final ScheduledExecutorService scheduler;
  private final Map<String, BusChannel> channels = new ConcurrentHashMap<>();
  private final Map<String, CompletableFuture<Void>> probes = new ConcurrentHashMap<>();
  private final AtomicLong malformed = new AtomicLong();
  /** One daemon thread, started on demand and let go when idle, that delivers what arrives, in order. */
  private final java.util.concurrent.ThreadPoolExecutor deliveries = deliveryThread();
  /**
   * Deliveries handed to the delivery thread and not finished yet: raised on the event loop that receives, lowered by
   * the delivery thread once the listeners returned. Shared by the connections a replacement may briefly overlap,
   * which only makes inline delivery rarer.
   */
  private final java.util.concurrent.atomic.AtomicInteger queued = new java.util.concurrent.atomic.AtomicInteger();
  /**
   * Frames received so far, numbered on arrival: a clear that starts on the delivery thread covers every malformed
   * frame that arrived before it, so a flood of them that waited in the queue costs one clear, not one each.
   */
  private final AtomicLong arrivals = new AtomicLong();
  /** Consecutive heartbeat rounds that Redis executed but that did not come back. */
  private final AtomicLong deafRounds = new AtomicLong();
  private final AtomicLong lastReplaced = new AtomicLong(System.nanoTime() - REPLACE_INTERVAL_NANOS);
  private final LogText.RateLimited malformedWarning = new LogText.RateLimited();
  private volatile StatefulRedisPubSubConnection<byte[], byte[]> pubSub;
  private volatile boolean closing;
  /** Fed by the versions that announcements carry, so this tier notices a rollback of a bucket others changed. */
  private final SeenVersions seen;
  private boolean retryScheduled;

  RedisBus(
      KeySpace keys,
      RedisConnections connections,
      Connector connector,
      RedisTierOptions options,
      SeenVersions seen) {
    this.keys = keys;
    this.seen = seen;
    this.connections = connections;
    this.connector = connector;
    this.probeTimeout = options.probeTimeout();
    this.retryInterval = options.connectRetryInterval();
    this.scheduler = Executors.newSingleThreadScheduledExecutor(runnable -> {
      Thread thread = new Thread(runnable, "tiercache-bus");
      thread.setDaemon(true);
      return thread;
    });
    String hb = options.namespace() + ":hb:" + UUID.randomUUID();
    this.heartbeatChannel = new BusChannel(hb, null);
    this.nodes = new BusNodes(connections, bytes(hb));
    this.heartbeats = new Heartbeats(nodes, options.heartbeatTimeout(), this::suspectAll, this::deaf);
    connections.whenConnected(this::kick);
  }

  @Override
  public CompletableFuture<Void> publish(String cache, InvalidationMessage message) {
    return nodes.publish(bytes(keys.channel(cache)), BusFrames.message(message)).thenApply(receivers -> null);
  }

  /**
   * Sends a heartbeat round, or joins the one in flight, as the SPI says. Fails at once while the cache's channel or
   * the heartbeat channel is not subscribed on the current connection: no echo could prove anything then.
   */
  @Override
  public CompletableFuture<Long> heartbeat(String cache) {
    BusChannel channel = channels.get(keys.channel(cache));
    if (closing || channel == null || !channel.confirmed || !heartbeatChannel.confirmed) {
      return CompletableFuture.failedFuture(new IllegalStateException("the bus is not subscribed"));
    }
    // Only a round sent after both channels were confirmed proves anything about them.
    return heartbeats.beat(Math.max(channel.confirmedAt, heartbeatChannel.confirmedAt));
  }

  /**
   * Subscribes. When Redis answers, waits (at most the probe timeout) for the subscription and for a probe sent to
   * itself, so that a user without Pub/Sub rights, or an L2 and a bus on different servers, fail here, loudly. When
   * Redis does not answer, tells the listener the connection is lost and subscribes in the background.
   *
   * @throws IllegalStateException if Redis refuses the subscription or the probe, or the probe reached nobody
   */
  @Override
  public Subscription subscribe(String cache, Listener listener) {
    String name = keys.channel(cache);
    BusSubscriber subscriber = new BusSubscriber(listener);
    BusChannel channel;
    synchronized (this) {
      channel = channels.computeIfAbsent(name, n -> new BusChannel(n, cache));
      channel.subscribers.add(subscriber);
      if (channel.confirmed) {
        subscriber.restored();
      }
    }
    Subscription subscription = () -> unsubscribe(channel, subscriber);
    if (channel.confirmed) {
      return subscription;
    }
    kick();
    long deadline = System.nanoTime() + probeTimeout.toNanos();
    try {
      channel.confirmation().get(probeTimeout.toMillis(), TimeUnit.MILLISECONDS);
      probe(name, deadline);
    } catch (ExecutionException e) {
      if (RedisConnections.refusedByServer(e)) {
        subscription.close();
        throw new IllegalStateException("Redis refused the bus subscription of '" + LogText.safe(name) + "': "
            + LogText.safe(e.getCause().getMessage()) + "; the user needs SUBSCRIBE and PUBLISH on it", e.getCause());
      }
      notYet(channel, subscriber);
    } catch (TimeoutException e) {
      notYet(channel, subscriber);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      notYet(channel, subscriber);
    }
    return subscription;
  }

  /** The subscription is still on its way: the cache does not trust its bus until it is confirmed. */
  private synchronized void notYet(BusChannel channel, BusSubscriber subscriber) {
    if (!channel.confirmed) {
      subscriber.lost("Redis is not reachable yet; the bus subscribes when it is");
    }
  }

  private void probe(String channel, long deadline) throws ExecutionException, TimeoutException,
      InterruptedException {
    String token = UUID.randomUUID().toString();
    CompletableFuture<Void> echo = new CompletableFuture<>();
    probes.put(token, echo);
    try {
      long receivers = nodes.publish(bytes(channel), BusFrames.probe(token))
          .get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
      if (receivers == 0 && !connections.isCluster()) {
        throw new IllegalStateException("the bus probe on '" + LogText.safe(channel) + "' reached no subscriber:"
            + " check that the L2 and the bus reach the same Redis");
      }
      echo.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
    } catch (TimeoutException e) {
      LOG.warn("the bus probe on '{}' did not come back within {}; the cache reads past its L1 until heartbeats do",
          LogText.safe(channel), probeTimeout);
    } finally {
      probes.remove(token);
    }
  }

  private void unsubscribe(BusChannel channel, BusSubscriber subscriber) {
    StatefulRedisPubSubConnection<byte[], byte[]> connection;
    synchronized (this) {
      if (!channel.subscribers.remove(subscriber) || !channel.subscribers.isEmpty()) {
        return;
      }
      channels.remove(channel.name, channel);
      connection = pubSub;
    }
    if (connection != null && connection.isOpen()) {
      connection.async().unsubscribe(bytes(channel.name));
    }
  }

  /** Runs {@link #reconcile()} soon on the bus's own thread, never on the caller's. */
  private void kick() {
    try {
      scheduler.execute(this::reconcile);
    } catch (RejectedExecutionException closed) {
      // closing
    }
  }

  /**
   * Opens the Pub/Sub connection if there is none and subscribes every channel not confirmed on it; retries until
   * all are. Runs on the bus thread only, so a slow connect never blocks a caller or Lettuce's event loop.
   */
  private void reconcile() {
    synchronized (this) {
      retryScheduled = false;
    }
    if (closing || !connections.isConnected()) {
      return; // the tier's connection calls kick() once Redis is first reached
    }
    StatefulRedisPubSubConnection<byte[], byte[]> connection = pubSub;
    if (connection == null) {
      try {
        connection = connector.connect();
      } catch (RuntimeException e) {
        LOG.debug("the bus could not connect yet: {}", LogText.safe(e.getMessage()));
        channels.values().forEach(c -> c.fail(e));
        retryLater();
        return;
      }
      connection.addListener(new Delivery());
      connection.addListener(new ConnectionWatch(connection));
      pubSub = connection;
      if (closing) {
        connection.close();
        return;
      }
    }
    boolean pending = false;
    if (connection.isOpen()) {
      long now = System.nanoTime();
      for (BusChannel channel : allChannels()) {
        if (!channel.confirmed && channel.shouldRequest(now, probeTimeout)) {
          connection.async().subscribe(bytes(channel.name)).whenComplete((ok, failure) -> {
            if (failure != null) {
              channel.fail(failure);
            }
          });
        }
        pending |= !channel.confirmed;
      }
    } else {
      RedisConnectionException down = new RedisConnectionException("the bus connection is down");
      channels.values().forEach(c -> c.fail(down));
    }
    if (pending || !connection.isOpen()) {
      retryLater();
    }
  }

  private synchronized void retryLater() {
    if (retryScheduled || closing) {
      return;
    }
    retryScheduled = true;
    try {
      scheduler.schedule(this::reconcile, retryInterval.toMillis(), TimeUnit.MILLISECONDS);
    } catch (RejectedExecutionException closed) {
      retryScheduled = false;
    }
  }

  /**
   * A heartbeat Redis executed never came back: the Pub/Sub connection is half-open (its peer gone without a reset,
   * which TCP does not notice on a connection that only receives). Two in a row, and the connection is replaced: the
   * listeners hear lost, then suspect and restored once the new one is subscribed. At most once per interval.
   */
  private void deaf() {
    if (deafRounds.incrementAndGet() < DEAF_ROUNDS || closing) {
      return;
    }
    long now = System.nanoTime();
    long last = lastReplaced.get();
    if (now - last < REPLACE_INTERVAL_NANOS || !lastReplaced.compareAndSet(last, now)) {
      return;
    }
    deafRounds.set(0);
    StatefulRedisPubSubConnection<byte[], byte[]> broken;
    synchronized (this) {
      broken = pubSub;
      pubSub = null; // from now on, events of the broken connection are ignored
      if (broken != null) {
        dropped("the bus connection stopped delivering");
      }
    }
    if (broken != null) {
      LOG.warn("bus heartbeats reach Redis but do not come back; replacing the Pub/Sub connection");
      broken.closeAsync();
      kick();
    }
  }

  private List<BusChannel> allChannels() {
    List<BusChannel> all = new java.util.ArrayList<>(channels.values());
    all.add(heartbeatChannel);
    return all;
  }

  private void suspectAll(String reason) {
    channels.values().forEach(c -> c.subscribers.forEach(s -> s.suspect(reason)));
  }

  /** How many heartbeat rounds wait for echoes; for tests that they do not pile up. */
  int heartbeatsInFlight() {
    return heartbeats.inFlight();
  }

  /** The Pub/Sub connection in use, or null; for tests that act on it as Redis or another client could. */
  StatefulRedisPubSubConnection<byte[], byte[]> pubSubConnection() {
    return pubSub;
  }

  /** How many deliveries wait for, or run on, the delivery thread; for tests of the delivery order. */
  int deliveriesWaiting() {
    return queued.get();
  }

  /** How many malformed or foreign frames arrived; for tests and diagnostics. */
  long malformedFrames() {
    return malformed.get();
  }

  /**
   * Hands messages to the listeners of their channel, echoes to the heartbeats, probes to their waiters, in arrival
   * order.
   *
   * <p>Where: a message whose items all invalidate single keys ({@link #INLINE_ITEMS} at most) is handed over on
   * Lettuce's event loop, as it arrives, when nothing handed to the bus's delivery thread is still waiting or running;
   * everything else (tags, prefixes, patterns, {@code all}, custom strategies, echoes, probes, malformed frames) goes
   * to that thread. The listener's side of one key is bounded and short (the cache removes one L1 entry under its
   * key's stripe of the log), while a many-key invalidation sweeps the L1 and runs user matchers, which must not stall
   * the connection's I/O (issue 9 defect 19). The hand-over to a second thread was the largest part of the
   * cross-node invalidation latency that the bus added to a raw Pub/Sub round (benchmarks, suite 5): one more thread
   * to wake and schedule, on each instance, for every message, its own included.
   *
   * <p>Order: one thread receives (the connection's event loop), and a message is delivered inline only when every
   * message that arrived before it has been delivered ({@link #queued} is zero), so messages,
   * echoes and probes are still handed over in arrival order. A heartbeat's echo is handled only after every message
   * that arrived before it was handed over, which is what its proof rests on.
   */
  private final class Delivery extends RedisPubSubAdapter<byte[], byte[]> {

    @Override
    public void message(byte[] channelBytes, byte[] payload) {
      long number = arrivals.incrementAndGet();
      if (queued.get() == 0 && payload.length <= INLINE_BYTES) {
        Arrival arrival = arrive(channelBytes, payload, number);
        if (arrival == null) {
          return; // a channel just unsubscribed
        }
        if (arrival.inline()) {
          deliver(arrival);
          return;
        }
        handOff(() -> deliver(arrival));
        return;
      }
      handOff(() -> {
        Arrival arrival = arrive(channelBytes, payload, number);
        if (arrival != null) {
          deliver(arrival);
        }
      });
    }

    private void handOff(Runnable delivery) {
      queued.incrementAndGet();
      try {
        deliveries.execute(() -> {
          try {
            delivery.run();
          } finally {
            queued.decrementAndGet();
          }
        });
      } catch (java.util.concurrent.RejectedExecutionException closed) {
        queued.decrementAndGet(); // the bus is closing: nothing listens any more
      }
    }

    /** Decodes a frame and finds its channel; null when nobody listens on the channel any more. */
    private Arrival arrive(byte[] channelBytes, byte[] payload, long number) {
      String name = new String(channelBytes, StandardCharsets.UTF_8);
      BusChannel channel = name.equals(heartbeatChannel.name) ? heartbeatChannel : channels.get(name);
      if (channel == null) {
        return null;
      }
      try {
        BusFrames.Frame frame = BusFrames.read(payload);
        if (frame.isHeartbeat() != (channel == heartbeatChannel)) {
          throw new IllegalArgumentException("a frame of the wrong kind for its channel");
        }
        return new Arrival(name, channel, frame, null, number);
      } catch (IllegalArgumentException e) {
        return new Arrival(name, channel, null, e, number);
      }
    }

    private void deliver(Arrival arrival) {
      BusChannel channel = arrival.channel();
      BusFrames.Frame frame = arrival.frame();
      if (frame == null) {
        long count = malformed.incrementAndGet();
        malformedWarning.warn(() -> LOG.warn("malformed frame on bus channel '{}' ({}); {} so far, caches clear"
            + " their L1", LogText.safe(arrival.name()), arrival.failure().getMessage(), count));
        clearFor(arrival);
        return;
      }
      if (frame.isHeartbeat()) {
        deafRounds.set(0);
        heartbeats.echoed(frame.round(), frame.node());
      } else if (frame.probe() != null) {
        CompletableFuture<Void> echo = probes.get(frame.probe());
        if (echo != null) {
          echo.complete(null);
        }
      } else {
        if (frame.version() > 0 && channel.cache != null && frame.bucket() < keys.buckets()) {
          seen.observeAnnounced(channel.cache, frame.bucket(), frame.version());
        }
        channel.subscribers.forEach(s -> s.deliver(frame.message()));
      }
    }

    /**
     * A malformed frame may have been an invalidation this instance cannot read: the caches of its channel (all of
     * them, for the heartbeat channel) clear their L1 before anything that arrived after it is delivered, unless a
     * clear that started after it arrived already did (a flood that waited in the queue costs one clear). Never
     * later: the staleness bound holds against frames this instance cannot read too.
     */
    private void clearFor(Arrival arrival) {
      BusChannel channel = arrival.channel();
      if (arrival.number() <= channel.clearedThrough) {
        return;
      }
      long through = arrivals.get();
      if (channel == heartbeatChannel) {
        heartbeatChannel.clearedThrough = through;
        channels.values().forEach(c -> c.clearedThrough = through);
        suspectAll("malformed frames on the bus");
      } else {
        channel.clearedThrough = through;
        channel.subscribers.forEach(s -> s.suspect("malformed frames on the bus"));
      }
    }

    /**
     * Redis no longer sends a channel to this connection. Expected only for a channel nobody listens on any more; for
     * one still in use and confirmed, its subscription is gone (an UNSUBSCRIBE of a closed cache that reached Redis
     * after a new cache of the same name subscribed again, or one sent by anyone holding the connection): nothing
     * published on it arrives any more while heartbeats on their own channel still would. Its listeners hear lost,
     * and it is subscribed again (then suspect and restored). An unconfirmed one has its SUBSCRIBE still to come.
     */
    @Override
    public void unsubscribed(byte[] channelBytes, long count) {
      String name = new String(channelBytes, StandardCharsets.UTF_8);
      synchronized (RedisBus.this) {
        BusChannel channel = name.equals(heartbeatChannel.name) ? heartbeatChannel : channels.get(name);
        if (channel == null || !channel.confirmed || closing) {
          return;
        }
        LOG.warn("bus channel '{}' was unsubscribed while in use; its caches read past their L1 until it is back",
            LogText.safe(name));
        if (channel == heartbeatChannel) {
          dropped("the bus's heartbeat channel was unsubscribed"); // no round may prove anything any more
        } else {
          channel.unconfirm();
          channel.subscribers.forEach(s -> s.lost("the bus channel was unsubscribed"));
        }
      }
      kick();
    }

    @Override
    public void subscribed(byte[] channelBytes, long count) {
      String name = new String(channelBytes, StandardCharsets.UTF_8);
      synchronized (RedisBus.this) {
        BusChannel channel = name.equals(heartbeatChannel.name) ? heartbeatChannel : channels.get(name);
        if (channel == null || channel.confirmed) {
          return; // a repeated SUBSCRIBE on a live connection loses nothing
        }
        if (channel == heartbeatChannel) {
          heartbeats.reset("a new subscription began"); // no round sent before it may prove anything
        }
        channel.confirm();
        if (channel.subscribers.stream().anyMatch(BusSubscriber::hasBeenLive)) {
          LOG.info("bus channel '{}' subscribed again; its caches clear their L1", LogText.safe(name));
        }
        if (channel.subscribers.isEmpty()) {
          return; // the heartbeat channel: nobody to tell
        }
        long confirmedAt = channel.confirmedAt;
        // On the delivery thread, ahead of whatever arrives from now on: a cache that was live clears its L1 there,
        // which may sweep a large L1 or wait for a many-key invalidation that runs user matchers, and must not hold
        // the event loop meanwhile. A proof needs a heartbeat sent after this confirmation, whose echo is queued
        // behind the clear.
        // The clear runs off the bus's lock, so the channel may drop again while it runs: the subscribers are marked
        // live and told restored under the lock, as lost is, and only if this confirmation still holds (review 8).
        handOff(() -> {
          if (!channel.confirmed || channel.confirmedAt != confirmedAt) {
            return; // dropped again meanwhile: they hear restored on the next confirmation
          }
          channel.subscribers.forEach(BusSubscriber::clearIfGap);
          synchronized (RedisBus.this) {
            if (channel.confirmed && channel.confirmedAt == confirmedAt) {
              channel.subscribers.forEach(BusSubscriber::live);
            }
          }
        });
      }
    }
  }

  /**
   * A frame as it arrived: its channel, and the decoded frame or why it could not be decoded.
   *
   * @param name the channel's name
   * @param frame the decoded frame; null when malformed
   * @param failure why it is malformed; null when it is not
   * @param number its place among the frames received ({@link #arrivals})
   */
  private record Arrival(
      String name, BusChannel channel, BusFrames.Frame frame, IllegalArgumentException failure, long number) {

    /** Whether it may be delivered on the event loop: a message of a few single-key invalidations. */
    boolean inline() {
      if (frame == null || channel.cache == null || frame.message() == null) {
        return false;
      }
      List<dev.tiercache.spi.InvalidationMessage.Item> items = frame.message().invalidations();
      if (items.size() > INLINE_ITEMS) {
        return false;
      }
      for (dev.tiercache.spi.InvalidationMessage.Item item : items) {
        // An empty key is no key: the cache refuses it and clears its L1 instead, an invalidation of everything,
        // which waits for the lock that many-key invalidations hold while they run user matchers (review 7).
        if (!BusFrames.KEY.equals(item.strategy()) || item.argument().isEmpty()) {
          return false;
        }
      }
      return true;
    }
  }

  /** Under the bus's lock: no message arrives any more, and nothing sent before proves anything. */
  private void dropped(String reason) {
    heartbeats.reset(reason);
    allChannels().forEach(BusChannel::unconfirm);
    channels.values().forEach(c -> c.subscribers.forEach(s -> s.lost(reason)));
  }

  /** A dropped Pub/Sub connection loses messages from the moment it drops. */
  private final class ConnectionWatch implements RedisConnectionStateListener {

    private final StatefulRedisPubSubConnection<byte[], byte[]> watched;

    ConnectionWatch(StatefulRedisPubSubConnection<byte[], byte[]> watched) {
      this.watched = watched;
    }

    @Override
    public void onRedisDisconnected(RedisChannelHandler<?, ?> connection) {
      synchronized (RedisBus.this) {
        if (closing || watched != pubSub) {
          return; // closing, or a connection already replaced
        }
        LOG.warn("bus connection lost; caches read past their L1 until it is back and caught up");
        dropped("the bus connection dropped");
      }
    }

    @Override
    public void onRedisConnected(RedisChannelHandler<?, ?> connection, SocketAddress address) {
      kick(); // Lettuce resubscribes what it knows; this subscribes the rest
    }

    @Override
    public void onRedisExceptionCaught(RedisChannelHandler<?, ?> connection, Throwable cause) {}
  }

  @Override
  public void close() {
    StatefulRedisPubSubConnection<byte[], byte[]> connection;
    synchronized (this) {
      closing = true;
      connection = pubSub;
      pubSub = null;
      heartbeats.reset("the bus is closed");
    }
    scheduler.shutdownNow();
    deliveries.shutdown();
    if (connection != null) {
      connection.close();
    }
  }

  private static java.util.concurrent.ThreadPoolExecutor deliveryThread() {
    java.util.concurrent.ThreadPoolExecutor executor =
        new java.util.concurrent.ThreadPoolExecutor(
            1, 1, 30, java.util.concurrent.TimeUnit.SECONDS, new java.util.concurrent.LinkedBlockingQueue<>(),
            task -> {
              Thread thread = new Thread(task, "tiercache-bus-delivery");
              thread.setDaemon(true);
              return thread;
            });
    executor.allowCoreThreadTimeOut(true);
    return executor;
  }
}
