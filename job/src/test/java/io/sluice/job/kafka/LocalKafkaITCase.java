package io.sluice.job.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The broker of {@code sluice local}: starts, carries a record, and leaves nothing behind. */
class LocalKafkaITCase {

    @Test
    void startsCarriesARecordAndCleansUp(@TempDir Path work) throws Exception {
        ProcessHandle broker;
        try (LocalKafka kafka = LocalKafka.start(work, 0)) {
            broker = kafka.process();
            kafka.createTopics(1, List.of("hello"));
            Properties p = new Properties();
            p.put("bootstrap.servers", kafka.bootstrapServers());
            try (var producer = new KafkaProducer<>(p, new StringSerializer(), new StringSerializer())) {
                producer.send(new ProducerRecord<>("hello", "k", "world")).get();
            }
            p.putAll(Map.of("group.id", "g", "auto.offset.reset", "earliest"));
            try (var consumer = new KafkaConsumer<>(p, new StringDeserializer(), new StringDeserializer())) {
                consumer.subscribe(List.of("hello"));
                ConsumerRecord<String, String> record = null;
                long end = System.nanoTime() + Duration.ofSeconds(30).toNanos();
                while (record == null && System.nanoTime() < end) {
                    var records = consumer.poll(Duration.ofMillis(200));
                    if (!records.isEmpty()) {
                        record = records.iterator().next();
                    }
                }
                assertThat(record).isNotNull();
                assertThat(record.value()).isEqualTo("world");
            }
        }
        assertThat(broker.isAlive()).as("broker process ended").isFalse();
        try (var left = Files.list(work)) {
            assertThat(left).as("broker folder removed").isEmpty();
        }
    }
}
