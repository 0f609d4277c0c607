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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole job on a Flink MiniCluster against a real Kafka broker: 100 requests of mixed classes
 * (greedy and sampled) each end exactly once with contiguous token indices and the very tokens
 * the engine generates for them alone; 50 malformed records interleaved with them reach the
 * dead-letter topic with reasons, and the job neither fails nor restarts.
 */
class PipelineITCase {

    @RegisterExtension
    static final MiniClusterExtension FLINK = new MiniClusterExtension(
            new MiniClusterResourceConfiguration.Builder()
                    .setNumberTaskManagers(1)
                    .setNumberSlotsPerTaskManager(4)
                    .build());

    @Test
    void mixedRequestsRoundTripAndMalformedRecordsAreDeadLetters(@TempDir Path dir) throws Exception {
        Path model = dir.resolve("model.bin");
        SyntheticCheckpoint.write(SyntheticCheckpoint.Shape.of("15m").config(), 1234, model);
        Path tokenizerFile = dir.resolve("tokenizer.bin");
        ByteTokenizer.write(tokenizerFile, 32000);
        Weights weights = CheckpointLoader.load(model);
        Tokenizer tokenizer = Tokenizer.load(tokenizerFile, weights.config().vocabSize());

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

        try (LocalKafka kafka = LocalKafka.start(dir.resolve("kafka"), 0)) {
            Topics topics = Topics.DEFAULT;
            kafka.createTopics(2, topics.all());
            JobSettings settings = new JobSettings(kafka.bootstrapServers(), topics, RequestFormat.AVRO,
                    new Properties(), "e2e", model.toString(), tokenizerFile.toString(), 2, 1, 0, "slidebatching",
                    PolicyOptions.defaults(), LatencyProfiles.prior(weights.config(), 1), "", 100, 1000, 2);
            Configuration conf = new Configuration();
            conf.set(RestartStrategyOptions.RESTART_STRATEGY, "none"); // any failure fails the test
            StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
            env.setParallelism(2);
            InferenceJob.build(env, settings);
            JobClient job = env.executeAsync("e2e");
            try {
                sendMalformed(kafka.bootstrapServers(), topics.requests(), 50);
                LoadRunner.Outcome outcome = new LoadRunner(kafka.bootstrapServers(), topics, RequestFormat.AVRO,
                        new Properties()).run(plan, List.of("interactive", "standard", "batch"),
                        Duration.ofSeconds(120), null);

                assertThat(outcome.results().finished).as("every request ended").hasSize(plan.size());
                try (CpuExecutor reference = new CpuExecutor(weights,
                        CpuExecutor.Options.defaults(weights.config()).withThreads(1))) {
                    for (PlannedRequest p : plan) {
                        checkTokens(p, outcome.results().events.get(p.requestId()), tokenizer, reference);
                    }
                }
                assertThat(outcome.report().finished()).isEqualTo(plan.size());
                assertThat(outcome.report().rejected()).isZero();

                List<DeadLetter> dead = readDeadLetters(kafka.bootstrapServers(), topics.dlq(), 50);
                assertThat(dead).hasSize(50);
                assertThat(dead).allSatisfy(d -> assertThat(d.getReason()).startsWith("not an Avro InferenceRequest"));
                assertThat(job.getJobStatus().get()).isEqualTo(JobStatus.RUNNING);
            } finally {
                job.cancel().get();
            }
        }
    }

    /** One final event, indices 0..n-1, and the tokens the engine produces for the request alone. */
    private static void checkTokens(PlannedRequest p, List<TokenEvent> events, Tokenizer tokenizer,
            CpuExecutor reference) {
        assertThat(events).as("events of %s", p.requestId()).isNotEmpty();
        assertThat(events).filteredOn(TokenEvent::getFinal$).as("final events of %s", p.requestId()).hasSize(1);
        TokenEvent last = events.get(events.size() - 1);
        assertThat(last.getFinal$()).as("the final event of %s comes last", p.requestId()).isTrue();
        for (int i = 0; i < events.size(); i++) {
            assertThat(events.get(i).getIndex()).as("index of event %d of %s", i, p.requestId()).isEqualTo(i);
        }
        int[] prompt = tokenizer.encode(p.prompt());
        SamplingParams sampling = new SamplingParams(p.temperature(), 1f, p.seed());
        int[] ids = Generator.generate(reference, prompt, prompt.length - 1 + p.maxNewTokens(), sampling, t -> { })
                .ids();
        List<Integer> expected = new ArrayList<>();
        for (int i = prompt.length - 1; i < ids.length; i++) {
            expected.add(ids[i]);
        }
        List<Integer> got = new ArrayList<>();
        for (TokenEvent e : events) {
            boolean stopToken = e.getFinal$() && e.getFinishReason() == FinishReason.EOS;
            if (!stopToken) {
                got.add(e.getTokenId());
            }
        }
        assertThat(got).as("tokens of %s (temperature %s, finish %s: %s)", p.requestId(), p.temperature(),
                last.getFinishReason(), last.getReasonDetail()).isEqualTo(expected);
        if (last.getFinishReason() == FinishReason.LENGTH) {
            assertThat(got).hasSize(p.maxNewTokens());
        }
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
