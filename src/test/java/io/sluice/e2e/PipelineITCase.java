package io.sluice.e2e;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.gpu.exec.CpuExecutor;
import io.sluice.gpu.exec.Generator;
import io.sluice.gpu.model.CheckpointLoader;
import io.sluice.gpu.model.SyntheticCheckpoint;
import io.sluice.gpu.model.Weights;
import io.sluice.gpu.sampling.SamplingParams;
import io.sluice.gpu.tokenizer.Tokenizer;
import io.sluice.job.kafka.LocalKafka;
import io.sluice.job.loadgen.LoadRunner;
import io.sluice.job.loadgen.PlannedRequest;
import io.sluice.job.loadgen.Workload;
import io.sluice.job.local.ByteTokenizer;
import io.sluice.job.pipeline.InferenceJob;
import io.sluice.job.pipeline.JobSettings;
import io.sluice.job.pipeline.LatencyProfiles;
import io.sluice.job.pipeline.Topics;
import io.sluice.job.sim.Mix;
import io.sluice.operators.ingest.RequestFormat;
import io.sluice.scheduling.PolicyOptions;
import io.sluice.schemas.DeadLetter;
import io.sluice.schemas.FinishReason;
import io.sluice.schemas.TokenEvent;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole job on a Flink MiniCluster against a real Kafka broker: 100 requests of mixed classes
 * (greedy and sampled) each end exactly once with contiguous token indices and the very tokens
 * the engine generates for them alone; 50 malformed records interleaved with them reach the
 * dead-letter topic with reasons, and the job neither fails nor restarts. Under overload the
 * high-weight class stays ahead and the lowest class is not starved.
 */
class PipelineITCase {

    @RegisterExtension
    static final MiniClusterExtension FLINK = new MiniClusterExtension(
            new MiniClusterResourceConfiguration.Builder()
                    .setNumberTaskManagers(1)
                    .setNumberSlotsPerTaskManager(4)
                    .build());

    @TempDir
    static Path dir;
    static Weights weights;
    static Tokenizer tokenizer;
    static LocalKafka kafka;
    static JobClient job;
    static LoadRunner runner;
    static final Topics TOPICS = Topics.DEFAULT;
    static final List<String> CLASSES = List.of("interactive", "standard", "batch");

    /** One broker and one running job (two instances of a synthetic 15m-shape model) for every test. */
    @BeforeAll
    static void startBrokerAndJob() throws Exception {
        Path model = dir.resolve("model.bin");
        SyntheticCheckpoint.write(SyntheticCheckpoint.Shape.of("15m").config(), 1234, model);
        Path tokenizerFile = dir.resolve("tokenizer.bin");
        ByteTokenizer.write(tokenizerFile, 32000);
        weights = CheckpointLoader.load(model);
        tokenizer = Tokenizer.load(tokenizerFile, weights.config().vocabSize());

        kafka = LocalKafka.start(dir.resolve("kafka"), 0);
        kafka.createTopics(2, TOPICS.all());
        JobSettings settings = new JobSettings(kafka.bootstrapServers(), TOPICS, RequestFormat.AVRO,
                new Properties(), "e2e", model.toString(), tokenizerFile.toString(), 2, 1, 0, "slidebatching",
                PolicyOptions.defaults(), LatencyProfiles.prior(weights.config(), 1), "", 100, 1000, 2);
        Configuration conf = new Configuration();
        conf.set(RestartStrategyOptions.RESTART_STRATEGY, "none"); // any failure fails the job, and the tests
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
        env.setParallelism(2);
        InferenceJob.build(env, settings);
        job = env.executeAsync("e2e");
        runner = new LoadRunner(kafka.bootstrapServers(), TOPICS, RequestFormat.AVRO, new Properties());
    }

    @AfterAll
    static void stopJobAndBroker() throws Exception {
        if (job != null) {
            job.cancel().get();
        }
        if (kafka != null) {
            kafka.close();
        }
    }

