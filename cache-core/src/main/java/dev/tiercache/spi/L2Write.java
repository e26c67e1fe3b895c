package dev.tiercache.spi;

import java.util.Objects;

/**
 * A conditional write: the entry a load produced and the version of the L2 read that preceded the load.
 *
 * @param entry the entry to write
 * @param version the {@link L2Read#version() version} of the read that preceded the load of this entry's key
 */
public record L2Write(L2Entry entry, long version) {

  /**
   * Validates the components.
   *
   * @throws NullPointerException if {@code entry} is null
   */
  public L2Write {
    Objects.requireNonNull(entry, "entry");
  }
}
