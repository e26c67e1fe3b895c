package dev.tiercache.redis.testing;

import io.lettuce.core.RedisURI;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.ProcessBuilder.Redirect;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.awaitility.core.ConditionTimeoutException;
import org.awaitility.core.TerminalFailureException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One {@code redis-server} process that the fixture started and controls: it can be stopped, started again on the
 * same port (with empty data: nothing is persisted), and frozen with SIGSTOP to play a hung server.
 *
 * <p>The server binds 127.0.0.1 only and keeps its log and files in a private directory under the temp dir.
 */
public final class RedisNode {

    static final String HOST = "127.0.0.1";

    private static final Logger LOG = LoggerFactory.getLogger(RedisNode.class);
    // Generous: a loaded 2-core CI machine has been seen to need more than 10 s to start a server.
    private static final Duration START_TIMEOUT = Duration.ofSeconds(30);
    private static final Duration STOP_TIMEOUT = Duration.ofSeconds(5);
    private static final Duration SIGNAL_TIMEOUT = Duration.ofSeconds(5);

    private final RedisBinary binary;
    private final int port;
    private final Path dir;
    private final List<String> extraArgs;

    // volatile: the JVM shutdown hook reads it without the lock a stuck test thread may hold.
    private volatile Process process;
    private boolean frozen;

    RedisNode(RedisBinary binary, int port, Path dir, List<String> extraArgs) {
        this.binary = binary;
        this.port = port;
        this.dir = dir;
        this.extraArgs = List.copyOf(extraArgs);
    }

    /**
     * The address the server listens on.
     *
     * @return always {@code 127.0.0.1}
     */
    public String host() {
        return HOST;
    }

    /**
     * The TCP port; it stays the same across {@link #restart()}.
     *
     * @return the loopback port
     */
    public int port() {
        return port;
    }

    /**
     * A new URI for this server; a fresh object each call because RedisURI is mutable.
     *
     * @return {@code redis://127.0.0.1:<port>} with a 10 s command timeout
     */
    public RedisURI uri() {
        return RedisURI.Builder.redis(HOST, port).withTimeout(Duration.ofSeconds(10)).build();
    }

    /**
     * The operating-system process id of the running server.
     *
     * @return the pid
     * @throws IllegalStateException if the server is not running
     */
    public synchronized long pid() {
        Process p = process;
        if (p == null || !p.isAlive()) {
            throw new IllegalStateException(this + " is not running");
        }
        return p.pid();
    }

    /**
     * Tells whether the process is alive (a frozen process is alive).
     *
     * @return true while the process exists
     */
    public synchronized boolean isRunning() {
        Process p = process;
        return p != null && p.isAlive();
    }

    /**
     * Tells whether {@link #freeze()} stopped the process and {@link #unfreeze()} has not resumed it yet.
     *
     * @return true while frozen
     */
    public synchronized boolean isFrozen() {
        return frozen && isRunning();
    }

