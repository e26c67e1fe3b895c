package dev.tiercache.bench.report;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * What the figures were measured on; printed at the top of every results file.
 *
 * @param cores what {@code nproc} says (and the JVM's count when it differs)
 * @param cpu the CPU model from /proc/cpuinfo
 * @param memory total memory from /proc/meminfo
 * @param jdk the JVM's vendor, name and version
 * @param os the operating system
 * @param redis the Redis server and where it came from
 * @param revision the git revision measured, and whether the tree had changes
 * @param load the load averages (1, 5, 15 min) when the run started: the machine may be shared
 * @param date when, in UTC
 */
public record Machine(String cores, String cpu, String memory, String jdk, String os, String redis,
    String revision, String load, String date) {

  /**
   * Describes this machine; {@code redis} is given by the caller, who knows the server.
   *
   * @param revision what was measured, or null to ask git in {@code repository}
   */
  public static Machine describe(String redis, Path repository, String revision) {
    String nproc = run(repository, "nproc");
    int jvm = Runtime.getRuntime().availableProcessors();
    String cores = nproc.isEmpty() ? jvm + " (JVM)" : nproc.equals(Integer.toString(jvm)) ? nproc
        : nproc + " (JVM sees " + jvm + ")";
    String jdk = System.getProperty("java.vm.vendor") + " " + System.getProperty("java.vm.name") + " "
        + System.getProperty("java.runtime.version");
    String os = System.getProperty("os.name") + " " + System.getProperty("os.version") + " "
        + System.getProperty("os.arch");
    String head = revision != null ? "" : run(repository, "git", "rev-parse", "--short", "HEAD");
    String dirty = revision != null ? "" : run(repository, "git", "status", "--porcelain", "--untracked-files=no");
    if (revision == null) {
      revision = head.isEmpty() ? "unknown"
          : head + (dirty.isEmpty() ? "" : " with uncommitted changes in the working tree");
    }
    return new Machine(cores, cpuModel(), totalMemory(), jdk, os, redis, revision, loadAverage(),
        Instant.now().truncatedTo(ChronoUnit.SECONDS).toString());
  }

  /** Markdown bullet lines. */
  public List<String> markdown() {
    List<String> lines = new ArrayList<>();
    lines.add("- Cores: " + cores);
    lines.add("- CPU: " + cpu);
    lines.add("- Memory: " + memory);
    lines.add("- JDK: " + jdk);
    lines.add("- OS: " + os);
    lines.add("- Redis: " + redis);
    lines.add("- Tiercache revision: " + revision);
    lines.add("- Load average when the run started (1/5/15 min): " + load);
    lines.add("- Date: " + date);
    return lines;
  }

  private static String loadAverage() {
    try {
      String[] parts = Files.readString(Path.of("/proc/loadavg"), StandardCharsets.US_ASCII).trim().split("\\s+");
      return parts[0] + " / " + parts[1] + " / " + parts[2];
    } catch (IOException | RuntimeException e) {
      return "unknown";
    }
  }

  private static String cpuModel() {
    return firstValue(Path.of("/proc/cpuinfo"), "model name", "unknown");
  }

  private static String totalMemory() {
    String kb = firstValue(Path.of("/proc/meminfo"), "MemTotal", "");
    try {
      long value = Long.parseLong(kb.replace("kB", "").trim());
      return String.format(java.util.Locale.ROOT, "%.1f GiB", value / 1024.0 / 1024.0);
    } catch (NumberFormatException e) {
      return "unknown";
    }
  }

  private static String firstValue(Path file, String key, String fallback) {
    try {
      for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
        if (line.startsWith(key)) {
          int colon = line.indexOf(':');
          return colon < 0 ? fallback : line.substring(colon + 1).trim();
        }
      }
    } catch (IOException | RuntimeException e) {
      // not Linux, or not readable
    }
    return fallback;
  }

  /** A command's trimmed output, or "" if it cannot run. */
  static String run(Path directory, String... command) {
    try {
      Process p = new ProcessBuilder(command).directory(directory.toFile()).redirectErrorStream(false).start();
      try (InputStream out = p.getInputStream()) {
        if (!p.waitFor(5, TimeUnit.SECONDS)) {
          p.destroyForcibly();
          return "";
        }
        String text = new String(out.readAllBytes(), StandardCharsets.UTF_8).trim();
        return p.exitValue() == 0 ? text : "";
      }
    } catch (IOException e) {
      return "";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "";
    }
  }
}
