package dev.tiercache;

/** Thrown when the cache could not do what it was asked, for example when the L2 failed to apply an invalidation. */
public class CacheException extends RuntimeException {

  /**
   * Creates an exception.
   *
   * @param message what failed; never holds a value
   * @param cause the underlying failure, or null
   */
  public CacheException(String message, Throwable cause) {
    super(message, cause);
  }
}
