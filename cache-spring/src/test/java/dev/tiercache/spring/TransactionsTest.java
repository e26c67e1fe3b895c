package dev.tiercache.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.tiercache.redis.testing.RedisExtension;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.h2.jdbcx.JdbcDataSource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.cache.Cache;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

/** Transaction-aware caches and the query seam on a real H2 transaction manager and real Redis. */
class TransactionsTest {

  @RegisterExtension static RedisExtension redis = RedisExtension.standalone();

  private TwoManagers two;
  private TransactionTemplate tx;

  @BeforeEach
  void start() {
    redis.flushAll();
    two = new TwoManagers(redis, m -> m.transactionAware(true));
    JdbcDataSource h2 = new JdbcDataSource();
    h2.setURL("jdbc:h2:mem:transactions;DB_CLOSE_DELAY=-1");
    tx = new TransactionTemplate(new DataSourceTransactionManager(h2));
  }

  @AfterEach
  void stop() {
    two.close();
  }

  @Test
  void putAndEvictWaitForTheCommitAndVanishOnRollback() {
    Cache a = two.a.getCache("books");
    Cache b = two.b.getCache("books");
    a.put("kept", "old");
    assertThatThrownBy(() -> tx.executeWithoutResult(status -> {
      a.put("k", "rolled back");
      a.evict("kept");
      throw new IllegalStateException("rollback");
    })).hasMessage("rollback");
    assertThat(a.get("k")).isNull();
    assertThat(b.get("k")).isNull();
    assertThat(b.get("kept").get()).isEqualTo("old");

    tx.executeWithoutResult(status -> {
      a.put("k", "committed");
      assertThat(a.get("k")).as("not before the commit").isNull();
    });
    assertThat(b.get("k").get()).isEqualTo("committed");
  }

  @Test
  void tagEvictionsInATransactionWaitForTheCommit() {
    Cache a = two.a.getCache("books");
    a.put("user:1", "x");
    TiercacheEvictor evictor = new TiercacheEvictor(two.a);
    tx.executeWithoutResult(status -> {
      evictor.evictPrefix("books", "user:");
      assertThat(a.get("user:1")).isNotNull();
      status.setRollbackOnly();
    });
    assertThat(a.get("user:1")).isNotNull();
    tx.executeWithoutResult(status -> evictor.evictPrefix("books", "user:"));
    await().atMost(Duration.ofSeconds(2)).until(() -> two.b.getCache("books").get("user:1") == null);
    assertThat(a.get("user:1")).isNull();
  }

  @Test
  void springTransactionSyncRunsTasksAfterCommitOnly() {
    SpringTransactionSync sync = SpringTransactionSync.instance();
    List<String> ran = new ArrayList<>();
    assertThat(sync.isActive()).isFalse();
    assertThatThrownBy(() -> sync.afterCommit(() -> ran.add("outside"))).isInstanceOf(IllegalStateException.class);
    tx.executeWithoutResult(status -> {
      assertThat(sync.isActive()).isTrue();
      sync.afterCommit(() -> ran.add("rolled back"));
      status.setRollbackOnly();
    });
    tx.executeWithoutResult(status -> {
      sync.afterCommit(() -> ran.add("committed"));
      assertThat(ran).isEmpty();
    });
    assertThat(ran).containsExactly("committed");
  }
}
