package dev.tiercache.redis;

import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.NavigableSet;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The heartbeat rounds of one bus. A round is numbered, published once on every node that may publish invalidations
 * (one standalone server, or every Cluster master), and comes back when every node's echo has: Redis hands a
 * subscriber what one node published in the order that node executed it, so the echo of a node proves that every
 * message that node executed before it has been delivered. Echoes come back on the bus's Pub/Sub connection, behind
 * the invalidations, and are matched here.
 *
 * <p>Lost echoes: a node's echo of round {@code n} arriving while an earlier round published on that node never
 * came back means something published on that node may have been lost (a Cluster link that dropped, a node that
 * died): the bus is told through {@code onLoss}. Rounds that do not come back fail after the timeout, so futures
 * never pile up; what is remembered of them is bounded too.
 */
final class Heartbeats {

  /** Where a round is published: one node. */
  interface Target {
    /** A stable id of the node, carried in the frame. */
    String node();

    /** Publishes the frame on the bus's heartbeat channel, on this node. */
    CompletableFuture<?> publish(byte[] frame);
  }

  /** The nodes a round is published on now. */
  interface Targets {
    List<Target> current();
  }

  /** Unreturned rounds remembered per node; beyond it the oldest are forgotten, later ones still reveal a loss. */
  static final int REMEMBERED = 1024;

  private final Targets targets;
  private final long timeoutNanos;
  private final Consumer<String> onLoss;
  private final Runnable onDeaf;
  private final Map<Long, Round> inFlight = new ConcurrentHashMap<>();
  private final Map<String, NavigableSet<Long>> unreturned = new ConcurrentHashMap<>();
  private long lastRound;
  private Round current;

  /**
   * @param onLoss told when an echo came back while an earlier one of the same node never did
   * @param onDeaf told when a round timed out although every node executed its publish: Redis sent the echoes and
   *     they did not arrive, so the Pub/Sub connection is broken (half-open) rather than Redis slow
   */
  Heartbeats(Targets targets, Duration timeout, Consumer<String> onLoss, Runnable onDeaf) {
    this.targets = targets;
    this.timeoutNanos = timeout.toNanos();
    this.onLoss = onLoss;
    this.onDeaf = onDeaf;
  }

  /**
   * Sends a round, or joins the round in flight if it was sent after {@code notBefore} (a {@link System#nanoTime()}).
   *
   * @return the send time of a round that came back from every node; exceptionally after the timeout or if a
   *     publish failed
   */
  synchronized CompletableFuture<Long> beat(long notBefore) {
    if (current != null && !current.done.isDone() && current.sentAt - notBefore >= 0) {
      return current.done.thenApply(t -> t); // a copy: one caller's cancel does not touch the others
    }
    List<Target> nodes = targets.current();
    if (nodes.isEmpty()) {
      return CompletableFuture.failedFuture(new IllegalStateException("no Redis node to send a heartbeat to"));
    }
    long number = ++lastRound;
    Set<String> ids = new HashSet<>();
    nodes.forEach(t -> ids.add(t.node()));
    // A node no longer published on (a demoted or dead master) is no longer watched: nothing is kept per node
    // forever. If it left with heartbeats outstanding it may have died with messages it was still relaying.
    boolean leftWithOutstanding = unreturned.entrySet().stream()
        .anyMatch(e -> !ids.contains(e.getKey()) && !e.getValue().isEmpty());
    unreturned.keySet().retainAll(ids);
    if (leftWithOutstanding) {
      onLoss.accept("a Redis node left the topology with heartbeats that never came back");
    }
    Round round = new Round(System.nanoTime(), ConcurrentHashMap.newKeySet());
    round.awaiting.addAll(ids);
    Set<String> executed = ConcurrentHashMap.newKeySet();
    inFlight.put(number, round);
    round.done
        .orTimeout(timeoutNanos, TimeUnit.NANOSECONDS)
        .whenComplete((t, failure) -> {
          inFlight.remove(number, round);
          if (failure instanceof java.util.concurrent.TimeoutException && executed.containsAll(ids)) {
            onDeaf.run();
          }
        });
    current = round;
    for (Target target : nodes) {
      NavigableSet<Long> sent = unreturned.computeIfAbsent(target.node(), n -> new ConcurrentSkipListSet<>());
      sent.add(number);
      if (sent.size() > REMEMBERED) {
        sent.pollFirst();
      }
      target
          .publish(BusFrames.heartbeat(number, target.node()))
          .whenComplete((receivers, failure) -> {
            if (failure != null) {
              round.done.completeExceptionally(failure);
            } else {
              executed.add(target.node());
            }
          });
    }
    return round.done.thenApply(t -> t);
  }

  /** An echo came back; called on the Pub/Sub connection's thread, in delivery order. */
  void echoed(long number, String node) {
    NavigableSet<Long> sent = unreturned.get(node);
    if (sent != null) {
      NavigableSet<Long> older = sent.headSet(number, false);
      boolean lost = !older.isEmpty();
      older.clear();
      sent.remove(number);
      if (lost) {
        onLoss.accept("a heartbeat published on a Redis node never came back while a later one did");
      }
    }
    Round round = inFlight.get(number);
    if (round != null && round.awaiting.remove(node) && round.awaiting.isEmpty()) {
      round.done.complete(round.sentAt);
    }
  }

  /**
   * Forgets every round: the connection they would come back on is gone, or a new one began, so none of them may
   * prove anything any more.
   */
  synchronized void reset(String reason) {
    IllegalStateException failure = new IllegalStateException(reason);
    inFlight.values().forEach(round -> round.done.completeExceptionally(failure));
    inFlight.clear();
    unreturned.clear();
    current = null;
  }

  /** How many rounds are waiting for echoes; for tests of boundedness. */
  int inFlight() {
    return inFlight.size();
  }

  private record Round(long sentAt, Set<String> awaiting, CompletableFuture<Long> done) {
    Round(long sentAt, Set<String> awaiting) {
      this(sentAt, awaiting, new CompletableFuture<>());
    }
  }
}
