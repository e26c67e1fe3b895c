package dev.tiercache;

/**
 * Thrown by {@link TieredCache#invalidate}, {@link TieredCache#put} and their relatives when an invalidation could not
 * reach Redis (the L2) or the bus within the L2 timeout. It tells the caller the truth without losing anything:
 *
 * <ul>
 *   <li>on this instance the invalidation took effect before this was thrown: no read here returns a value it
 *       covers;
 *   <li>it waits in the bounded pending queue (the {@code cache.l2.pending} gauge) and is applied to the L2 and
 *       published to the other instances, in order, as soon as they can be reached; until then this instance does
 *       not read or write the L2;
 *   <li>until then the other instances may still serve what it covers, for as long as they can reach Redis
 *       themselves: an instance cut off from Redis cannot tell them.
 * </ul>
 *
 * <p>Callers that must know every instance dropped the old value (say, before acknowledging a write to a user) treat
 * it as a failure; callers that only want the cache to catch up can ignore it. Reads never throw it.
 */
public class InvalidationPendingException extends RuntimeException {

  private static final long serialVersionUID = 1L;

  private final transient Invalidation invalidation;

  /**
   * Creates the exception.
   *
   * @param cache the cache's name
   * @param invalidation what is pending
   * @param cause why the L2 or the bus could not take it, or null
   */
  public InvalidationPendingException(String cache, Invalidation invalidation, Throwable cause) {
    // The argument may be a key: it stays out of the message, which applications tend to log.
    super(
        "cache '" + cache + "': a " + invalidation.strategy().name() + " invalidation is applied on this instance"
            + " but could not reach Redis or the other instances yet; it is queued and retried",
        cause);
    this.invalidation = invalidation;
  }

  /**
   * Returns what is pending.
   *
   * @return the invalidation (for a {@code put}, the invalidation of its key)
   */
  public Invalidation invalidation() {
    return invalidation;
  }
}