    @Test
    void mixedRequestsRoundTripAndMalformedRecordsAreDeadLetters() throws Exception {
        List<PlannedRequest> plan = new ArrayList<>();
        // Mixed classes and weights with SLOs loose enough that nothing expires on a slow machine:
        // this test is about every request's tokens, not about meeting deadlines.
        Mix mix = Mix.parse("interactive:0.3:w=4:ttft=60000:tpot=5000,standard:0.5:w=1:ttft=120000:tpot=10000,"
                + "batch:0.2:w=0.25:deadline=600000");
        for (PlannedRequest p : Workload.synthetic(100, 50, mix, 4, 12, 42)) {
            boolean sampled = plan.size() % 3 == 0; // a third sample at temperature 0.8
            plan.add(new PlannedRequest(p.sendAtMs(), p.requestId(), p.serviceClass(), p.prompt(), null,
                    p.maxNewTokens(), sampled ? 0.8f : 0f, p.seed()));
        }

        sendMalformed(kafka.bootstrapServers(), TOPICS.requests(), 50);
        LoadRunner.Outcome outcome = runner.run(plan, CLASSES, Duration.ofSeconds(120), null);

        assertThat(outcome.results().finished).as("every request ended").hasSize(plan.size());
        // One sequence at a time: a few blocks, not the default half gigabyte beside the job's instances.
        try (CpuExecutor reference = new CpuExecutor(weights,
                CpuExecutor.Options.defaults(weights.config()).withThreads(1).withKvBlocks(64))) {
            for (PlannedRequest p : plan) {
                TokenChecks.check(p, outcome.results().events.get(p.requestId()), tokenizer, reference);
            }
        }
        assertThat(outcome.report().finished()).isEqualTo(plan.size());
        assertThat(outcome.report().rejected()).isZero();

        List<DeadLetter> dead = readDeadLetters(kafka.bootstrapServers(), TOPICS.dlq(), 50);
        assertThat(dead).hasSize(50);
        assertThat(dead).allSatisfy(d -> assertThat(d.getReason()).startsWith("not an Avro InferenceRequest"));
        assertThat(job.getJobStatus().get()).isEqualTo(JobStatus.RUNNING);
    }

    /**
     * Arrivals far above what two single-thread instances serve: the high-weight class keeps at
     * least the attainment of the low-weight class with the same SLO, and the lowest class (batch
     * work with a deadline) still completes requests: no starvation.
     */
    @Test
    void underOverloadHighWeightStaysAheadAndNobodyStarves() throws Exception {
        // An overload on any machine this runs on: 400 requests in about two seconds, up to 64 tokens each, with
        // SLOs tight enough that even an idle machine with a warm JIT and the fast engine cannot meet them all.
        Mix mix = Mix.parse("high:0.4:w=4:ttft=500:tpot=50,low:0.4:w=1:ttft=500:tpot=50,"
                + "batch:0.2:w=0.25:deadline=300000");
        List<PlannedRequest> plan = Workload.synthetic(400, 200, mix, 32, 64, 7);
        LoadRunner.Outcome outcome = runner.run(plan, List.of("high", "low", "batch"), Duration.ofSeconds(300), null);

        assertThat(outcome.results().finished).as("every request ended").hasSize(plan.size());
        var high = outcome.report().byClass("high");
        var low = outcome.report().byClass("low");
        var batch = outcome.report().byClass("batch");
        assertThat(low.attainment()).as("overload: the low class misses SLOs").isLessThan(1.0);
        assertThat(high.attainment()).as("high-weight attainment vs low-weight (%s vs %s)",
                high.attainment(), low.attainment()).isGreaterThanOrEqualTo(low.attainment());
        assertThat(batch.met()).as("the lowest-weight class still completes requests").isPositive();
        assertThat(job.getJobStatus().get()).isEqualTo(JobStatus.RUNNING);
    }

    private static void sendMalformed(String bootstrap, String topic, int count) throws Exception {
        Properties props = new Properties();
        props.put("bootstrap.servers", bootstrap);
        try (var producer = new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer())) {
            for (int i = 0; i < count; i++) {
                byte[] garbage = i % 2 == 0 ? ("{\"not\": \"avro\", \"n\": " + i + "}").getBytes(UTF_8)
                        : new byte[] {(byte) 0xff, (byte) 0xfe, (byte) i};
                producer.send(new ProducerRecord<>(topic, garbage)).get();
            }
        }
    }

    private static List<DeadLetter> readDeadLetters(String bootstrap, String topic, int expected) throws Exception {
        Properties props = new Properties();
        props.putAll(Map.of("bootstrap.servers", bootstrap, "group.id", "e2e-dlq", "auto.offset.reset", "earliest"));
        List<DeadLetter> out = new ArrayList<>();
        try (var consumer = new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            consumer.subscribe(List.of(topic));
            long end = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (out.size() < expected && System.nanoTime() < end) {
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    out.add(avro(r.value()));
                }
            }
        }
        return out;
    }

    private static DeadLetter avro(byte[] value) throws java.io.IOException {
        var decoder = org.apache.avro.io.DecoderFactory.get().binaryDecoder(value, null);
        return new org.apache.avro.specific.SpecificDatumReader<>(DeadLetter.class).read(null, decoder);
    }
}
