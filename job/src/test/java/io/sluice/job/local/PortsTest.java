package io.sluice.job.local;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetSocketAddress;
import java.net.ServerSocket;
import org.junit.jupiter.api.Test;

/** Local mode's port check: a taken or impossible port is a message before anything starts. */
class PortsTest {

    @Test
    void aPortSomethingListensOnIsRejectedWithTheFlag() throws Exception {
        try (ServerSocket taken = new ServerSocket()) {
            taken.bind(new InetSocketAddress("localhost", 0));
            int port = taken.getLocalPort();
            assertThatThrownBy(() -> Ports.checkAvailable("--web-port", port, false))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("--web-port " + port + " is in use");
        }
    }

    @Test
    void aFreePortPassesAndZeroOnlyWhereAllowed() throws Exception {
        int free = Ports.free();
        assertThatCode(() -> Ports.checkAvailable("--kafka-port", free, true)).doesNotThrowAnyException();
        assertThatCode(() -> Ports.checkAvailable("--kafka-port", 0, true)).doesNotThrowAnyException();
        assertThatThrownBy(() -> Ports.checkAvailable("--web-port", 0, false))
                .hasMessage("--web-port must be 1..65535, got 0");
        assertThatThrownBy(() -> Ports.checkAvailable("--kafka-port", 70000, true))
                .hasMessage("--kafka-port must be 1..65535 (0 = a free port), got 70000");
    }
}
