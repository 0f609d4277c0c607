package io.sluice.operators.ingest;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.sluice.schemas.FinishReason;
import io.sluice.schemas.InferenceRequest;
import io.sluice.schemas.TokenEvent;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificDatumWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Decoding request records, Avro and plain JSON, and the reasons given for bad ones. */
class RequestDecoderTest {

    private static final Instant RECEIVED = Instant.ofEpochMilli(1_700_000_000_000L);

    private final RequestDecoder json = new RequestDecoder(RequestFormat.JSON);
    private final RequestDecoder avro = new RequestDecoder(RequestFormat.AVRO);

    @Test
    void minimalJsonTakesDefaultsAndReceiveTime() throws Exception {
        InferenceRequest request = json.decode(bytes(
                "{\"request_id\":\"r1\",\"tenant\":\"default\",\"prompt\":\"Once upon a time\",\"max_new_tokens\":16}"),
                RECEIVED);
        assertThat(request.getRequestId()).isEqualTo("r1");
        assertThat(request.getPrompt()).isEqualTo("Once upon a time");
        assertThat(request.getMaxNewTokens()).isEqualTo(16);
        assertThat(request.getPriorityClass()).isEqualTo("standard");
        assertThat(request.getSubmittedAt()).isEqualTo(RECEIVED);
        assertThat(request.getTtftSloMs()).isNull();
    }

