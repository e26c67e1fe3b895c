package dev.tiercache.redis;

import dev.tiercache.spi.InvalidationBus;
import dev.tiercache.spi.InvalidationMessage;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** A bus listener that records what it was told, in order, for tests of the bus's contract. */
class RecordingListener implements InvalidationBus.Listener {

  final List<InvalidationMessage> messages = new CopyOnWriteArrayList<>();
  /** "lost", "suspect", "restored" in the order they were called. */
  final List<String> events = new CopyOnWriteArrayList<>();

  @Override
  public void onMessage(InvalidationMessage message) {
    messages.add(message);
  }

  @Override
  public void onSuspect(String reason) {
    events.add("suspect");
  }

  @Override
  public void onConnectionLost(String reason) {
    events.add("lost");
  }

  @Override
  public void onConnectionRestored() {
    events.add("restored");
  }

  long count(String event) {
    return events.stream().filter(event::equals).count();
  }

  static InvalidationMessage message(String origin, long sequence, String key) {
    return new InvalidationMessage(
        origin, sequence, System.currentTimeMillis(), List.of(new InvalidationMessage.Item("key", key)));
  }
}
