package dev.tiercache.query;

import java.sql.SQLException;
import java.util.Objects;

/** Wraps a {@link SQLException} from the database, the way {@link java.io.UncheckedIOException} wraps I/O errors. */
public class UncheckedSQLException extends RuntimeException {

  /**
   * Creates an exception.
   *
   * @param message what the executor was doing; never holds parameter values
   * @param cause the database's exception
   * @throws NullPointerException if {@code cause} is null
   */
  public UncheckedSQLException(String message, SQLException cause) {
    super(message, Objects.requireNonNull(cause, "cause"));
  }

  /**
   * Returns the database's exception.
   *
   * @return the cause
   */
  @Override
  public synchronized SQLException getCause() {
    return (SQLException) super.getCause();
  }
}
