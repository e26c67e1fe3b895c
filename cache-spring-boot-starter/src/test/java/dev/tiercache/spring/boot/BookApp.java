package dev.tiercache.spring.boot;

import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.springframework.cache.annotation.CacheEvict;
import org.springframework.cache.annotation.CachePut;
import org.springframework.cache.annotation.Cacheable;
import org.springframework.cache.annotation.EnableCaching;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.transaction.annotation.Transactional;

/** A small application: books in H2, read through a counting repository, cached with Spring's annotations. */
@Configuration(proxyBeanMethods = false)
@EnableCaching
class BookApp {

  /** A cached value. */
  public record Book(String id, String title) {}

  @Bean
  BookRepository bookRepository(JdbcTemplate jdbc) {
    return new BookRepository(jdbc);
  }

  @Bean
  BookService bookService(BookRepository repository) {
    return new BookService(repository);
  }

  /** Reads books from H2 and counts the reads; a gate can hold reads until a test opens it. */
  static class BookRepository {
    final JdbcTemplate jdbc;
    final AtomicInteger reads = new AtomicInteger();
    volatile CountDownLatch gate;
    final CountDownLatch entered = new CountDownLatch(1);

    BookRepository(JdbcTemplate jdbc) {
      this.jdbc = jdbc;
    }

    Book find(String id) {
      reads.incrementAndGet();
      entered.countDown();
      CountDownLatch held = gate;
      try {
        if (held != null && !held.await(20, TimeUnit.SECONDS)) {
          throw new IllegalStateException("the test never opened the gate");
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
      List<Book> found =
          jdbc.query("select id, title from book where id = ?", (r, i) -> new Book(r.getString(1), r.getString(2)), id);
      return found.isEmpty() ? null : found.get(0);
    }

    void rename(String id, String title) {
      jdbc.update("update book set title = ? where id = ?", title, id);
    }
  }

  /** The cached service. */
  static class BookService {
    final BookRepository repository;

    BookService(BookRepository repository) {
      this.repository = repository;
    }

    @Cacheable("books")
    public Book find(String id) {
      return repository.find(id);
    }

    @Cacheable(cacheNames = "books", sync = true)
    public Book findSync(String id) {
      return repository.find(id);
    }

    @CacheEvict("books")
    public void evict(String id) {}

    @CacheEvict(cacheNames = "books", allEntries = true)
    public void evictAll() {}

    @Transactional
    @CachePut(cacheNames = "books", key = "#p0")
    public Book rename(String id, String title) {
      repository.rename(id, title);
      return new Book(id, title);
    }

    @Transactional
    @CacheEvict(cacheNames = "books", key = "#p0")
    public void renameAndEvict(String id, String title) {
      repository.rename(id, title);
    }
  }
}
