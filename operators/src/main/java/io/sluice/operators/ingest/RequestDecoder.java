package io.sluice.operators.ingest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sluice.schemas.InferenceRequest;
import java.io.IOException;
import java.time.Instant;
import org.apache.avro.AvroRuntimeException;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.specific.SpecificDatumReader;

/**
 * Turns the bytes of a {@code sluice.requests} record into an {@link InferenceRequest}, or says
 * why it cannot (the reason goes to the dead-letter topic). Not thread-safe: one per task.
 */
public final class RequestDecoder {

    private final RequestFormat format;
    private final SpecificDatumReader<InferenceRequest> avroReader =
            new SpecificDatumReader<>(InferenceRequest.class);
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
        return format == RequestFormat.AVRO ? decodeAvro(value) : decodeJson(value, receivedAt);
    }

    private InferenceRequest decodeAvro(byte[] value) throws MalformedRecordException {
        reuse = DecoderFactory.get().binaryDecoder(value, reuse);
        try {
            InferenceRequest request = avroReader.read(null, reuse);
            if (!reuse.isEnd()) {
                throw new MalformedRecordException("not an Avro InferenceRequest: trailing bytes after the record");
            }
            return request;
        } catch (IOException | AvroRuntimeException | IndexOutOfBoundsException | NegativeArraySizeException e) {
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
