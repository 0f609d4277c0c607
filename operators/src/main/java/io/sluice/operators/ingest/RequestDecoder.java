package io.sluice.operators.ingest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sluice.schemas.InferenceRequest;
import java.io.IOException;
import java.time.Instant;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.specific.SpecificDatumReader;

/**
 * Turns the bytes of a {@code sluice.requests} record into an {@link InferenceRequest}, or says
 * why it cannot (the reason goes to the dead-letter topic). Not thread-safe: one per task.
 */
public final class RequestDecoder {

    private final RequestFormat format;
    private final SpecificDatumReader<InferenceRequest> avroReader = new SpecificDatumReader<>(InferenceRequest.class);
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
