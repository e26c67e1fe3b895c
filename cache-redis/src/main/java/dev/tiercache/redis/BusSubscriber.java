package dev.tiercache.redis;

import dev.tiercache.spi.InvalidationBus.Listener;
import dev.tiercache.spi.InvalidationMessage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One listener of a channel, and what it was last told, so that it hears each transition once and in the order the
 * SPI requires: lost, then suspect and restored when the subscription is confirmed again.
 */
final class BusSubscriber {

  private static final Logger LOG = LoggerFactory.getLogger(RedisBus.class);

  private enum State { NEW, LIVE, LOST }

  private final Listener listener;
  private volatile State state = State.NEW;

  BusSubscriber(Listener listener) {
    this.listener = listener;
  }

  /** Whether it was live or told lost before: a confirmation then follows a gap in delivery. */
  boolean hasBeenLive() {
    return state != State.NEW;
  }

  /** The channel is confirmed: what was published while it was not is lost, unless it is the first time. */
  void restored() {
    clearIfGap();
    live();
  }

  /**
   * The part of {@link #restored()} that may take long, run off the bus's lock: the listener clears its L1 if it was
   * live or told lost before. Harmless if the subscription drops meanwhile: the next confirmation clears again.
   */
  void clearIfGap() {
    if (state != State.NEW) {
      suspect("the bus subscribed again; what was published meanwhile is lost");
    }
  }

  /**
   * The rest of {@link #restored()}, under the bus's lock, as {@link #lost} is, and only while the confirmation it
   * follows still holds: a drop in between would otherwise be swallowed (the subscriber still marked lost) and then
   * followed by restored for a subscription that no longer receives.
   */
  void live() {
    state = State.LIVE;
    try {
      listener.onConnectionRestored();
    } catch (RuntimeException e) {
      LOG.warn("a bus listener failed on connection restored: {}", e.toString());
    }
  }

  void lost(String reason) {
    if (state == State.LOST) {
      return;
    }
    state = State.LOST;
    try {
      listener.onConnectionLost(reason);
    } catch (RuntimeException e) {
      LOG.warn("a bus listener failed on connection lost: {}", e.toString());
    }
  }

  void suspect(String reason) {
    try {
      listener.onSuspect(reason);
    } catch (RuntimeException e) {
      LOG.warn("a bus listener failed on suspect: {}", e.toString());
    }
  }

  void deliver(InvalidationMessage message) {
    try {
      listener.onMessage(message);
    } catch (RuntimeException e) {
      LOG.warn("a bus listener failed: {}", e.toString());
    }
  }
}
