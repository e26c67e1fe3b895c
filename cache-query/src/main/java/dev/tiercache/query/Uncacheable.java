package dev.tiercache.query;

import java.util.List;

/**
 * Carries a result that was read but must not be cached (read on a connection that may be inside someone's
 * transaction, or larger than the executor's row limit) out of the cache's loader, so that the cache stores
 * nothing. Only the thread that read it may use the rows; a thread that joined the same load reads for itself.
 */
final class Uncacheable extends RuntimeException {

  private final transient List<?> rows;
  private final transient Thread reader;

  Uncacheable(List<?> rows, String why) {
    super(why, null, false, false);
    this.rows = rows;
    this.reader = Thread.currentThread();
  }

  /** The rows, for the thread that read them; null for any other thread. */
  List<?> rowsFor(Thread thread) {
    return thread == reader ? rows : null;
  }
}
