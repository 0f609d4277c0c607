package io.sluice.job.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.job.kafka.KafkaIo;
import io.sluice.operators.DecodeLoad;
import io.sluice.operators.ingest.RequestFormat;
import io.sluice.schemas.InstanceRole;
import io.sluice.schemas.InstanceStatus;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Properties;
import org.apache.flink.api.common.serialization.SerializationSchema;
import org.junit.jupiter.api.Test;

/**
 * Statuses through the status topic's encodings: what the job's sink writes (Avro binary or JSON) is what the
 * router and the decode load fan-out read back, the KV fields placement depends on included.
 */
class StatusDeserializerTest {

    /** Every field off its default, so a field dropped on either side shows. */
    private static InstanceStatus status() {
        return InstanceStatus.newBuilder()
                .setInstance(3)
                .setRole(InstanceRole.DECODE)
                .setQueuedRequests(4)
                .setRunningSequences(9)
                .setBacklogMs(12.5)
                .setFreeKvBlocks(41)
                .setTotalKvBlocks(128)
                .setKvBlockTokens(32)
                .setInboundKvBlocks(7)
                .setHostKvBlocks(5)
                .setEstimatedTpotMs(23.25)
                .setTightestTpotMs(50.0)
                .setTokensPerSecond(410.0)
                .setReportedAt(Instant.ofEpochMilli(1_700_000_000_123L))
                .build();
    }

    private static byte[] written(RequestFormat format, InstanceStatus s) {
        SerializationSchema<InstanceStatus> sink = new KafkaIo("localhost:1", format, new Properties())
                .valueSchema(InstanceStatus.class);
        return sink.serialize(s);
    }

    @Test
    void everyFieldSurvivesTheAvroEncoding() {
        InstanceStatus back = new StatusDeserializer(RequestFormat.AVRO).deserialize(written(RequestFormat.AVRO, status()));
        assertThat(back).isEqualTo(status());
        assertThat(back.getInboundKvBlocks()).isEqualTo(7);
        assertThat(back.getKvBlockTokens()).isEqualTo(32);
        assertThat(back.getTightestTpotMs()).isEqualTo(50.0);
    }

    @Test
    void everyFieldSurvivesTheJsonEncodingUnderItsSchemaName() {
        byte[] json = written(RequestFormat.JSON, status());
        assertThat(new String(json, StandardCharsets.UTF_8)).as("what kcat shows")
                .contains("\"inbound_kv_blocks\":7", "\"kv_block_tokens\":32", "\"free_kv_blocks\":41",
                        "\"tightest_tpot_ms\":50.0");
        InstanceStatus back = new StatusDeserializer(RequestFormat.JSON).deserialize(json);
        assertThat(back).isEqualTo(status());
    }

    @Test
    void aJsonStatusWrittenBeforeTheKvFieldsReadsAsNothingInboundInBlocksOf16() {
        String old = "{\"instance\":2,\"role\":\"DECODE\",\"queued_requests\":0,\"running_sequences\":1,"
                + "\"backlog_ms\":0.0,\"free_kv_blocks\":60,\"total_kv_blocks\":64,\"reported_at\":5000}";
        InstanceStatus back = new StatusDeserializer(RequestFormat.JSON)
                .deserialize(old.getBytes(StandardCharsets.UTF_8));
        assertThat(back).isNotNull();
        assertThat(back.getInboundKvBlocks()).isZero();
        assertThat(back.getKvBlockTokens()).isEqualTo(16);
        assertThat(back.getFreeKvBlocks()).isEqualTo(60);
        assertThat(back.getTightestTpotMs()).as("written before tightest_tpot_ms").isZero();
        assertThat(DecodeLoad.tpotOffWire(back.getTightestTpotMs())).as("no TPOT SLO to keep").isInfinite();
    }

    @Test
    void aStatusOfAnInstanceWithoutTpotSlosCarriesNoneAndReadsBackAsNone() {
        // JSON has no infinity: "none" goes on the wire as the field's default, 0.
        InstanceStatus none = InstanceStatus.newBuilder(status())
                .setTightestTpotMs(DecodeLoad.tpotOnWire(Double.POSITIVE_INFINITY)).build();
        for (RequestFormat format : RequestFormat.values()) {
            InstanceStatus back = new StatusDeserializer(format).deserialize(written(format, none));
            assertThat(back).as("%s", format).isEqualTo(none);
            assertThat(DecodeLoad.tpotOffWire(back.getTightestTpotMs())).as("%s", format).isInfinite();
        }
    }

    @Test
    void aRecordInTheOtherFormatIsSkippedNotFatal() {
        assertThat(new StatusDeserializer(RequestFormat.JSON).deserialize(written(RequestFormat.AVRO, status())))
                .isNull();
        assertThat(new StatusDeserializer(RequestFormat.AVRO)
                .deserialize("{\"instance\":1}".getBytes(StandardCharsets.UTF_8))).isNull();
    }
}
