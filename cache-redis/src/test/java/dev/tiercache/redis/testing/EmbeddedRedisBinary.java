package dev.tiercache.redis.testing;

import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;
import redis.embedded.RedisServer;
import redis.embedded.core.ExecutableProvider;
import redis.embedded.model.OsArchitecture;

/**
 * Extracts the real {@code redis-server} that {@code com.github.codemonstur:embedded-redis} ships as a jar resource.
 *
 * <p>Kept in its own class so that a module using the fixture without embedded-redis on its test class path only
 * fails this one provider (with NoClassDefFoundError, caught by the chain) instead of failing to load the fixture.
 *
 * <p>The library's own {@code RedisServer} would do the extraction too, but it builds the command line itself and
 * leaves one 10 MB temporary copy per JVM behind (it marks the directory, not the file, deleteOnExit). Here the
 * library only tells which resource fits this OS/arch, and the file is extracted once per machine and reused.
 */
final class EmbeddedRedisBinary {

    private EmbeddedRedisBinary() {
    }

    static Path extract(Path binDir) throws IOException {
        OsArchitecture osArch = OsArchitecture.detectOSandArchitecture();
        Map<OsArchitecture, String> resources = ExecutableProvider.newProvidedVersionsMap();
        String resource = resources.get(osArch);
        if (resource == null) {
            throw new IOException("embedded-redis ships no redis-server for " + osArch.os + "/" + osArch.arch);
        }
        URL url = RedisServer.class.getResource(resource);
        if (url == null) {
            throw new IOException("resource " + resource + " missing from the embedded-redis jar");
        }
        long expectedSize = url.openConnection().getContentLengthLong();
        Path target = binDir.resolve(resource.substring(resource.lastIndexOf('/') + 1));
        if (Files.isRegularFile(target) && Files.isExecutable(target)
                && (expectedSize < 0 || Files.size(target) == expectedSize)) {
            return target;
        }
        Files.createDirectories(binDir);
        // A private temp file plus an atomic rename: concurrent JVMs never see or exec a half-written binary.
        Path tmp = Files.createTempFile(binDir, target.getFileName().toString(), ".part");
        try {
            try (InputStream in = url.openStream()) {
                Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
            }
            if (!tmp.toFile().setExecutable(true, false)) {
                throw new IOException("cannot make " + tmp + " executable");
            }
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
        return target;
    }
}
