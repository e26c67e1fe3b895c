package dev.tiercache.query;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Locale;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import javax.sql.DataSource;
import org.h2.jdbcx.JdbcDataSource;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * A real SQL database for one test class: an in-memory H2 database by default, or, when {@code JDBC_URL} is set to
 * a PostgreSQL URL (credentials in the URL), a fresh schema there that is dropped afterwards. The same tests run
 * against either.
 */
final class TestDatabase implements AutoCloseable {

  private final String url;
  private final String schema;

  private TestDatabase(String url, String schema) {
    this.url = url;
    this.schema = schema;
  }

  static TestDatabase create() {
    String suffix = Long.toString(ThreadLocalRandom.current().nextLong() >>> 1, 36);
    String external = System.getenv("JDBC_URL");
    if (external == null || external.isBlank()) {
      return new TestDatabase("jdbc:h2:mem:tq_" + suffix + ";DB_CLOSE_DELAY=-1", null);
    }
    if (!external.startsWith("jdbc:postgresql:")) {
      throw new IllegalStateException("JDBC_URL must be a jdbc:postgresql: URL (or unset, for H2)");
    }
    TestDatabase db = new TestDatabase(external, "tq_" + suffix);
    db.execAs(null, "CREATE SCHEMA " + db.schema);
    return db;
  }

  boolean isPostgres() {
    return schema != null;
  }

  String binaryType() {
    return isPostgres() ? "BYTEA" : "VARBINARY(64)";
  }

  /** A new data source on this database; several of them (one per node) share its tables. */
  DataSource dataSource() {
    if (isPostgres()) {
      PGSimpleDataSource ds = new PGSimpleDataSource();
      ds.setUrl(url);
      ds.setCurrentSchema(schema);
      return ds;
    }
    JdbcDataSource ds = new JdbcDataSource();
    ds.setURL(url);
    return ds;
  }

  /** A data source that counts the connections it hands out, that is the database round trips of a test. */
  CountingDataSource countingDataSource() {
    return new CountingDataSource(dataSource());
  }

  void exec(String... statements) {
    execAs(schema, statements);
  }

  private void execAs(String currentSchema, String... statements) {
    DataSource ds = currentSchema == null && isPostgres() ? plainPostgres() : dataSource();
    try (Connection c = ds.getConnection(); Statement s = c.createStatement()) {
      for (String sql : statements) {
        s.execute(sql);
      }
    } catch (SQLException e) {
      throw new IllegalStateException("test setup failed: " + e.getMessage(), e);
    }
  }

  private DataSource plainPostgres() {
    PGSimpleDataSource ds = new PGSimpleDataSource();
    ds.setUrl(url);
    return ds;
  }

  @Override
  public void close() {
    if (isPostgres()) {
      execAs(null, "DROP SCHEMA " + schema + " CASCADE");
    } else {
      exec("SHUTDOWN");
    }
  }

  @Override
  public String toString() {
    return isPostgres() ? "PostgreSQL schema " + schema : "H2 " + url.toLowerCase(Locale.ROOT);
  }

  /** Counts {@code getConnection} calls; everything else goes to the real data source. */
  static final class CountingDataSource {
    final AtomicInteger connections = new AtomicInteger();
    final DataSource proxy;

    CountingDataSource(DataSource target) {
      proxy =
          (DataSource)
              Proxy.newProxyInstance(
                  DataSource.class.getClassLoader(),
                  new Class<?>[] {DataSource.class},
                  (p, method, args) -> {
                    if (method.getName().equals("getConnection")) {
                      connections.incrementAndGet();
                    }
                    try {
                      return method.invoke(target, args);
                    } catch (InvocationTargetException e) {
                      throw e.getCause();
                    }
                  });
    }

    int connections() {
      return connections.get();
    }
  }
}