    /**
     * Starts the server, if it is not running, and waits (at most 10 s) until it answers PING.
     *
     * @throws IllegalStateException if it exits or does not answer in time; the message carries its log
     */
    public synchronized void start() {
        if (isRunning()) {
            return;
        }
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create " + dir, e);
        }
        ProcessBuilder builder = new ProcessBuilder(command())
                .directory(dir.toFile())
                .redirectErrorStream(true)
                // A file, not a pipe: nobody has to drain it, and it survives for the failure message.
                .redirectOutput(Redirect.appendTo(logFile().toFile()));
        Process p;
        try {
            p = builder.start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot launch " + binary.path(), e);
        }
        process = p;
        frozen = false;
        ProcessRegistry.started(this, p.toHandle(), dir);
        try {
            Awaitility.await("redis-server on " + HOST + ":" + port + " answers PING")
                    .atMost(START_TIMEOUT)
                    .pollDelay(Duration.ZERO)
                    .pollInterval(Duration.ofMillis(20))
                    .ignoreExceptions()
                    .failFast("redis-server exited", () -> !p.isAlive())
                    .until(() -> RedisAdmin.ping(uri()));
        } catch (ConditionTimeoutException | TerminalFailureException e) {
            killNow();
            throw new StartFailure(this + " did not start: " + e.getMessage() + "\n--- log tail ---\n" + logTail(20),
                    logTail(20).contains("Address already in use"));
        }
        LOG.debug("started {} (pid {})", this, p.pid());
    }

    /**
     * Stops the server with SIGTERM (SIGKILL if it does not exit within 5 s); a frozen server is resumed first so
     * it can act on the SIGTERM. Data is gone afterwards: the server persists nothing.
     */
    public synchronized void stop() {
        Process p = process;
        if (p == null) {
            return;
        }
        if (frozen && p.isAlive()) {
            signal("CONT", p.pid());
        }
        p.destroy();
        try {
            if (!p.waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                LOG.warn("{} ignored SIGTERM for {}; killing it", this, STOP_TIMEOUT);
                p.destroyForcibly();
                if (!p.waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                    throw new IllegalStateException(this + " survived SIGKILL for " + STOP_TIMEOUT);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.destroyForcibly();
            throw new IllegalStateException("interrupted while stopping " + this, e);
        }
        process = null;
        frozen = false;
        ProcessRegistry.stopped(this, dir);
        LOG.debug("stopped {}", this);
    }

    /** Stops the server and starts it again on the same port with empty data; a new pid results. */
    public synchronized void restart() {
        stop();
        start();
    }

    /**
     * Sends SIGSTOP: the server keeps its socket open and accepts TCP connections, but answers nothing, like a
     * hung or GC-paused server would.
     */
    public synchronized void freeze() {
        if (frozen) {
            return;
        }
        long pid = pid();
        signal("STOP", pid);
        frozen = true;
        Path stat = Path.of("/proc", Long.toString(pid), "stat");
        if (Files.isReadable(stat)) {
            // kill returns before the kernel has stopped every thread; wait until it has, so the test's next
            // command really meets a frozen server.
            Awaitility.await(this + " reaches state T (stopped)")
                    .atMost(SIGNAL_TIMEOUT)
                    .pollDelay(Duration.ZERO)
                    .pollInterval(Duration.ofMillis(5))
                    .until(() -> processState(stat) == 'T');
        }
    }

    /** Sends SIGCONT to a frozen server and waits (at most 10 s) until it answers PING again. */
    public synchronized void unfreeze() {
        if (!frozen) {
            return;
        }
        signal("CONT", pid());
        frozen = false;
        Awaitility.await(this + " answers PING after SIGCONT")
                .atMost(START_TIMEOUT)
                .pollDelay(Duration.ZERO)
                .pollInterval(Duration.ofMillis(20))
                .ignoreExceptions()
                .until(() -> RedisAdmin.ping(uri()));
    }

    /**
     * The last lines the server wrote to its log, for failure messages.
     *
     * @param lines how many lines at most
     * @return the lines, joined with newlines; empty if there is no log yet
     */
    public String logTail(int lines) {
        try {
            if (!Files.exists(logFile())) {
                return "";
            }
            List<String> all = Files.readAllLines(logFile(), StandardCharsets.UTF_8);
            return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException | UncheckedIOException e) {
            return "(log unreadable: " + e + ")";
        }
    }

    Path dir() {
        return dir;
    }

    /** Used by the shutdown hook: no lock, no SIGTERM courtesy, SIGKILL works on a stopped process too. */
    void killForShutdown() {
        Process p = process;
        if (p != null && p.isAlive()) {
            p.destroyForcibly();
            try {
                p.waitFor(2, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private void killNow() {
        killForShutdown();
        process = null;
        frozen = false;
        ProcessRegistry.stopped(this, dir);
    }

    private List<String> command() {
        List<String> cmd = new ArrayList<>(List.of(
                binary.path().toString(),
                "--port", Integer.toString(port),
                "--bind", HOST,
                "--protected-mode", "no",
                "--save", "",
                "--appendonly", "no",
                "--daemonize", "no",
                "--dir", dir.toString()));
        if (binary.needsDebugCommandSwitch()) {
            cmd.addAll(List.of("--enable-debug-command", "local"));
        }
        cmd.addAll(extraArgs);
        return cmd;
    }

    private Path logFile() {
        return dir.resolve("redis.log");
    }

    private static char processState(Path stat) throws IOException {
        String s = Files.readString(stat, StandardCharsets.US_ASCII);
        // Format: "pid (comm) S ..."; comm may contain spaces or parentheses, so look after the last ')'.
        return s.charAt(s.lastIndexOf(')') + 2);
    }

    private void signal(String signal, long pid) {
        try {
            Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(pid)).redirectErrorStream(true).start();
            try (InputStream out = kill.getInputStream()) {
                if (!kill.waitFor(SIGNAL_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                    kill.destroyForcibly();
                    throw new IllegalStateException("kill -" + signal + " " + pid + " did not return");
                }
                if (kill.exitValue() != 0) {
                    throw new IllegalStateException("kill -" + signal + " " + pid + " failed: "
                            + new String(out.readAllBytes(), StandardCharsets.UTF_8).trim());
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot run kill -" + signal + " " + pid, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while sending SIG" + signal + " to " + pid, e);
        }
    }

    @Override
    public String toString() {
        return "redis-server " + binary.version() + " on " + HOST + ":" + port;
    }

    /** A start that failed; {@code addressInUse} lets the first start retry on another port. */
    static final class StartFailure extends IllegalStateException {
        private static final long serialVersionUID = 1L;
        final boolean addressInUse;

        StartFailure(String message, boolean addressInUse) {
            super(message);
            this.addressInUse = addressInUse;
        }
    }
}
