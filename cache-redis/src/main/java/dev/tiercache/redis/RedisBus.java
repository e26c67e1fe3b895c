package dev.tiercache.redis;

import static dev.tiercache.redis.KeySpace.bytes;

import dev.tiercache.spi.InvalidationBus;
import dev.tiercache.spi.InvalidationMessage;
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
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The invalidation bus on Redis Pub/Sub: one channel per cache, one Pub/Sub connection per tier, opened on the first
 * subscription. Lettuce reconnects and resubscribes by itself; because Pub/Sub keeps nothing for a subscriber that
 * was away, every resubscription (and every disconnect) tells the listeners that messages may have been lost.
 */
final class RedisBus implements InvalidationBus {

  private static final Logger LOG = LoggerFactory.getLogger(RedisBus.class);

  /** Opens the Pub/Sub connection of a standalone or Cluster client. */
  interface Connector {
    StatefulRedisPubSubConnection<byte[], byte[]> connect();
  }

  private final KeySpace keys;
  private final RedisConnections connections;
  private final Connector connector;
  private final Duration probeTimeout;
  private final Map<String, List<Listener>> listeners = new ConcurrentHashMap<>();
  private final Map<String, CompletableFuture<Void>> probes = new ConcurrentHashMap<>();
  /** Channels whose first SUBSCRIBE was confirmed; a later confirmation is a resubscription. */
  private final Map<String, Boolean> subscribedOnce = new ConcurrentHashMap<>();
  private StatefulRedisPubSubConnection<byte[], byte[]> pubSub;
  private volatile boolean closing;

  RedisBus(KeySpace keys, RedisConnections connections, Connector connector, Duration probeTimeout) {
    this.keys = keys;
    this.connections = connections;
    this.connector = connector;
    this.probeTimeout = probeTimeout;
    connections.whenConnected(this::connectedLate);
  }

  @Override
  public CompletableFuture<Void> publish(String cache, InvalidationMessage message) {
    return connections
        .call(c -> c.publish(bytes(keys.channel(cache)), BusFrames.message(message)).toCompletableFuture())
        .thenApply(receivers -> null);
  }

  /**
   * Subscribes, then proves the channel works end to end by sending itself a probe and waiting for it, so that a
   * wrong server, an ACL without Pub/Sub rights or a codec mismatch fails here, loudly.
   *
   * @throws IllegalStateException if the probe does not come back within the probe timeout
   */
  @Override
  public synchronized Subscription subscribe(String cache, Listener listener) {
    String channel = keys.channel(cache);
    List<Listener> list = listeners.computeIfAbsent(channel, c -> new CopyOnWriteArrayList<>());
    list.add(listener);
    if (!connections.isConnected()) {
      // Started while Redis is down: the cache runs on its L1 for the grace period, then past it until Redis is up.
      listener.onConnectionLost("Redis is not reachable yet");
      return () -> unsubscribe(channel, listener);
    }
    try {
      if (list.size() == 1) {
        connection().sync().subscribe(bytes(channel));
      }
      probe(channel);
    } catch (RuntimeException e) {
      unsubscribe(channel, listener);
      throw e;
    }
    return () -> unsubscribe(channel, listener);
  }

  /** Redis appeared after the caches subscribed: subscribe their channels now, then let them trust their L1 again. */
  private synchronized void connectedLate() {
    if (listeners.isEmpty()) {
      return;
    }
    try {
      for (String channel : listeners.keySet()) {
        connection().sync().subscribe(bytes(channel));
        probe(channel);
      }
    } catch (RuntimeException e) {
      LOG.error("the bus could not subscribe once Redis was reachable: {}", e.getMessage());
      return;
    }
    listeners.values().forEach(list -> list.forEach(l -> {
      l.onSuspect("the bus connected late");
      l.onConnectionRestored();
    }));
  }

  private synchronized void unsubscribe(String channel, Listener listener) {
    List<Listener> list = listeners.get(channel);
    if (list != null && list.remove(listener) && list.isEmpty() && pubSub != null && pubSub.isOpen()) {
      listeners.remove(channel);
      subscribedOnce.remove(channel);
      pubSub.async().unsubscribe(bytes(channel));
    }
  }

