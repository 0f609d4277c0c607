package io.sluice.schemas;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.time.Instant;
import java.util.List;
import java.util.stream.Stream;
import org.apache.avro.Schema;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.avro.specific.SpecificDatumWriter;
import org.apache.avro.specific.SpecificRecord;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

/** The generated classes: every field documented, and records survive a binary round trip. */
class SchemasTest {

    static Stream<Schema> schemas() {
        return Stream.of(
                InferenceRequest.getClassSchema(),
                TokenEvent.getClassSchema(),
                RequestMetrics.getClassSchema(),
                SloReport.getClassSchema(),
                InstanceStatus.getClassSchema(),
                DeadLetter.getClassSchema());
    }

    @ParameterizedTest
    @MethodSource("schemas")
    void everyFieldHasADoc(Schema schema) {
        assertThat(schema.getDoc()).as("doc of %s", schema.getName()).isNotBlank();
        for (Schema.Field field : schema.getFields()) {
            assertThat(field.doc()).as("doc of %s.%s", schema.getName(), field.name()).isNotBlank();
        }
    }

    @Test
    void requestDefaultsAreThoseAUserExpects() {
        InferenceRequest request = InferenceRequest.newBuilder()
                .setRequestId("r1")
                .setPrompt("Once upon a time")
                .setSubmittedAt(Instant.ofEpochMilli(1_000))
                .build();
        assertThat(request.getTenant()).isEqualTo("default");
        assertThat(request.getPriorityWeight()).isEqualTo(1.0);
        assertThat(request.getMaxNewTokens()).isEqualTo(128);
        assertThat(request.getTemperature()).isZero();
        assertThat(request.getTopP()).isEqualTo(1.0f);
        assertThat(request.getDeadline()).isNull();
    }

    @Test
    void recordsRoundTripThroughAvroBinary() throws IOException {
        InferenceRequest request = InferenceRequest.newBuilder()
                .setRequestId("r2")
                .setTenant("search")
                .setPriorityClass("interactive")
                .setPriorityWeight(4.0)
                .setPromptTokenIds(List.of(9038, 2501, 263, 931))
                .setMaxNewTokens(16)
                .setTemperature(0.8f)
                .setTopP(0.9f)
                .setSeed(42L)
                .setTtftSloMs(1000)
                .setTpotSloMs(50)
                .setSubmittedAt(Instant.ofEpochMilli(1_700_000_000_000L))
                .build();
        assertThat(roundTrip(request, InferenceRequest.class)).isEqualTo(request);

        TokenEvent last = TokenEvent.newBuilder()
                .setRequestId("r2")
                .setIndex(15)
                .setTokenId(13)
                .setText("\n")
                .setFinal$(true)
                .setFinishReason(FinishReason.LENGTH)
                .setEmittedAt(Instant.ofEpochMilli(1_700_000_000_500L))
                .build();
        assertThat(roundTrip(last, TokenEvent.class)).isEqualTo(last);
    }

    private static <T extends SpecificRecord> T roundTrip(T record, Class<T> type) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        BinaryEncoder encoder = EncoderFactory.get().binaryEncoder(bytes, null);
        new SpecificDatumWriter<>(type).write(record, encoder);
        encoder.flush();
        BinaryDecoder decoder = DecoderFactory.get().binaryDecoder(bytes.toByteArray(), null);
        return new SpecificDatumReader<>(type).read(null, decoder);
    }
}
