package dev.tiercache.redis.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps track of every redis-server this JVM started so none outlives it.
 *
 * <p>A normal exit runs the shutdown hook. A JVM that is killed outright (a surefire fork timeout sends SIGKILL)
 * runs no hook, so each server also leaves a marker {@code server.pid} under {@code <tmp>/tiercache-redis/<jvm pid>/};
 * the next JVM that uses the fixture kills the servers of JVMs that are gone. A marker records the process start
 * time too, so a recycled pid that now belongs to something else is never killed.
 */
final class ProcessRegistry {

    private static final Logger LOG = LoggerFactory.getLogger(ProcessRegistry.class);
    private static final Path ROOT = Path.of(System.getProperty("java.io.tmpdir"), "tiercache-redis");
    private static final String MARKER = "server.pid";
    private static final Set<RedisNode> LIVE = ConcurrentHashMap.newKeySet();

    private static Path jvmDir;

    private ProcessRegistry() {
    }

    /** Where the embedded binary is extracted, shared by all JVMs on the machine. */
    static Path binDir() {
        return ROOT.resolve("bin");
    }

    /** This JVM's working area; the first call also sweeps what dead JVMs left behind. */
    static synchronized Path jvmDir() {
        if (jvmDir == null) {
            sweepStale();
            Path dir = ROOT.resolve(Long.toString(ProcessHandle.current().pid()));
            try {
                Files.createDirectories(dir);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot create " + dir, e);
            }
            Runtime.getRuntime().addShutdownHook(new Thread(ProcessRegistry::killAll, "tiercache-redis-reaper"));
            jvmDir = dir;
        }
        return jvmDir;
    }

    static void started(RedisNode node, ProcessHandle handle, Path nodeDir) {
        LIVE.add(node);
        String marker = handle.pid() + " " + handle.info().startInstant().map(Instant::toEpochMilli).orElse(-1L);
        try {
            Files.writeString(nodeDir.resolve(MARKER), marker, StandardCharsets.UTF_8);
        } catch (IOException e) {
            LOG.warn("cannot write pid marker in {}: {}", nodeDir, e.toString());
        }
    }

    static void stopped(RedisNode node, Path nodeDir) {
        LIVE.remove(node);
        try {
            Files.deleteIfExists(nodeDir.resolve(MARKER));
        } catch (IOException e) {
            LOG.debug("cannot delete pid marker in {}: {}", nodeDir, e.toString());
        }
    }

    static void deleteTree(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException | UncheckedIOException e) {
            LOG.debug("cannot delete {}: {}", dir, e.toString());
        }
    }

    private static void killAll() {
        for (RedisNode node : List.copyOf(LIVE)) {
            node.killForShutdown();
        }
        if (jvmDir != null) {
            deleteTree(jvmDir);
        }
    }

    private static void sweepStale() {
        if (!Files.isDirectory(ROOT)) {
            return;
        }
        try (DirectoryStream<Path> jvms = Files.newDirectoryStream(ROOT, "[0-9]*")) {
            for (Path dir : jvms) {
                long ownerPid = Long.parseLong(dir.getFileName().toString());
                if (ProcessHandle.of(ownerPid).map(ProcessHandle::isAlive).orElse(false)) {
                    continue;
                }
                try (Stream<Path> markers = Files.walk(dir, 2)) {
                    markers.filter(p -> p.getFileName().toString().equals(MARKER))
                            .forEach(ProcessRegistry::killStale);
                }
                deleteTree(dir);
            }
        } catch (IOException | RuntimeException e) {
            LOG.warn("could not sweep stale Redis test servers under {}: {}", ROOT, e.toString());
        }
    }

    private static void killStale(Path marker) {
        try {
            String[] parts = Files.readString(marker, StandardCharsets.UTF_8).trim().split(" ");
            long pid = Long.parseLong(parts[0]);
            long startMillis = Long.parseLong(parts[1]);
            Optional<ProcessHandle> handle = ProcessHandle.of(pid)
                    .filter(h -> h.info().startInstant().map(Instant::toEpochMilli).orElse(-2L) == startMillis)
                    .filter(h -> h.info().command().map(c -> c.contains("redis-server")).orElse(false));
            handle.ifPresent(h -> {
                LOG.warn("killing redis-server pid {} left behind by a JVM that is gone ({})", pid, marker);
                h.destroyForcibly();
            });
        } catch (IOException | RuntimeException e) {
            LOG.debug("ignoring unreadable marker {}: {}", marker, e.toString());
        }
    }
}
