package io.sluice.job.local;

import java.io.IOException;
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
}
