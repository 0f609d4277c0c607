package io.sluice.job.local;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;

/** Ports for the servers local mode and the tests start on this machine. */
public final class Ports {

    private Ports() {}

    /** A port that was free a moment ago (the system's choice). */
    public static int free() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    /**
     * Checks that a server of local mode can listen on {@code port}: in range, and nothing listening on it
     * already (a broker or a Flink cluster of an earlier run, another user's), so a taken port is a message
     * before anything starts rather than a failed start.
     *
     * @param option the flag that set the port, for the message
     * @param allowZero whether 0 (a free port, chosen at start) is allowed
     */
    public static void checkAvailable(String option, int port, boolean allowZero) {
        if (port == 0 && allowZero) {
            return;
        }
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException(option + " must be 1..65535" + (allowZero ? " (0 = a free port)" : "")
                    + ", got " + port);
        }
        try (ServerSocket socket = new ServerSocket()) {
            socket.setReuseAddress(true); // a port in TIME_WAIT from an earlier run is free to reuse
            socket.bind(new InetSocketAddress(port));
        } catch (IOException e) {
            throw new IllegalArgumentException(option + " " + port + " is in use (" + e.getMessage()
                    + "); stop what listens there or pick another port with " + option);
        }
    }
}
