package dev.tiercache.redis.testing;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Picks loopback ports for redis-server processes.
 *
 * <p>Ports come from 10000-22767, below Linux's default ephemeral range (32768+), for two reasons: a cluster node
 * also listens on port + 10000 for its bus (Redis 6.2 has no {@code cluster-port}), which must stay a valid port,
 * and {@code restart()} rebinds the same port after a stop, which an outgoing connection could otherwise have
 * taken in the meantime. A port is only a good guess until redis-server binds it, so callers retry on
 * "Address already in use".
 */
final class LoopbackPorts {

    private static final int LOW = 10_000;
    private static final int HIGH = 22_767;
    private static final int BUS_OFFSET = 10_000;
    private static final int MAX_TRIES = 200;
    /** Ports handed out by this JVM: a stopped server's port stays reserved for its restart. */
    private static final Set<Integer> HANDED_OUT = ConcurrentHashMap.newKeySet();

    private LoopbackPorts() {
    }

    static int pick(boolean withClusterBus) {
        for (int i = 0; i < MAX_TRIES; i++) {
            int port = ThreadLocalRandom.current().nextInt(LOW, HIGH + 1);
            if (HANDED_OUT.contains(port) || !bindable(port)) {
                continue;
            }
            if (withClusterBus && (HANDED_OUT.contains(port + BUS_OFFSET) || !bindable(port + BUS_OFFSET))) {
                continue;
            }
            if (HANDED_OUT.add(port)) {
                if (withClusterBus) {
                    HANDED_OUT.add(port + BUS_OFFSET);
                }
                return port;
            }
        }
        throw new IllegalStateException("no free loopback port in " + LOW + "-" + HIGH + " after " + MAX_TRIES + " tries");
    }

    private static boolean bindable(int port) {
        try (ServerSocket socket = new ServerSocket()) {
            // No SO_REUSEADDR: a port with connections still in TIME_WAIT is skipped rather than fought over.
            socket.setReuseAddress(false);
            socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 1);
            return true;
        } catch (IOException e) {
            return false;
        }
    }
}
