package dev.tiercache.spring.boot4;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.cache.annotation.CacheEvict;
import org.springframework.cache.annotation.Cacheable;
import org.springframework.cache.annotation.EnableCaching;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** A Boot 4 application as a user writes it: auto-configuration from the class path, caching on, no cache code. */
@Configuration(proxyBeanMethods = false)
@EnableAutoConfiguration
@EnableCaching
class Boot4App {

  /** What the JSON codec stores in Redis. */
  record Book(String id, String title) {}

  /** The "database": counts its reads; {@code gate} holds them until released, so that callers pile up. */
  static final class Books {
    final AtomicInteger reads = new AtomicInteger();
    volatile CountDownLatch gate = new CountDownLatch(0);

    Book find(String id) {
      reads.incrementAndGet();
      try {
        if (!gate.await(20, TimeUnit.SECONDS)) {
          throw new IllegalStateException("the gate was never opened");
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
      return id.startsWith("none") ? null : new Book(id, "Title of " + id);
    }
  }

  /** The cached service. */
  static class BookService {
    private final Books books;

    BookService(Books books) {
      this.books = books;
    }

    @Cacheable(cacheNames = "books", sync = true)
    public Book find(String id) {
      return books.find(id);
    }

    @CacheEvict(cacheNames = "books")
    public void evict(String id) {}
  }

  @Bean
  Books books() {
    return new Books();
  }

  @Bean
  BookService bookService(Books books) {
    return new BookService(books);
  }
}
