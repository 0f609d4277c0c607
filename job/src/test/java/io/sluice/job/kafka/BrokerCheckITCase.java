package io.sluice.job.kafka;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.sluice.job.local.Ports;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The load generator's check of its broker and topics, against a real broker. */
class BrokerCheckITCase {

    @RegisterExtension
    static final KafkaTestBroker KAFKA = new KafkaTestBroker();

    @Test
    void passesWithTheTopicsAndNamesTheMissingOnes() throws Exception {
        KAFKA.createTopics(1, "bc.requests", "bc.tokens");
        assertThatCode(() -> BrokerCheck.check(KAFKA.bootstrapServers(), new Properties(),
                List.of("bc.requests", "bc.tokens"), Duration.ofSeconds(10))).doesNotThrowAnyException();
        assertThatThrownBy(() -> BrokerCheck.check(KAFKA.bootstrapServers(), new Properties(),
                List.of("bc.requests", "bc.metrics"), Duration.ofSeconds(10)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("has no topic [bc.metrics]").hasMessageContaining("--topics-prefix");
    }

    @Test
    void aClosedPortIsOneMessage() throws Exception {
        String nowhere = "localhost:" + Ports.free();
        assertThatThrownBy(() -> BrokerCheck.check(nowhere, new Properties(), List.of("x"), Duration.ofSeconds(1)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("no Kafka broker answers at " + nowhere + " (--bootstrap)");
    }
}
