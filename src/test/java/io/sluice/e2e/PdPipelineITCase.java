package io.sluice.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.gpu.exec.CpuExecutor;
import io.sluice.gpu.model.CheckpointLoader;
import io.sluice.gpu.model.SyntheticCheckpoint;
import io.sluice.gpu.model.Weights;
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
import io.sluice.scheduling.RouterOptions;
import io.sluice.schemas.RequestMetrics;
import io.sluice.schemas.TokenEvent;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.PipelineOptions;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The job with prefill/decode separation ({@code --pd separate --instances 1:2}) on a MiniCluster against a real
 * broker: every request ends exactly once with contiguous indices and the tokens the engine generates for it
 * alone, its first token from the prefill instance and the rest from a decode instance that received its KV.
 */
class PdPipelineITCase {

    @RegisterExtension
    static final MiniClusterExtension FLINK = new MiniClusterExtension(
            new MiniClusterResourceConfiguration.Builder()
                    .setNumberTaskManagers(1)
                    .setNumberSlotsPerTaskManager(2)
                    .build());

    @TempDir
    static Path dir;

    @Test
    void separatePoolsHandSequencesOverWithGeneratorsTokens() throws Exception {
        Path model = dir.resolve("model.bin");
        SyntheticCheckpoint.write(SyntheticCheckpoint.Shape.of("15m").config(), 1234, model);
        Path tokenizerFile = dir.resolve("tokenizer.bin");
        ByteTokenizer.write(tokenizerFile, 32000);
        Weights weights = CheckpointLoader.load(model);
        Tokenizer tokenizer = Tokenizer.load(tokenizerFile, weights.config().vocabSize());
        Topics topics = Topics.DEFAULT;
        try (LocalKafka kafka = LocalKafka.start(dir.resolve("kafka"), 0)) {
            JobClient job = null;
            try {
                kafka.createTopics(2, topics.all());
                JobSettings settings = new JobSettings(kafka.bootstrapServers(), topics, RequestFormat.AVRO,
                        new Properties(), "e2e-pd", model.toString(), tokenizerFile.toString(), 3, 1, 256,
                        "slidebatching", PolicyOptions.defaults(), LatencyProfiles.prior(weights.config(), 1), "", 100,
                        1000, 0)
                        .withPd(PdMode.SEPARATE, 2)
                        // A decode instance stops admitting once 3 of its 256 blocks are taken and resumes when
                        // it is nearly empty: without that, the first decode instance would keep these loose
                        // TPOT targets and take every handoff. So both decode instances get handoffs, and
                        // prefilled sequences wait on the prefill instance until a decode status shows room.
                        .withRouter(RouterOptions.defaults().withAdmission(0.99, 0.995));
                Configuration conf = new Configuration();
                conf.set(RestartStrategyOptions.RESTART_STRATEGY, "none");
                conf.set(PipelineOptions.GENERIC_TYPES, false); // the handoff must cross as a POJO, not through Kryo
                StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
                env.setParallelism(2);
                InferenceJob.build(env, settings);
                job = env.executeAsync("e2e-pd");

                Mix mix = Mix.parse("interactive:0.5:w=4:ttft=60000:tpot=5000,batch:0.5:w=1:deadline=600000");
                List<PlannedRequest> plan = new ArrayList<>();
                for (PlannedRequest p : Workload.synthetic(30, 15, mix, 3, 12, 11)) {
                    boolean sampled = plan.size() % 3 == 0;
                    plan.add(new PlannedRequest(p.sendAtMs(), p.requestId(), p.serviceClass(), p.prompt(), null,
                            p.maxNewTokens(), sampled ? 0.8f : 0f, p.seed()));
                }
                LoadRunner runner = new LoadRunner(kafka.bootstrapServers(), topics, RequestFormat.AVRO, new Properties());
                LoadRunner.Outcome outcome = runner.run(plan, List.of("interactive", "batch"), Duration.ofSeconds(120),
                        null);

                assertThat(outcome.results().finished).as("every request ended").hasSize(plan.size());
                Set<Integer> decodeInstances = new HashSet<>();
                try (CpuExecutor reference = new CpuExecutor(weights,
                        CpuExecutor.Options.defaults(weights.config()).withThreads(1).withKvBlocks(64))) {
                    for (PlannedRequest p : plan) {
                        // The decode instance's tokens reach the topic in order: the job keys the token sink by
                        // request id, so one producer writes them. The first token comes from another task (the
                        // prefill instance), so only the rest are held to arrival order.
                        List<TokenEvent> events = new ArrayList<>(outcome.results().events.get(p.requestId()));
                        assertThat(events.stream().map(TokenEvent::getIndex).filter(i -> i > 0).toList())
                                .as("tokens of %s after the first, in arrival order", p.requestId()).isSorted();
                        events.sort(Comparator.comparingInt(TokenEvent::getIndex));
                        TokenChecks.check(p, events, tokenizer, reference);
                        RequestMetrics m = outcome.results().metrics.get(p.requestId());
                        assertThat(m).as("metrics of %s", p.requestId()).isNotNull();
                        assertThat(m.getPrefillInstance()).as("prefill instance of %s", p.requestId()).isZero();
                        assertThat(m.getTtftMs()).as("TTFT of %s", p.requestId()).isNotNull();
                        if (m.getGeneratedTokens() > 1) {
                            assertThat(m.getDecodeInstance()).as("decode instance of %s", p.requestId()).isIn(1, 2);
                            assertThat(m.getTpotMs()).isNotNull();
                            decodeInstances.add(m.getDecodeInstance());
                        }
                    }
                }
                assertThat(outcome.report().rejected()).isZero();
                assertThat(decodeInstances).as("handoffs spread over the decode pool").containsExactlyInAnyOrder(1, 2);
                assertThat(job.getJobStatus().get()).isEqualTo(JobStatus.RUNNING);
            } finally {
                if (job != null) {
                    job.cancel().get(); // before the broker goes
                }
            }
        }
    }
}