  private void probe(String channel) {
    String token = UUID.randomUUID().toString();
    CompletableFuture<Void> echo = new CompletableFuture<>();
    probes.put(token, echo);
    try {
      connections
          .call(c -> c.publish(bytes(channel), BusFrames.probe(token)).toCompletableFuture())
          .get(probeTimeout.toMillis(), TimeUnit.MILLISECONDS);
      echo.get(probeTimeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while probing the bus channel '" + channel + "'", e);
    } catch (ExecutionException | TimeoutException e) {
      throw new IllegalStateException(
          "the bus channel '" + channel + "' did not deliver its probe within " + probeTimeout
              + ": check that the L2 and the bus reach the same Redis and that the user may PUBLISH and SUBSCRIBE",
          e instanceof ExecutionException ? e.getCause() : e);
    } finally {
      probes.remove(token);
    }
  }

  private synchronized StatefulRedisPubSubConnection<byte[], byte[]> connection() {
    if (pubSub == null) {
      StatefulRedisPubSubConnection<byte[], byte[]> opened = connector.connect();
      opened.addListener(new Delivery());
      opened.addListener(new ConnectionWatch());
      pubSub = opened;
    }
    return pubSub;
  }

  /** Hands messages to the listeners of their channel. */
  private final class Delivery extends RedisPubSubAdapter<byte[], byte[]> {

    @Override
    public void message(byte[] channelBytes, byte[] payload) {
      String channel = new String(channelBytes, StandardCharsets.UTF_8);
      List<Listener> list = listeners.getOrDefault(channel, List.of());
      BusFrames.Frame frame;
      try {
        frame = BusFrames.read(payload);
      } catch (IllegalArgumentException e) {
        LOG.warn("undecodable message on bus channel '{}': {}", channel, e.getMessage());
        list.forEach(l -> l.onSuspect("an undecodable message on the bus"));
        return;
      }
      if (frame.probe() != null) {
        CompletableFuture<Void> echo = probes.get(frame.probe());
        if (echo != null) {
          echo.complete(null);
        }
        return;
      }
      for (Listener listener : list) {
        try {
          listener.onMessage(frame.message());
        } catch (RuntimeException e) {
          LOG.warn("a bus listener of channel '{}' failed: {}", channel, e.toString());
        }
      }
    }

    @Override
    public void subscribed(byte[] channelBytes, long count) {
      String channel = new String(channelBytes, StandardCharsets.UTF_8);
      if (subscribedOnce.putIfAbsent(channel, Boolean.TRUE) != null) {
        // Lettuce resubscribed after a reconnect: whatever was published meanwhile is gone.
        LOG.info("bus channel '{}' resubscribed; its caches clear their L1", channel);
        listeners.getOrDefault(channel, List.of()).forEach(l -> {
          l.onSuspect("the bus resubscribed");
          l.onConnectionRestored();
        });
      }
    }
  }

  /** A dropped Pub/Sub connection loses messages from the moment it drops. */
  private final class ConnectionWatch implements RedisConnectionStateListener {

    @Override
    public void onRedisDisconnected(io.lettuce.core.RedisChannelHandler<?, ?> connection) {
      if (closing) {
        return;
      }
      LOG.warn("bus connection lost; caches serve their L1 for their grace period, and clear it when it is back");
      listeners.values().forEach(list -> list.forEach(l -> l.onConnectionLost("the bus connection dropped")));
    }

    @Override
    public void onRedisConnected(io.lettuce.core.RedisChannelHandler<?, ?> connection, SocketAddress address) {}

    @Override
    public void onRedisExceptionCaught(io.lettuce.core.RedisChannelHandler<?, ?> connection, Throwable cause) {}
  }

  @Override
  public synchronized void close() {
    closing = true;
    if (pubSub != null) {
      pubSub.close();
      pubSub = null;
    }
  }
}
