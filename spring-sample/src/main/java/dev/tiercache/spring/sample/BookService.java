package dev.tiercache.spring.sample;

import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.springframework.cache.annotation.CacheEvict;
import org.springframework.cache.annotation.Cacheable;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Service;
import org.springframework.transaction.annotation.Transactional;

/** Plain Spring caching: nothing in this class knows about Tiercache. */
@Service
public class BookService {

  private final JdbcTemplate jdbc;
  private final AtomicInteger databaseReads = new AtomicInteger();

  /**
   * Creates the service.
   *
   * @param jdbc the database
   */
  public BookService(JdbcTemplate jdbc) {
    this.jdbc = jdbc;
  }

  /**
   * Reads a book, through the cache; concurrent callers for one id share one database read.
   *
   * @param id the book id
   * @return the book, or null if there is none
   */
  @Cacheable(cacheNames = "books", sync = true)
  public Book find(long id) {
    databaseReads.incrementAndGet();
    List<Book> rows =
        jdbc.query("select id, title from book where id = ?", (r, i) -> new Book(r.getLong(1), r.getString(2)), id);
    return rows.isEmpty() ? null : rows.get(0);
  }

  /**
   * Renames a book and evicts it from every instance's cache once the transaction commits.
   *
   * @param id the book id
   * @param title the new title
   */
  @Transactional
  @CacheEvict(cacheNames = "books", key = "#p0")
  public void rename(long id, String title) {
    jdbc.update("update book set title = ? where id = ?", title, id);
  }

  /**
   * Returns how many times this instance read the database.
   *
   * @return the count
   */
  public int databaseReads() {
    return databaseReads.get();
  }
}
