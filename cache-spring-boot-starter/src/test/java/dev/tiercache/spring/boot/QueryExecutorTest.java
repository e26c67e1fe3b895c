package dev.tiercache.spring.boot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.tiercache.query.CachedQueryExecutor;
import dev.tiercache.query.Query;
import dev.tiercache.query.RowMapper;
import dev.tiercache.redis.RedisTier;
import dev.tiercache.redis.testing.RedisExtension;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.transaction.support.TransactionTemplate;

/** The CachedQueryExecutor bean, joined to Spring transactions, on real Redis and H2, with two instances. */
class QueryExecutorTest {

  @RegisterExtension static RedisExtension redis = RedisExtension.standalone();

  /**
   * A row.
   *
   * @param id the account
   * @param balance its balance
   */
  public record Account(long id, long balance) {}

  private static final String BALANCE = "SELECT id, balance FROM accounts WHERE id = ?";
  private static final RowMapper<Account> ACCOUNT = (rs, n) -> new Account(rs.getLong(1), rs.getLong(2));

  private final ApplicationContextRunner withoutRowTypes =
      Contexts.onRedis(redis)
          .withConfiguration(Contexts.JDBC)
          .withPropertyValues(
              "spring.datasource.url=jdbc:h2:mem:accounts;DB_CLOSE_DELAY=-1",
              "spring.datasource.generate-unique-name=false");

  private final ApplicationContextRunner runner =
      withoutRowTypes.withPropertyValues("tiercache.query.row-types=" + Account.class.getName());

  @Test
  void declaredWhenCacheQueryAndADataSourceArePresent() {
    runner.run(context -> {
      assertThat(context).hasSingleBean(CachedQueryExecutor.class);
      assertThat(context).hasBean("tiercacheQueryCache");
      assertThat(context).as("the executor alone is reason enough for the L2").hasSingleBean(RedisTier.class);
    });
    Contexts.onRedis(redis).run(context -> {
      assertThat(context).doesNotHaveBean(CachedQueryExecutor.class);
      assertThat(context).as("nothing uses Redis").doesNotHaveBean(RedisTier.class);
    });
    runner.withPropertyValues("tiercache.query.enabled=false")
        .run(context -> assertThat(context).doesNotHaveBean(CachedQueryExecutor.class));
    runner.withClassLoader(new FilteredClassLoader(CachedQueryExecutor.class)).run(context -> {
      assertThat(context).hasNotFailed();
      assertThat(context).doesNotHaveBean("tiercacheQueryCache");
    });
    withoutRowTypes.run(context -> {
      assertThat(context).as("no row types, no executor").doesNotHaveBean(CachedQueryExecutor.class);
      assertThat(context).as("and nothing uses Redis").doesNotHaveBean(RedisTier.class);
    });
    withoutRowTypes.withPropertyValues("tiercache.l2.enabled=false")
        .run(context -> assertThat(context).as("L1 only: one instance").hasSingleBean(CachedQueryExecutor.class));
  }

  @Test
  void writesInATransactionInvalidateEveryInstanceAfterCommitAndNeverOnRollback() {
    runner.run(a -> {
      JdbcTemplate jdbc = a.getBean(JdbcTemplate.class);
      jdbc.execute("drop table if exists accounts");
      jdbc.execute("create table accounts (id bigint primary key, balance bigint)");
      jdbc.update("insert into accounts values (1, 100)");
      runner.run(b -> {
        CachedQueryExecutor onA = a.getBean(CachedQueryExecutor.class);
        CachedQueryExecutor onB = b.getBean(CachedQueryExecutor.class);
        assertThat(onA.queryOne(BALANCE, ACCOUNT, 1L).orElseThrow().balance()).isEqualTo(100);
        assertThat(onB.queryOne(BALANCE, ACCOUNT, 1L).orElseThrow().balance()).isEqualTo(100);
        String key = onB.keyOf(Query.sql(BALANCE, 1L));
        assertThat(onB.cache().getIfPresent(key)).isNotNull();

        TransactionTemplate tx = a.getBean(TransactionTemplate.class);
        tx.executeWithoutResult(status -> {
          onA.update("UPDATE accounts SET balance = 50 WHERE id = ?", 1L);
          assertThat(onA.queryOne(BALANCE, ACCOUNT, 1L).orElseThrow().balance())
              .as("the executor reads on the transaction's connection").isEqualTo(50);
          assertThat(jdbc.queryForObject("select balance from accounts where id = 1", Long.class))
              .as("and so does the application's JdbcTemplate").isEqualTo(50);
          status.setRollbackOnly();
        });
        assertThat(onB.cache().getIfPresent(key)).as("nothing invalidated on rollback").isNotNull();
        assertThat(onB.queryOne(BALANCE, ACCOUNT, 1L).orElseThrow().balance()).isEqualTo(100);
        assertThat(onA.queryOne(BALANCE, ACCOUNT, 1L).orElseThrow().balance()).isEqualTo(100);

        tx.executeWithoutResult(status -> {
          onA.update("UPDATE accounts SET balance = 70 WHERE id = ?", 1L);
          assertThat(onB.cache().getIfPresent(key)).as("not before the commit").isNotNull();
        });
        assertThat(onA.queryOne(BALANCE, ACCOUNT, 1L).orElseThrow().balance()).isEqualTo(70);
        await().atMost(Duration.ofSeconds(2))
            .until(() -> onB.queryOne(BALANCE, ACCOUNT, 1L).orElseThrow().balance() == 70);
      });
    });
  }
}