    @Test
    void jsonPromptMayBeTokenIdsAndTimesMayBeIso() throws Exception {
        InferenceRequest request = json.decode(bytes("{\"request_id\":\"r2\",\"prompt\":[9038,2501,263,931],"
                + "\"ttft_slo_ms\":1000,\"tpot_slo_ms\":50,\"submitted_at\":\"2026-01-01T00:00:00Z\","
                + "\"deadline\":1767225600000}"), RECEIVED);
        assertThat(request.getPrompt()).isNull();
        assertThat(request.getPromptTokenIds()).containsExactly(9038, 2501, 263, 931);
        assertThat(request.getTtftSloMs()).isEqualTo(1000);
        assertThat(request.getSubmittedAt()).isEqualTo(Instant.parse("2026-01-01T00:00:00Z"));
        assertThat(request.getDeadline()).isEqualTo(Instant.ofEpochMilli(1767225600000L));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "{\"request_id\":\"r\",\"promt\":\"x\"}                 | unknown field 'promt'",
        "{\"prompt\":\"x\"}                                     | missing required field 'request_id'",
        "{\"request_id\":\"r\",\"max_new_tokens\":\"many\"}     | field 'max_new_tokens': expected a 32-bit integer",
        "{\"request_id\":\"r\",\"max_new_tokens\":1e99}         | field 'max_new_tokens': expected a 32-bit integer",
        "{\"request_id\":\"r\",\"submitted_at\":\"yesterday\"}  | expected epoch milliseconds or an ISO-8601 instant",
        "{\"request_id\":\"r\",\"deadline\":\"+999999999-01-01T00:00:00Z\"} | field 'deadline': \"+999999999-01-01T00:00:00Z\" is outside the range of epoch milliseconds",
        "[1,2,3]                                                | expected a JSON object, got array",
        "{\"request_id\":                                       | not valid JSON",
        "{\"request_id\":\"r\",\"prompt\":[1],\"prompt_token_ids\":[2]} | not both",
    })
    void badJsonSaysWhatIsWrong(String record, String reason) {
        assertThatThrownBy(() -> json.decode(bytes(record), RECEIVED))
                .isInstanceOf(MalformedRecordException.class)
                .hasMessageContaining(reason);
    }

    @Test
    void avroRoundTripsAndGarbageIsRefused() throws Exception {
        InferenceRequest request = InferenceRequest.newBuilder()
                .setRequestId("r3")
                .setPromptTokenIds(List.of(1, 2, 3))
                .setSubmittedAt(RECEIVED)
                .build();
        byte[] encoded = avroBytes(request);
        assertThat(avro.decode(encoded, RECEIVED)).isEqualTo(request);

        assertThatThrownBy(() -> avro.decode(Arrays.copyOf(encoded, encoded.length - 3), RECEIVED))
                .isInstanceOf(MalformedRecordException.class)
                .hasMessageContaining("not an Avro InferenceRequest");
        byte[] longer = Arrays.copyOf(encoded, encoded.length + 2);
        assertThatThrownBy(() -> avro.decode(longer, RECEIVED))
                .hasMessageContaining("trailing bytes");
        assertThatThrownBy(() -> avro.decode(bytes("{\"request_id\":\"r\"}"), RECEIVED))
                .isInstanceOf(MalformedRecordException.class);
        assertThatThrownBy(() -> avro.decode(new byte[0], RECEIVED)).hasMessageContaining("empty");
    }

    @Test
    void aRecordOfTheOtherFormatSaysWhichFormatTheJobReads() throws Exception {
        byte[] avroRecord = avroBytes(InferenceRequest.newBuilder().setRequestId("r5").setPrompt("hi")
                .setSubmittedAt(RECEIVED).build());
        assertThatThrownBy(() -> json.decode(avroRecord, RECEIVED))
                .isInstanceOf(MalformedRecordException.class)
                .hasMessageStartingWith("not valid JSON")
                .hasMessageContaining("this job reads JSON: send JSON, or start the job with --format avro");
        byte[] jsonRecord = bytes(" {\"request_id\":\"r5\",\"prompt\":\"hi\"}");
        assertThatThrownBy(() -> avro.decode(jsonRecord, RECEIVED))
                .isInstanceOf(MalformedRecordException.class)
                .hasMessageStartingWith("not an Avro InferenceRequest")
                .hasMessageContaining("this job reads Avro: send Avro, or start the job with --format json");
        assertThatThrownBy(() -> json.decode(bytes("{\"request_id\":"), RECEIVED))
                .as("bad JSON is bad JSON, not another format").hasMessageNotContaining("--format");
    }

    @Test
    void avroRoundTripsEveryField() throws Exception {
        InferenceRequest request = InferenceRequest.newBuilder()
                .setRequestId("r4").setTenant("chat").setPriorityClass("interactive").setPriorityWeight(2.5)
                .setPromptTokenIds(IntStream.range(0, 3000).boxed().toList())
                .setMaxNewTokens(64).setTemperature(0.7f).setTopP(0.9f).setSeed(42)
                .setTtftSloMs(500).setTpotSloMs(50)
                .setDeadline(RECEIVED.plusSeconds(60)).setSubmittedAt(RECEIVED)
                .build();
        assertThat(avro.decode(avroBytes(request), RECEIVED)).isEqualTo(request);
        InferenceRequest text = InferenceRequest.newBuilder(request).setPromptTokenIds(null).setPrompt("Once")
                .setDeadline(null).build();
        assertThat(avro.decode(avroBytes(text), RECEIVED)).isEqualTo(text);
    }

    @Test
    void outputRecordsAreWrittenAsPlainJson() throws Exception {
        TokenEvent event = TokenEvent.newBuilder()
                .setRequestId("r1").setIndex(3).setTokenId(42).setText(" the")
                .setFinal$(true).setFinishReason(FinishReason.EOS).setEmittedAt(RECEIVED).build();
        String written = new String(AvroJson.toJson(event), UTF_8);
        assertThat(written).isEqualTo("{\"request_id\":\"r1\",\"index\":3,\"token_id\":42,\"text\":\" the\","
                + "\"final\":true,\"finish_reason\":\"EOS\",\"reason_detail\":null,\"emitted_at\":1700000000000}");
        assertThat(AvroJson.fromJson(AvroJson.parseObject(bytes(written)), TokenEvent.class)).isEqualTo(event);
    }

    private static byte[] bytes(String s) {
        return s.getBytes(UTF_8);
    }

    private static byte[] avroBytes(InferenceRequest request) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        BinaryEncoder encoder = EncoderFactory.get().binaryEncoder(out, null);
        new SpecificDatumWriter<>(InferenceRequest.class).write(request, encoder);
        encoder.flush();
        return out.toByteArray();
    }
}
