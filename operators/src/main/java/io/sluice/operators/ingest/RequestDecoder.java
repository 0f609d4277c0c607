package io.sluice.operators.ingest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sluice.schemas.InferenceRequest;
import java.io.IOException;
import java.time.Instant;
import org.apache.avro.Schema;
import org.apache.avro.data.TimeConversions;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificDatumReader;

/**
 * Turns the bytes of a {@code sluice.requests} record into an {@link InferenceRequest}, or says
 * why it cannot (the reason goes to the dead-letter topic). Not thread-safe: one per task.
 */
public final class RequestDecoder {

    private final RequestFormat format;
    private final BoundedReader avroReader = new BoundedReader();
    private BinaryDecoder reuse;

    public RequestDecoder(RequestFormat format) {
        this.format = format;
    }

    /**
     * Decodes one record value.
     *
     * @param receivedAt used as {@code submitted_at} when a JSON request leaves it out
     */
    public InferenceRequest decode(byte[] value, Instant receivedAt) throws MalformedRecordException {
        if (value == null || value.length == 0) {
            throw new MalformedRecordException("empty record value");
        }
        try {
            return format == RequestFormat.AVRO ? decodeAvro(value) : decodeJson(value, receivedAt);
        } catch (MalformedRecordException e) {
            // The commonest cause is a producer and a job with different --format: say so where it shows.
            int first = firstNonBlank(value);
            if (format == RequestFormat.AVRO && first == '{') {
                throw new MalformedRecordException(e.getMessage() + "; it looks like JSON, and this job reads "
                        + "Avro: send Avro, or start the job with --format json");
            }
            if (format == RequestFormat.JSON && first >= 0 && first < 0x20) {
                throw new MalformedRecordException(e.getMessage() + "; it looks binary (Avro?), and this job reads "
                        + "JSON: send JSON, or start the job with --format avro");
            }
            throw e;
        }
    }

    /** The first byte that is not JSON whitespace, -1 when there is none. */
    private static int firstNonBlank(byte[] value) {
        for (byte b : value) {
            if (b != ' ' && b != '\t' && b != '\n' && b != '\r') {
                return b & 0xff;
            }
        }
        return -1;
    }

    private InferenceRequest decodeAvro(byte[] value) throws MalformedRecordException {
        reuse = DecoderFactory.get().binaryDecoder(value, reuse);
        avroReader.recordBytes = value.length;
        try {
            InferenceRequest request = avroReader.read(null, new BoundedDecoder(reuse, value.length));
            if (!reuse.isEnd()) {
                throw new MalformedRecordException("not an Avro InferenceRequest: trailing bytes after the record");
            }
            return request;
        } catch (IOException | RuntimeException e) {
            // Any failure to read these bytes is theirs: besides Avro's own exceptions, a length over Avro's limit
            // throws UnsupportedOperationException, and a bad union index IndexOutOfBoundsException.
            throw new MalformedRecordException("not an Avro InferenceRequest: " + e);
        }
    }

    /**
     * Avro allocates an array for the item count a block claims before it reads one item, so a few garbage bytes
     * claiming a billion prompt token ids ran the task out of memory. Every item takes at least one byte, so a
     * true count fits in the record: the first allocation is capped at its size (the array still grows if it
     * must), and a false count ends at the end of the bytes, as a malformed record. Avro's fast reader allocates
     * without asking {@link #newArray}, so this reader has its own model with it off (a request is decoded once;
     * the difference is small next to tokenizing it).
     */
    private static final class BoundedReader extends SpecificDatumReader<InferenceRequest> {
        int recordBytes;

        BoundedReader() {
            super(InferenceRequest.getClassSchema(), InferenceRequest.getClassSchema(), model());
        }

        private static SpecificData model() {
            SpecificData model = new SpecificData(InferenceRequest.class.getClassLoader());
            model.addLogicalTypeConversion(new TimeConversions.TimestampMillisConversion());
            model.setFastReaderEnabled(false);
            return model;
        }

        @Override
        protected Object newArray(Object old, int size, Schema schema) {
            return super.newArray(old, Math.min(size, recordBytes), schema);
        }
    }

    private static InferenceRequest decodeJson(byte[] value, Instant receivedAt) throws MalformedRecordException {
        ObjectNode json = AvroJson.parseObject(value);
        // For people: "prompt" may be text or an array of token ids.
        JsonNode prompt = json.get("prompt");
        if (prompt != null && prompt.isArray()) {
            if (json.has("prompt_token_ids")) {
                throw new MalformedRecordException("give the prompt either as 'prompt' or as 'prompt_token_ids', not both");
            }
            json.remove("prompt");
            json.set("prompt_token_ids", prompt);
        }
        if (!json.has("submitted_at")) {
            json.put("submitted_at", receivedAt.toEpochMilli());
        }
        return AvroJson.fromJson(json, InferenceRequest.class);
    }
}
