package dev.tiercache.redis.testing;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/** A {@code redis-server} executable the fixture can launch, with the version it reported. */
record RedisBinary(Path path, RedisVersion version, RedisProvider provider) {

    /** Runs {@code <path> --version}; bounded because a broken binary must not hang the build. */
    static RedisBinary probe(Path path, RedisProvider provider) throws IOException {
        Process p = new ProcessBuilder(path.toString(), "--version").redirectErrorStream(true).start();
        String out;
        try (InputStream in = p.getInputStream()) {
            boolean exited = p.waitFor(10, TimeUnit.SECONDS);
            if (!exited) {
                p.destroyForcibly();
                throw new IOException(path + " --version did not answer within 10 s");
            }
            out = new String(in.readAllBytes(), StandardCharsets.UTF_8).trim();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.destroyForcibly();
            throw new IOException("interrupted while probing " + path, e);
        }
        if (p.exitValue() != 0) {
            throw new IOException(path + " --version exited with " + p.exitValue() + ": " + out);
        }
        return new RedisBinary(path, RedisVersion.parse(out.replaceFirst("^.*?v=", "")), provider);
    }

    /** The first executable {@code redis-server} on {@code PATH}, as a shell would pick it. */
    static Optional<Path> findOnPath() {
        String pathVar = System.getenv("PATH");
        if (pathVar == null || pathVar.isBlank()) {
            return Optional.empty();
        }
        for (String dir : pathVar.split(File.pathSeparator)) {
            if (dir.isBlank()) {
                continue;
            }
            Path candidate = Path.of(dir, "redis-server");
            if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
                return Optional.of(candidate);
            }
        }
        return Optional.empty();
    }

    /** Redis 7 refuses DEBUG unless told otherwise; fault tests use DEBUG SLEEP. 6.2 has no such switch. */
    boolean needsDebugCommandSwitch() {
        return version.atLeast(RedisVersion.SEVEN);
    }

    @Override
    public String toString() {
        return provider + " redis-server " + version + " at " + path;
    }
}
