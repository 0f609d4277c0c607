package io.sluice.job.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Properties;
import org.junit.jupiter.api.Test;

/** Producer defaults for latency, and the user's --kafka-property winning over them. */
class KafkaIoTest {

    @Test
    void producersSendAtOnceUnlessToldOtherwise() {
        Properties user = new Properties();
        user.put("security.protocol", "PLAINTEXT");
        Properties props = KafkaIo.producerProperties(user);
        assertThat(props.getProperty("linger.ms")).as("Kafka 4's default is 5 ms").isEqualTo("0");
        assertThat(props.getProperty("security.protocol")).isEqualTo("PLAINTEXT");
        assertThat(user).as("the caller's properties stay as they were").doesNotContainKey("linger.ms");

        user.put("linger.ms", "5");
        assertThat(KafkaIo.producerProperties(user).getProperty("linger.ms")).isEqualTo("5");
    }
}
