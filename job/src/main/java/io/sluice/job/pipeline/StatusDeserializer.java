package io.sluice.job.pipeline;

import io.sluice.operators.ingest.AvroJson;
import io.sluice.operators.ingest.MalformedRecordException;
import io.sluice.operators.ingest.RequestFormat;
import io.sluice.schemas.InstanceStatus;
import java.io.IOException;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.flink.api.common.serialization.AbstractDeserializationSchema;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads instance statuses back from {@code sluice.status} for the router. A record it cannot read
 * is skipped with a warning: a stray record on the topic must not stop the job.
 */
final class StatusDeserializer extends AbstractDeserializationSchema<InstanceStatus> {
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(StatusDeserializer.class);

    private final RequestFormat format;
    private transient SpecificDatumReader<InstanceStatus> reader;
    private transient BinaryDecoder decoder;

    StatusDeserializer(RequestFormat format) {
        super(InstanceStatus.class);
        this.format = format;
    }

    @Override
    public InstanceStatus deserialize(byte[] message) {
        try {
            if (format == RequestFormat.JSON) {
                return AvroJson.fromJson(AvroJson.parseObject(message), InstanceStatus.class);
            }
            if (reader == null) {
                reader = new SpecificDatumReader<>(InstanceStatus.class);
            }
            decoder = DecoderFactory.get().binaryDecoder(message, decoder);
            return reader.read(null, decoder);
        } catch (MalformedRecordException | IOException | RuntimeException e) {
            LOG.warn("skipping an unreadable record on the status topic: {}", e.toString());
            return null; // Flink's value-only deserialization drops nulls
        }
    }
}
