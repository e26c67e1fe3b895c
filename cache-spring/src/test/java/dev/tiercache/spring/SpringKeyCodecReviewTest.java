package dev.tiercache.spring;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.springframework.cache.interceptor.SimpleKey;

/** Review (s14): {@link SpringKeyCodec}'s "the same string in every JVM", checked against a second JDK. */
class SpringKeyCodecReviewTest {

  /** Keys whose encodings are compared; Double.toString of the first ones changed in JDK 19 (JDK-4511638). */
  static List<Object> keys() {
    return List.of(1.0E23, 2.0E23, new SimpleKey("price", 1.0E23), List.of(2.0E23), 42L, "plain");
  }

  /** Prints each key's encoding, one a line: run by the test on another JDK. */
  public static void main(String[] args) {
    for (Object key : keys()) {
      System.out.println(SpringKeyCodec.standard().encode(key));
    }
  }

  /**
   * Breaks: README "Keys": "{@code SpringKeyCodec} maps keys to the same string in every JVM", and its javadoc ("the
   * same in every JVM (so two instances address the same Redis entry)").
   *
   * <p>How: a {@code Double} (or {@code Float}) key, alone or inside a {@code SimpleKey}, list or record, is encoded
   * with {@code Double.toString}, whose output changed in JDK 19 (JDK-4511638): {@code 1.0E23} is
   * {@code ~double:9.999999999999999E22} on JDK 17 and {@code ~double:1.0E23} on JDK 19 and later. The project builds
   * for Java 17 and runs on later JDKs (Spring Boot 4 too), so a fleet mid-upgrade (or instances on different JDKs)
   * keeps two Redis entries for one key, and an eviction from one JDK misses the other's entry and L1 copy: a stale
   * read that no eviction ends. This test runs the codec on a second JDK found on the machine (the system property
   * {@code review.otherJdk}, else the first of {@code /usr/lib/jvm/*} whose {@code java} is another version) and
   * compares; it is skipped only where no second JDK exists.
   */
  @Test
  void aDoubleKeyEncodesTheSameOnJdk17AndOnLaterJdks() throws Exception {
    Path otherJava = otherJava();
    Assumptions.assumeTrue(otherJava != null, "no second JDK on this machine");
    Path out = Files.createTempFile("keys", ".txt");
    try {
      Process process =
          new ProcessBuilder(
                  otherJava.toString(), "-cp", System.getProperty("java.class.path"), getClass().getName())
              .redirectErrorStream(true)
              .redirectOutput(out.toFile())
              .start();
      if (!process.waitFor(60, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        throw new AssertionError("the second JDK did not finish in 60 s");
      }
      List<String> there = Files.readAllLines(out, StandardCharsets.UTF_8);
      assertThat(process.exitValue()).as("second JDK's output: %s", there).isZero();
      List<String> here = new ArrayList<>();
      for (Object key : keys()) {
        here.add(SpringKeyCodec.standard().encode(key));
      }
      assertThat(here)
          .as("encodings on Java %s (here) and on %s", System.getProperty("java.version"), otherJava)
          .isEqualTo(there);
    } finally {
      Files.deleteIfExists(out);
    }
  }

  private static Path otherJava() throws Exception {
    String configured = System.getProperty("review.otherJdk");
    if (configured != null) {
      return Path.of(configured, "bin", "java");
    }
    Path home = Path.of(System.getProperty("java.home")).toRealPath();
    File[] jvms = new File("/usr/lib/jvm").listFiles();
    if (jvms == null) {
      return null;
    }
    for (File jvm : jvms) {
      Path java = jvm.toPath().resolve("bin").resolve("java");
      if (Files.isExecutable(java) && !jvm.toPath().toRealPath().equals(home) && !sameFeature(jvm.toPath(), home)) {
        return java;
      }
    }
    return null;
  }

  /** Whether a JDK directory holds the same feature release as this one (by its {@code release} file). */
  private static boolean sameFeature(Path jdk, Path home) throws Exception {
    Path release = jdk.toRealPath().resolve("release");
    if (!Files.exists(release)) {
      return true;
    }
    String feature = String.valueOf(Runtime.version().feature());
    for (String line : Files.readAllLines(release)) {
      if (line.startsWith("JAVA_VERSION=")) {
        String version = line.substring("JAVA_VERSION=".length()).replace("\"", "");
        return version.equals(feature) || version.startsWith(feature + ".");
      }
    }
    return true;
  }
}
