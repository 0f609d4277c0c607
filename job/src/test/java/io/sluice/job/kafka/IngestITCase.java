package io.sluice.job.kafka;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.operators.ingest.Admission;
import io.sluice.operators.ingest.AdmittedRequest;
import io.sluice.operators.ingest.AvroJson;
import io.sluice.operators.ingest.IngestFunction;
import io.sluice.operators.ingest.PromptEncoder;
import io.sluice.operators.ingest.RequestFormat;
import io.sluice.operators.ingest.TenantTable;
import io.sluice.schemas.DeadLetter;
import io.sluice.schemas.FinishReason;
import io.sluice.schemas.TokenEvent;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.stream.Collectors;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.PipelineOptions;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.flink.util.CloseableIterator;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The pipeline's front door against a real broker on a Flink MiniCluster: malformed records reach
 * the dead-letter topic byte for byte with reasons, refused requests end with a rejection event,
 * and the rest pass through, without the job failing.
 */
class IngestITCase {

    @RegisterExtension
    static final KafkaTestBroker KAFKA = new KafkaTestBroker();

    @RegisterExtension
    static final MiniClusterExtension FLINK = new MiniClusterExtension(
            new MiniClusterResourceConfiguration.Builder()
                    .setNumberTaskManagers(1)
                    .setNumberSlotsPerTaskManager(2)
                    .build());

    @Test
    void badRecordsAreDeadLettersAndTheRestFlow() throws Exception {
        KAFKA.createTopics(2, "requests", "dlq", "tokens");
        List<byte[]> good = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            good.add(("{\"request_id\":\"ok-" + i + "\",\"tenant\":\"chat\",\"prompt\":[9038,2501,263,931],"
                    + "\"max_new_tokens\":8,\"priority_weight\":9}").getBytes(UTF_8));
        }
        List<byte[]> malformed = List.of(
                "not json at all".getBytes(UTF_8),
                new byte[] {0, 1, 2, (byte) 0xff},
                "{\"request_id\":\"m1\",\"max_new_tokens\":\"eight\"}".getBytes(UTF_8),
                "{\"request_id\":\"m2\",\"promt\":\"typo\"}".getBytes(UTF_8),
                "[\"an\",\"array\"]".getBytes(UTF_8));
        List<byte[]> refused = List.of(
                "{\"request_id\":\"no-tokens\",\"tenant\":\"chat\",\"prompt\":[1],\"max_new_tokens\":0}".getBytes(UTF_8),
                "{\"request_id\":\"stranger\",\"tenant\":\"nobody\",\"prompt\":[1]}".getBytes(UTF_8),
                "{\"request_id\":\"too-long\",\"tenant\":\"chat\",\"prompt\":[1,2,3,4,5,6,7,8,9,10]}".getBytes(UTF_8));
        List<byte[]> all = new ArrayList<>(good);
        all.addAll(malformed);
        all.addAll(refused);
        KAFKA.produce("requests", all);

        Admission admission = new Admission(TenantTable.parse("chat:max_weight=4:max_prompt=8"), 256);
        SingleOutputStreamOperator<AdmittedRequest> admitted = ingest(2, "requests", admission, text -> {
            throw new IllegalStateException("every prompt in this test is token ids");
        }, "dlq", "tokens");

        List<AdmittedRequest> passed = new ArrayList<>();
        try (CloseableIterator<AdmittedRequest> it = admitted.executeAndCollect("ingest")) {
            it.forEachRemaining(passed::add);
        }

        assertThat(passed).extracting(r -> r.requestId)
                .containsExactlyInAnyOrderElementsOf(ids("ok-", 20));
        assertThat(passed).allSatisfy(r -> {
            assertThat(r.promptTokens).as("BOS first, then the given ids").containsExactly(1, 9038, 2501, 263, 931);
            assertThat(r.weight).as("weight clamped to the tenant's ceiling").isEqualTo(4.0);
        });

        List<DeadLetter> dead = new ArrayList<>();
        for (ConsumerRecord<byte[], byte[]> record : KAFKA.consume("dlq", malformed.size(), Duration.ofSeconds(30))) {
            dead.add(AvroJson.fromJson(AvroJson.parseObject(record.value()), DeadLetter.class));
        }
        assertThat(dead).hasSize(malformed.size());
        assertThat(dead).extracting(d -> bytes(d.getOriginal()))
                .as("originals kept byte for byte").containsExactlyInAnyOrderElementsOf(
                        malformed.stream().map(b -> new String(b, UTF_8)).collect(Collectors.toList()));
        assertThat(dead).allSatisfy(d -> {
            assertThat(d.getReason()).isNotBlank();
            assertThat(d.getTopic()).isEqualTo("requests");
            assertThat(d.getOffset()).isBetween(0L, (long) all.size());
        });
        assertThat(dead).extracting(DeadLetter::getReason)
                .anySatisfy(reason -> assertThat(reason).contains("unknown field 'promt'"));

