package dev.tiercache.codec;

/** Thrown by a codec that cannot encode a value or decode bytes. */
public class CodecException extends RuntimeException {

  /**
   * Creates an exception.
   *
   * @param message what went wrong; must not contain the value itself (it may hold personal data)
   * @param cause the underlying failure, or null
   */
  public CodecException(String message, Throwable cause) {
    super(message, cause);
  }

  /**
   * Creates an exception.
   *
   * @param message what went wrong; must not contain the value itself (it may hold personal data)
   */
  public CodecException(String message) {
    super(message);
  }
}
