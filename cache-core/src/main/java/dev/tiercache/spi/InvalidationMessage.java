package dev.tiercache.spi;

import java.util.List;
import java.util.Objects;

/**
 * What one node tells the others: invalidations it applied, in order. The sequence number counts the messages of one
 * origin without gaps, so that a receiver that sees a gap knows it missed something.
 *
 * @param origin the sending node's id
 * @param sequence the sender's message counter, starting at 1 and increasing by one per message
 * @param sentAtMillis the sender's wall-clock time when it published the message, for the {@code cache.bus.lag} metric
 * @param invalidations what to invalidate, in order; not empty
 */
public record InvalidationMessage(
    String origin, long sequence, long sentAtMillis, List<Item> invalidations) {

  /**
   * Validates and copies the components.
   *
   * @throws NullPointerException if a component is null
   * @throws IllegalArgumentException if the list is empty or the sequence is not positive
   */
  public InvalidationMessage {
    Objects.requireNonNull(origin, "origin");
    invalidations = List.copyOf(Objects.requireNonNull(invalidations, "invalidations"));
    if (invalidations.isEmpty()) {
      throw new IllegalArgumentException("invalidations must not be empty");
    }
    if (sequence < 1) {
      throw new IllegalArgumentException("sequence must be positive, was " + sequence);
    }
  }

  /**
   * One invalidation as it travels: the {@link dev.tiercache.InvalidationStrategy#name() strategy's name} and its
   * argument. A receiver that does not know the strategy treats its whole L1 as suspect.
   *
   * @param strategy the strategy name
   * @param argument the key, prefix, tag or pattern
   */
  public record Item(String strategy, String argument) {

    /**
     * Validates the components.
     *
     * @throws NullPointerException if a component is null
     */
    public Item {
      Objects.requireNonNull(strategy, "strategy");
      Objects.requireNonNull(argument, "argument");
    }
  }
}
