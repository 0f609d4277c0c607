package io.sluice.operators.ingest;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.schemas.DeadLetter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.apache.flink.streaming.util.ProcessFunctionTestHarnesses;
import org.junit.jupiter.api.Test;

/** The front door through Flink's harness: a record it cannot use becomes a dead letter, never a failed task. */
class IngestFunctionTest {

    private static List<DeadLetter> deadLetters(RequestFormat format, byte[] value) throws Exception {
        IngestFunction ingest = new IngestFunction(format, new Admission(TenantTable.open(), 256),
                text -> new int[] {1, 5, 6});
        try (OneInputStreamOperatorTestHarness<RawRecord, AdmittedRequest> h =
                ProcessFunctionTestHarnesses.forProcessFunction(ingest)) {
            h.processElement(new RawRecord(value, "sluice.requests", 0, 7, 1_700_000_000_000L), 0);
            assertThat(h.extractOutputValues()).as("nothing admitted").isEmpty();
            ConcurrentLinkedQueue<StreamRecord<DeadLetter>> out = h.getSideOutput(IngestFunction.DEAD_LETTERS);
            List<DeadLetter> letters = new ArrayList<>();
            if (out != null) {
                out.forEach(r -> letters.add(r.getValue()));
            }
            return letters;
        }
    }

    @Test
    void aRejectionsMetricsCarryTheClampedWeightNeverAnInvalidOne() throws Exception {
        TenantTable tenants = TenantTable.parse("t:max_weight=2:max_prompt=2");
        IngestFunction ingest = new IngestFunction(RequestFormat.JSON, new Admission(tenants, 256),
                text -> new int[] {1, 5, 6});
        try (OneInputStreamOperatorTestHarness<RawRecord, AdmittedRequest> h =
                ProcessFunctionTestHarnesses.forProcessFunction(ingest)) {
            // Rejected for its weight, then for its prompt (3 tokens over the tenant's 2) with a weight over the ceiling.
            for (String record : List.of("{\"request_id\":\"bad\",\"tenant\":\"t\",\"prompt\":\"x\",\"priority_weight\":-1}",
                    "{\"request_id\":\"long\",\"tenant\":\"t\",\"prompt\":\"x\",\"priority_weight\":5}")) {
                h.processElement(new RawRecord(record.getBytes(UTF_8), "sluice.requests", 0, 7, 1_700_000_000_000L), 0);
            }
            List<Double> weights = new ArrayList<>();
            h.getSideOutput(IngestFunction.REJECTION_METRICS).forEach(r -> weights.add(r.getValue().getPriorityWeight()));
            assertThat(weights).containsExactly(0.0, 2.0);
        }
    }

    @Test
    void aSubmissionTimeAheadOfArrivalCountsAsTheArrival() throws Exception {
        // A client clock running ahead: submitted_at an hour after the job reads the request. Taken as given, its TTFT
        // came out negative, and a negative TTFT met every target. One behind the arrival is kept as it is.
        IngestFunction ingest = new IngestFunction(RequestFormat.JSON, new Admission(TenantTable.open(), 256),
                text -> new int[] {1, 5, 6});
        long now = 1_700_000_000_000L;
        try (OneInputStreamOperatorTestHarness<RawRecord, AdmittedRequest> h =
                ProcessFunctionTestHarnesses.forProcessFunction(ingest)) {
            h.setProcessingTime(now);
            for (String at : List.of("2023-11-14T23:13:20Z", "2023-11-14T22:13:20Z")) { // now + 1 h, now
                String record = "{\"request_id\":\"r\",\"prompt\":\"x\",\"submitted_at\":\"" + at + "\"}";
                h.processElement(new RawRecord(record.getBytes(UTF_8), "sluice.requests", 0, 7, now), 0);
            }
            String earlier = "{\"request_id\":\"e\",\"prompt\":\"x\",\"submitted_at\":\"2023-11-14T22:13:19Z\"}";
            h.processElement(new RawRecord(earlier.getBytes(UTF_8), "sluice.requests", 0, 8, now), 0);
            assertThat(h.extractOutputValues()).extracting(a -> a.submittedAtMs).containsExactly(now, now, now - 1000);
        }
    }

    @Test
    void aJsonTimeBeyondEpochMillisIsADeadLetter() throws Exception {
        // Instant.parse takes years up to 1e9, but epoch millis end near the year 292 million: converting it
        // threw ArithmeticException in the task, and the restarted job read the same record again.
        for (String field : List.of("submitted_at", "deadline")) {
            String record = "{\"request_id\":\"r\",\"prompt\":\"x\",\"" + field + "\":\"+999999999-01-01T00:00:00Z\"}";
            assertThat(deadLetters(RequestFormat.JSON, record.getBytes(UTF_8))).as(field).singleElement()
                    .satisfies(d -> assertThat(d.getReason()).contains(field).contains("epoch milliseconds"));
        }
    }

    @Test
    void anAvroRecordClaimingAHugeCollectionIsADeadLetter() throws Exception {
        // request_id "a", tenant "", priority_class "", priority_weight 1.0, prompt null, prompt_token_ids:
        // the array branch, then an item count (zig-zag varint) and no items.
        byte[] head = {2, 'a', 0, 0, 0, 0, 0, 0, 0, 0, (byte) 0xf0, 0x3f, 0, 2};
        byte[][] counts = {
            {(byte) 0x80, (byte) 0x80, (byte) 0x80, (byte) 0x80, 8},          // 2^30 items: allocated up front
            {(byte) 0xfe, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0x0f},        // 2^31 - 1: over Avro's own limit
        };
        for (byte[] count : counts) {
            byte[] record = new byte[head.length + count.length];
            System.arraycopy(head, 0, record, 0, head.length);
            System.arraycopy(count, 0, record, head.length, count.length);
            assertThat(deadLetters(RequestFormat.AVRO, record)).singleElement()
                    .satisfies(d -> assertThat(d.getReason()).startsWith("not an Avro InferenceRequest"));
        }
    }

    @Test
    void anAvroRecordClaimingAHugeStringIsADeadLetter() throws Exception {
        // request_id (zig-zag varint length, no bytes): a few bytes claiming a string of 2^31 - 9 bytes (Avro's
        // own limit) or of 2^30, which Avro allocates before it reads one byte; then a prompt (union branch 1)
        // claiming the same.
        byte[][] lengths = {
            {(byte) 0xee, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0x0f},        // 2^31 - 9
            {(byte) 0x80, (byte) 0x80, (byte) 0x80, (byte) 0x80, 8},          // 2^30
        };
        byte[] beforePrompt = {2, 'a', 0, 0, 0, 0, 0, 0, 0, 0, (byte) 0xf0, 0x3f, 2};
        for (byte[] length : lengths) {
            for (byte[] head : new byte[][] {new byte[0], beforePrompt}) {
                byte[] record = new byte[head.length + length.length];
                System.arraycopy(head, 0, record, 0, head.length);
                System.arraycopy(length, 0, record, head.length, length.length);
                assertThat(deadLetters(RequestFormat.AVRO, record)).singleElement()
                        .satisfies(d -> assertThat(d.getReason()).startsWith("not an Avro InferenceRequest"));
            }
        }
    }
}
