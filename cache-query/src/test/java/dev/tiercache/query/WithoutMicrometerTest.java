package dev.tiercache.query;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tiercache.TieredCache;
import java.io.File;
import java.net.MalformedURLException;
import java.net.URL;
import java.net.URLClassLoader;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Micrometer is optional: without it on the class path, an executor built without a registry works. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class WithoutMicrometerTest {

  /** Runs inside a class loader that cannot see Micrometer. */
  public static final class Probe {
    public static List<Object> run() {
      TieredCache<String, QueryResult> cache = TieredCache.<String, QueryResult>builder("probe").build();
      try {
        CachedQueryExecutor executor = CachedQueryExecutor.builder(cache).build();
        List<Object> out = new ArrayList<>();
        out.addAll(executor.execute(Query.sql("SELECT name FROM users WHERE id = ?", 1), () -> List.of("first")));
        out.addAll(executor.execute(Query.sql("SELECT name FROM users WHERE id = ?", 1), () -> List.of("second")));
        out.addAll(executor.tagsOf(Query.sql("SELECT * FROM orders")).asSet());
        executor.invalidateTables("users");
        out.addAll(executor.execute(Query.sql("SELECT name FROM users WHERE id = ?", 1), () -> List.of("third")));
        return out;
      } finally {
        cache.close();
      }
    }
  }

  @Test
  void theExecutorLoadsNoMicrometerClassUnlessGivenARegistry() throws Exception {
    String classPath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    List<URL> urls = new ArrayList<>();
    for (String entry : classPath.split(File.pathSeparator)) {
      if (!entry.contains("micrometer")) {
        urls.add(url(entry));
      }
    }
    assertThat(urls).as("the class path has entries besides Micrometer").hasSizeGreaterThan(3);
    try (URLClassLoader isolated = new URLClassLoader(urls.toArray(URL[]::new), ClassLoader.getPlatformClassLoader())) {
      assertThatThrownBy(() -> isolated.loadClass("io.micrometer.core.instrument.MeterRegistry"))
          .isInstanceOf(ClassNotFoundException.class);
      Object result = isolated.loadClass(Probe.class.getName()).getMethod("run").invoke(null);
      assertThat(result).isEqualTo(List.of("first", "first", "table:orders", "third"));
    }
  }

  private static URL url(String entry) {
    try {
      return new File(entry).toURI().toURL();
    } catch (MalformedURLException e) {
      throw new IllegalStateException(e);
    }
  }
}