        List<TokenEvent> rejections = new ArrayList<>();
        for (ConsumerRecord<byte[], byte[]> record : KAFKA.consume("tokens", refused.size(), Duration.ofSeconds(30))) {
            rejections.add(AvroJson.fromJson(AvroJson.parseObject(record.value()), TokenEvent.class));
        }
        assertThat(rejections).extracting(TokenEvent::getRequestId)
                .containsExactlyInAnyOrder("no-tokens", "stranger", "too-long");
        assertThat(rejections).allSatisfy(e -> {
            assertThat(e.getFinal$()).isTrue();
            assertThat(e.getFinishReason()).isEqualTo(FinishReason.REJECTED);
            assertThat(e.getReasonDetail()).isNotBlank();
        });
    }

    @Test
    void aMalformedRecordNearTheBrokersSizeLimitIsADeadLetterNotAFailedJob() throws Exception {
        // 900 KB of not-JSON: the broker takes it (1 MB records by default), but its dead letter, the original in
        // base64 plus the reason, is over the 1 MB a producer sends. The sink's send failed and failed the job,
        // which read the same record again after each restart.
        KAFKA.createTopics(1, "big-requests", "big-dlq", "big-tokens");
        byte[] big = "x".repeat(900_000).getBytes(UTF_8);
        KAFKA.produce("big-requests", List.of(big));

        SingleOutputStreamOperator<AdmittedRequest> admitted = ingest(1, "big-requests",
                new Admission(TenantTable.open(), 256), text -> new int[] {1}, "big-dlq", "big-tokens");
        try (CloseableIterator<AdmittedRequest> it = admitted.executeAndCollect("ingest-big")) {
            assertThat(it.hasNext()).as("nothing admitted").isFalse();
        }

        List<ConsumerRecord<byte[], byte[]>> records = KAFKA.consume("big-dlq", 1, Duration.ofSeconds(30));
        assertThat(records).hasSize(1);
        DeadLetter dead = AvroJson.fromJson(AvroJson.parseObject(records.get(0).value()), DeadLetter.class);
        assertThat(dead.getTopic()).isEqualTo("big-requests");
        assertThat(dead.getOffset()).isZero();
        assertThat(dead.getReason()).startsWith("not valid JSON").contains("900000 bytes");
        assertThat(bytes(dead.getOriginal())).as("the original's beginning").isNotEmpty()
                .isEqualTo("x".repeat(dead.getOriginal().remaining()));
    }

    @Test
    void aRequestWhoseNamesCannotFitInItsAnswerIsADeadLetterNotAFailedJob() throws Exception {
        // A request id and a tenant of 400,000 characters each: its rejection (an unknown tenant) carries both, as
        // the record's key and in its value, over the 1 MB a producer sends; the failed send failed the job.
        KAFKA.createTopics(1, "named-requests", "named-dlq", "named-tokens");
        String huge = "n".repeat(400_000);
        byte[] request = ("{\"request_id\":\"" + huge + "\",\"tenant\":\"" + huge + "\",\"prompt\":[5,6]}")
                .getBytes(UTF_8);
        KAFKA.produce("named-requests", List.of(request));

        SingleOutputStreamOperator<AdmittedRequest> admitted = ingest(1, "named-requests",
                new Admission(TenantTable.parse("chat"), 256), text -> new int[] {1}, "named-dlq", "named-tokens");
        try (CloseableIterator<AdmittedRequest> it = admitted.executeAndCollect("ingest-named")) {
            assertThat(it.hasNext()).as("nothing admitted").isFalse();
        }

        List<ConsumerRecord<byte[], byte[]>> records = KAFKA.consume("named-dlq", 1, Duration.ofSeconds(30));
        assertThat(records).hasSize(1);
        DeadLetter dead = AvroJson.fromJson(AvroJson.parseObject(records.get(0).value()), DeadLetter.class);
        assertThat(dead.getReason()).contains("request_id").contains("400000");
    }

    /**
     * The job's ingest stage alone, on a local environment: JSON requests from {@code topic} in, admitted requests
     * out, dead letters to {@code dlq} and rejections to {@code tokens}, as the job wires them.
     */
    private static SingleOutputStreamOperator<AdmittedRequest> ingest(int parallelism, String topic,
            Admission admission, PromptEncoder encoder, String dlq, String tokens) {
        Configuration conf = new Configuration();
        conf.set(PipelineOptions.GENERIC_TYPES, false);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
        env.setParallelism(parallelism);
        KafkaIo kafka = new KafkaIo(KAFKA.bootstrapServers(), RequestFormat.JSON, new Properties());
        SingleOutputStreamOperator<AdmittedRequest> admitted = env
                .fromSource(kafka.requestSource(topic, "ingest-" + topic, true), WatermarkStrategy.noWatermarks(),
                        "Kafka requests")
                .process(new IngestFunction(RequestFormat.JSON, admission, encoder))
                .name("Decode, validate, admit");
        admitted.getSideOutput(IngestFunction.DEAD_LETTERS)
                .sinkTo(kafka.sink(dlq, DeadLetter.class, null)).name("Dead letters");
        admitted.getSideOutput(IngestFunction.REJECTIONS)
                .sinkTo(kafka.sink(tokens, TokenEvent.class, TokenEvent::getRequestId)).name("Rejections");
        return admitted;
    }

    private static List<String> ids(String prefix, int n) {
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            ids.add(prefix + i);
        }
        return ids;
    }

    private static String bytes(ByteBuffer buffer) {
        byte[] b = new byte[buffer.remaining()];
        buffer.duplicate().get(b);
        return new String(b, UTF_8);
    }
}
