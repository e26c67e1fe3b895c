package dev.tiercache.spring.sample;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.cache.CacheManager;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * Runs {@link SampleApplication} as two instances (two Spring Boot application contexts, each with its own Redis
 * connections and invalidation bus, as two JVMs would have) on one Redis and one H2 database, and shows what the
 * starter's defaults do: one database read for sixteen concurrent callers, local hits, and an {@code @CacheEvict}
 * on one instance reaching the other's L1. Started by {@code ./spring-sample.sh}.
 */
public final class TwoInstances {

  private TwoInstances() {}

  /**
   * Starts a Redis through the provider chain and runs the sample.
   *
   * @param args ignored
   * @throws Exception if the sample fails
   */
  public static void main(String[] args) throws Exception {
    try (SampleRedis redis = new SampleRedis()) {
      run(redis.host(), redis.port(), System.out, 200_000);
    }
  }

  /**
   * Runs the sample against a Redis.
   *
   * @param host the Redis host
   * @param port the Redis port
   * @param out where the story is told
   * @param hits how many local hits to time, per round
   * @return how many milliseconds the second instance took to see the first one's eviction
   * @throws Exception if a step fails
   */
  static long run(String host, int port, PrintStream out, int hits) throws Exception {
    try (ConfigurableApplicationContext one = start("instance-1", host, port);
        ConfigurableApplicationContext two = start("instance-2", host, port)) {
      JdbcTemplate jdbc = one.getBean(JdbcTemplate.class);
      jdbc.execute("create table if not exists book (id bigint primary key, title varchar(200))");
      jdbc.execute("merge into book values (1, 'Dune'), (2, 'Emma')");
      BookService first = one.getBean(BookService.class);
      BookService second = two.getBean(BookService.class);

      out.println("instance-1 reads book 1: " + first.find(1).title()
          + " (database reads on instance-1: " + first.databaseReads() + ")");
      out.println("instance-2 reads book 1: " + second.find(1).title()
          + " (database reads on instance-2: " + second.databaseReads() + ", it came from Redis)");
      for (int round = 1; round <= 3; round++) {
        long start = System.nanoTime();
        for (int i = 0; i < hits; i++) {
          second.find(1);
        }
        out.printf("instance-2 reads book 1 %d more times (round %d): %.2f us per read (local L1 hits)%n",
            hits, round, (System.nanoTime() - start) / 1000.0 / hits);
      }

      int before = second.databaseReads();
      ExecutorService callers = Executors.newFixedThreadPool(16);
      try {
        List<Future<Book>> reads = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
          reads.add(callers.submit(() -> second.find(2)));
        }
        for (Future<Book> read : reads) {
          read.get(30, TimeUnit.SECONDS);
        }
      } finally {
        callers.shutdownNow();
      }
      out.println("16 concurrent readers of book 2 on instance-2: "
          + (second.databaseReads() - before) + " database read");

      first.rename(1, "Dune Messiah");
      long evicted = System.nanoTime();
      CacheManager secondCaches = two.getBean(CacheManager.class);
      long deadline = evicted + TimeUnit.SECONDS.toNanos(10);
      while (secondCaches.getCache("books").get(1L) != null) {
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("instance-2 still holds book 1 ten seconds after the eviction");
        }
        Thread.onSpinWait();
      }
      long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - evicted);
      out.println("instance-1 renames book 1 (@CacheEvict after commit); instance-2 dropped it after " + millis
          + " ms");
      out.println("instance-2 reads book 1: " + second.find(1).title());
      return millis;
    }
  }

  private static ConfigurableApplicationContext start(String name, String host, int port) {
    return new SpringApplicationBuilder(SampleApplication.class)
        .web(WebApplicationType.NONE)
        .properties(
            "spring.application.name=" + name,
            "spring.data.redis.host=" + host,
            "spring.data.redis.port=" + port,
            "spring.datasource.url=jdbc:h2:mem:sample;DB_CLOSE_DELAY=-1",
            "spring.datasource.generate-unique-name=false")
        .run();
  }
}
