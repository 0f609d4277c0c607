package io.sluice.job.kafka;

import io.sluice.operators.ingest.AvroJson;
import io.sluice.operators.ingest.RawRecord;
import io.sluice.operators.ingest.RawRecordDeserializer;
import io.sluice.operators.ingest.RequestFormat;
import java.nio.charset.StandardCharsets;
import java.util.Properties;
import org.apache.avro.specific.SpecificRecordBase;
import org.apache.flink.api.common.serialization.SerializationSchema;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.flink.connector.kafka.sink.KafkaSink;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.formats.avro.AvroSerializationSchema;
import org.apache.flink.util.function.SerializableFunction;
import org.apache.kafka.clients.consumer.OffsetResetStrategy;
import org.apache.kafka.clients.producer.ProducerConfig;

/** Builds the job's Kafka source and sinks for a bootstrap address, format and client properties. */
public final class KafkaIo {

    private final String bootstrap;
    private final RequestFormat format;
    private final Properties properties;

    /**
     * @param properties passed through to every client (security settings and the like)
     */
    public KafkaIo(String bootstrap, RequestFormat format, Properties properties) {
        this.bootstrap = bootstrap;
        this.format = format;
        this.properties = properties;
    }

    /**
     * The request source, values kept as raw bytes (decoding happens in the pipeline so a bad
     * record is a dead letter, not a failure). A bounded source stops at the offsets that are
     * latest when the job starts, for tests and replays.
     */
    public KafkaSource<RawRecord> requestSource(String topic, String groupId, boolean bounded) {
        var builder = KafkaSource.<RawRecord>builder()
                .setBootstrapServers(bootstrap)
                .setTopics(topic)
                .setGroupId(groupId)
                .setProperties(properties)
                // Resume where the group left off; a new group starts at the beginning.
                .setStartingOffsets(OffsetsInitializer.committedOffsets(OffsetResetStrategy.EARLIEST))
                .setDeserializer(new RawRecordDeserializer());
        if (bounded) {
            builder.setBounded(OffsetsInitializer.latest());
        }
        return builder.build();
    }

    /**
     * A sink of one record type, in the job's format, with a record key from {@code key}, or
     * none when {@code key} is null.
     * At-least-once: a replay after a failure repeats token events unchanged (by request id and index); a
     * request served again has a second metrics record with the replay's times (README, Failures and restarts).
     */
    public <T extends SpecificRecordBase> KafkaSink<T> sink(
            String topic, Class<T> type, SerializableFunction<T, String> key) {
        var schema = KafkaRecordSerializationSchema.<T>builder()
                .setTopic(topic)
                .setValueSerializationSchema(valueSchema(type));
        if (key != null) {
            schema.setKeySerializationSchema(new KeySchema<>(key));
        }
        return KafkaSink.<T>builder()
                .setBootstrapServers(bootstrap)
                .setKafkaProducerConfig(producerProperties(properties))
                .setRecordSerializer(schema.build())
                .setDeliveryGuarantee(DeliveryGuarantee.AT_LEAST_ONCE)
                .build();
    }

    /**
     * Producer settings for latency, under the caller's (which win). Kafka 4's default {@code linger.ms=5}
     * holds every token up to 5 ms for a batch that at low load never fills; at 0 a record goes out at once,
     * and under load batches still form from what queues while earlier requests are in flight.
     */
    public static Properties producerProperties(Properties overrides) {
        Properties props = new Properties();
        props.put(ProducerConfig.LINGER_MS_CONFIG, "0");
        props.putAll(overrides);
        return props;
    }

    /** The values the sinks write: Avro binary of the record's schema, or plain JSON ({@link AvroJson}). */
    public <T extends SpecificRecordBase> SerializationSchema<T> valueSchema(Class<T> type) {
        return format == RequestFormat.AVRO ? AvroSerializationSchema.forSpecific(type) : new JsonSchema<>();
    }

    /** Plain JSON values (a class, not a lambda: Flink infers the schema's type from it). */
    private static final class JsonSchema<T extends SpecificRecordBase> implements SerializationSchema<T> {
        private static final long serialVersionUID = 1L;

        @Override
        public byte[] serialize(T element) {
            return AvroJson.toJson(element);
        }
    }

    /** A UTF-8 record key taken from each element. */
    private static final class KeySchema<T> implements SerializationSchema<T> {
        private static final long serialVersionUID = 1L;
        private final SerializableFunction<T, String> key;

        KeySchema(SerializableFunction<T, String> key) {
            this.key = key;
        }

        @Override
        public byte[] serialize(T element) {
            return key.apply(element).getBytes(StandardCharsets.UTF_8);
        }
    }
}
