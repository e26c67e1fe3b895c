package dev.tiercache.spring.sample;

/**
 * A row of the sample's book table, and the cached value.
 *
 * @param id the key
 * @param title the title
 */
public record Book(long id, String title) {}
