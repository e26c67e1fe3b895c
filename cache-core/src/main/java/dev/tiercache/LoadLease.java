package dev.tiercache;

import java.time.Duration;

/**
 * The load lease of one load (distributed single-flight). Its token is the load's own, not the instance's: a load
 * that an invalidation or the load timeout detached goes on, and the next load of the key on the same instance must
 * not be granted that lease as its own, or the first load's release would free it while the second still loads, and
 * another instance would load the key at the same time. The release is sent once, as soon as the flight no longer
 * needs the lease and before it completes: a {@code getAsync} caller's callbacks then run on the loading thread, and
 * the instances waiting for the lease must not wait for them. The load waits for the release only when it ends.
 */
final class LoadLease {

  private final L2Tier<?> l2;
  private final String key;
  private final String token;
  private final Duration length;
  private boolean held;
  /** Waits for the release once it was sent; null before. */
  private Runnable release;

  LoadLease(L2Tier<?> l2, String key, String token, Duration length) {
    this.l2 = l2;
    this.key = key;
    this.token = token;
    this.length = length;
  }

  /** Asks for the lease (again, if held: a replayed request is granted to the same token). */
  boolean tryTake() {
    if (l2.tryLease(key, token, length)) {
      held = true;
    }
    return held;
  }

  /** Sends the release of a held lease, once, without waiting for it. */
  void send() {
    if (held && release == null) {
      release = l2.sendReleaseLease(key, token);
    }
  }

  /** When the load ends: sends the release if it was not yet, and waits for it as the L2 tier waits for a call. */
  void end() {
    send();
    if (release != null) {
      release.run();
    }
  }
}
