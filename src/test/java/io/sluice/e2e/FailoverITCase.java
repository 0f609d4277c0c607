package io.sluice.e2e;

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
import io.sluice.job.pipeline.PdMode;
import io.sluice.job.pipeline.Topics;
import io.sluice.job.sim.Mix;
import io.sluice.operators.ingest.RequestFormat;
import io.sluice.scheduling.PolicyOptions;
import io.sluice.schemas.FinishReason;
import io.sluice.schemas.TokenEvent;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.executiongraph.AccessExecutionGraph;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.InjectMiniCluster;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The job loses its TaskManager while it serves (a real Kafka broker, a Flink MiniCluster): it restores from its
 * last checkpoint on a new one, and the source replays what it read since. Every request still ends, and what a
 * consumer reads of the tokens topic (the events before the failure, then the replay's) is one answer per
 * request: at each index the same event every time it appears, the engine's own tokens for the request. Colocated
 * and under PD separation (where the restore also meets sequences handed over since the checkpoint).
 */
class FailoverITCase {

    @RegisterExtension
    static final MiniClusterExtension FLINK = new MiniClusterExtension(
            new MiniClusterResourceConfiguration.Builder()
                    .setNumberTaskManagers(1)
                    .setNumberSlotsPerTaskManager(2)
                    .build());

    @TempDir
    static Path dir;
    /** The live TaskManager's index: the cluster keeps lost ones in its list and appends each new one. */
    static int taskManager;

    @ParameterizedTest
    @EnumSource(value = PdMode.class, names = {"COLOCATED", "SEPARATE"})
    void aLostTaskManagerLosesNoRequestAndChangesNoAnswer(PdMode pd, @InjectMiniCluster MiniCluster cluster)
            throws Exception {
        Path dir = Files.createDirectories(FailoverITCase.dir.resolve(pd.name()));
        Path model = dir.resolve("model.bin");
        SyntheticCheckpoint.write(SyntheticCheckpoint.Shape.of("260k").config(), 1234, model);
        Path tokenizerFile = dir.resolve("tokenizer.bin");
        Weights weights = CheckpointLoader.load(model);
        ByteTokenizer.write(tokenizerFile, weights.config().vocabSize());
        Tokenizer tokenizer = Tokenizer.load(tokenizerFile, weights.config().vocabSize());
        Topics topics = Topics.DEFAULT;
        try (LocalKafka kafka = LocalKafka.start(dir.resolve("kafka"), 0)) {
            int instances = pd.separated() ? 2 : 1; // 1:1 under separation
            JobSettings settings = new JobSettings(kafka.bootstrapServers(), topics, RequestFormat.AVRO,
                    new Properties(), "failover", model.toString(), tokenizerFile.toString(), instances, 1, 0,
                    "slidebatching", PolicyOptions.defaults(), LatencyProfiles.prior(weights.config(), 1), "", 100,
                    1000, 2).withPd(pd, pd.separated() ? 1 : 0);
            kafka.createTopics(instances, topics.all());
            Configuration conf = new Configuration();
            // Often, so that a checkpoint completes within the test's first seconds; the job's own restart strategy.
            conf.set(CheckpointingOptions.CHECKPOINTING_INTERVAL, Duration.ofMillis(1000));
            StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
            env.setParallelism(1);
            InferenceJob.build(env, settings);
            JobClient job = env.executeAsync("failover");
            try {
                awaitCompletedCheckpoint(cluster, job);

                // A TTFT target shorter than the outage: the requests the restore brings back are past it.
                Mix mix = Mix.parse("interactive:1:w=1:ttft=1500:tpot=1000");
                List<PlannedRequest> plan = new ArrayList<>();
                for (PlannedRequest p : Workload.synthetic(40, 12, mix, 60, 200, 11)) {
                    plan.add(new PlannedRequest(p.sendAtMs(), p.requestId(), p.serviceClass(), p.prompt(), null,
                            p.maxNewTokens(), plan.size() % 2 == 0 ? 0.8f : 0f, p.seed()));
                }
                LoadRunner runner = new LoadRunner(kafka.bootstrapServers(), topics, RequestFormat.AVRO,
                        new Properties());
                AtomicReference<Exception> failed = new AtomicReference<>();
                Thread load = new Thread(() -> {
                    try {
                        runner.run(plan, List.of("interactive"), Duration.ofSeconds(120), null);
                    } catch (Exception e) {
                        failed.set(e);
                    }
                });
                load.start();
                Thread.sleep(2000); // about half the requests sent, some finished, some running, some queued
                cluster.terminateTaskManager(taskManager).get();
                Thread.sleep(2500);
                cluster.startTaskManager();
                taskManager++;
                load.join();
                assertThat(failed.get()).isNull();
                assertThat(cluster.getExecutionGraph(job.getJobID()).get().getStatusTimestamp(JobStatus.RESTARTING))
                        .as("the job restarted").isPositive();

                Map<String, List<TokenEvent>> events = readTokens(kafka.bootstrapServers(), topics.tokens(),
                        plan.size());
                try (CpuExecutor reference = new CpuExecutor(weights,
                        CpuExecutor.Options.defaults(weights.config()).withThreads(1).withKvBlocks(64))) {
                    for (PlannedRequest p : plan) {
                        List<TokenEvent> answer = oneAnswer(p.requestId(), events.get(p.requestId()));
                        assertThat(answer.get(answer.size() - 1).getFinishReason()).as("how %s ended",
                                p.requestId()).isIn(FinishReason.LENGTH, FinishReason.EOS);
                        // A stop token is part of no text: the engine's reference leaves it out.
                        assertThat(answer.stream().filter(e -> e.getFinishReason() != FinishReason.EOS)
                                .mapToInt(TokenEvent::getTokenId).toArray())
                                .as("tokens of %s", p.requestId()).containsExactly(reference(p, tokenizer, reference));
                    }
                }
                assertThat(job.getJobStatus().get()).isEqualTo(JobStatus.RUNNING);
            } finally {
                job.cancel().get();
            }
        }
    }

    /**
     * The engine's tokens for the request alone, as {@code sluice generate} samples them (it stops before BOS), up
     * to an EOS: a tiny vocabulary samples one now and then, and the job ends a request there too.
     */
    private static int[] reference(PlannedRequest p, Tokenizer tokenizer, CpuExecutor reference) {
        int[] prompt = tokenizer.encode(p.prompt());
        int[] ids = Generator.generate(reference, prompt, prompt.length - 1 + p.maxNewTokens(),
                new SamplingParams(p.temperature(), 1f, p.seed()), t -> { }).ids();
        int[] generated = Arrays.copyOfRange(ids, prompt.length - 1, ids.length);
        for (int i = 0; i < generated.length; i++) {
            if (generated[i] == Tokenizer.EOS) {
                return Arrays.copyOf(generated, i);
            }
        }
        return generated;
    }

    private static void awaitCompletedCheckpoint(MiniCluster cluster, JobClient job) throws Exception {
        long end = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < end) {
            AccessExecutionGraph graph = cluster.getExecutionGraph(job.getJobID()).get();
            if (graph.getCheckpointStatsSnapshot() != null
                    && graph.getCheckpointStatsSnapshot().getCounts().getNumberOfCompletedCheckpoints() > 0) {
                return;
            }
            Thread.sleep(100);
        }
        throw new AssertionError("no checkpoint completed within 60 s");
    }

    /**
     * A request's events as a consumer orders them, by index, after checking that every repeat of an index (a
     * replay) is the same event: same token, same final flag and reason.
     */
    private static List<TokenEvent> oneAnswer(String id, List<TokenEvent> events) {
        assertThat(events).as("events of %s", id).isNotNull().isNotEmpty();
        Map<Integer, TokenEvent> byIndex = new TreeMap<>();
        for (TokenEvent e : events) {
            TokenEvent first = byIndex.putIfAbsent(e.getIndex(), e);
            if (first != null) {
                assertThat(describe(e)).as("%s at index %d, again after the restore", id, e.getIndex())
                        .isEqualTo(describe(first));
            }
        }
        return new ArrayList<>(byIndex.values());
    }

    private static String describe(TokenEvent e) {
        return "token " + e.getTokenId() + ", text '" + e.getText() + "', final " + e.getFinal$() + " "
                + Objects.toString(e.getFinishReason(), "") + " " + Objects.toString(e.getReasonDetail(), "");
    }

    /** Every token event on the topic, by request, once each request has a final event and the topic is quiet. */
    private static Map<String, List<TokenEvent>> readTokens(String bootstrap, String topic, int requests)
            throws Exception {
        Properties props = new Properties();
        props.putAll(Map.of("bootstrap.servers", bootstrap, "group.id", "failover-check",
                "auto.offset.reset", "earliest"));
        Map<String, List<TokenEvent>> out = new HashMap<>();
        try (var consumer = new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            consumer.subscribe(List.of(topic));
            long end = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            long quietSince = System.nanoTime();
            while (System.nanoTime() < end) {
                ConsumerRecords<byte[], byte[]> records = consumer.poll(Duration.ofMillis(200));
                for (ConsumerRecord<byte[], byte[]> r : records) {
                    TokenEvent e = avro(r.value());
                    out.computeIfAbsent(e.getRequestId(), k -> new ArrayList<>()).add(e);
                }
                long finals = out.values().stream().filter(l -> l.stream().anyMatch(TokenEvent::getFinal$)).count();
                if (!records.isEmpty()) {
                    quietSince = System.nanoTime();
                } else if (finals >= requests && System.nanoTime() - quietSince > Duration.ofSeconds(3).toNanos()) {
                    break; // the replay is over: nothing new for 3 s
                }
            }
        }
        return out;
    }

    private static TokenEvent avro(byte[] value) throws java.io.IOException {
        var decoder = org.apache.avro.io.DecoderFactory.get().binaryDecoder(value, null);
        return new org.apache.avro.specific.SpecificDatumReader<>(TokenEvent.class).read(null, decoder);
    }
}
