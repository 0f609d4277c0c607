package io.sluice.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

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
import io.sluice.job.local.FlinkRest;
import io.sluice.job.pipeline.Topics;
import io.sluice.job.sim.Mix;
import io.sluice.operators.ingest.RequestFormat;
import io.sluice.schemas.FinishReason;
import io.sluice.schemas.TokenEvent;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.stream.Stream;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.GlobalConfiguration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The shaded job jar on a real standalone Flink session cluster (JobManager and TaskManager in
 * child JVMs, Flink's jars only on their classpath, the repository's flink-conf/config.yaml) and a
 * real Kafka broker: uploaded and run through the REST API as an operator would, it serves
 * requests sent by the load generator, each to its last token; then it is cancelled and every
 * process and file is gone.
 */
class ClusterSubmissionITCase {

    private static final Topics TOPICS = Topics.DEFAULT;

    @TempDir
    Path dir;

    @Test
    void shadedJarRunsOnAStandaloneClusterAndServesRequests() throws Exception {
        Path jar = FlinkJobJar.require();
        String classpath = Files.readString(Path.of(System.getProperty("sluice.flinkClasspath",
                "target/flink-cluster-classpath.txt"))).trim();
        Configuration base = GlobalConfiguration.loadConfiguration(
                System.getProperty("sluice.flinkConf", "../../flink-conf"));

        Path model = dir.resolve("model.bin");
        SyntheticCheckpoint.write(SyntheticCheckpoint.Shape.of("260k").config(), 99, model);
        Weights weights = CheckpointLoader.load(model);
        Path tokenizerFile = dir.resolve("tokenizer.bin");
        ByteTokenizer.write(tokenizerFile, weights.config().vocabSize());
        Tokenizer tokenizer = Tokenizer.load(tokenizerFile, weights.config().vocabSize());

        Path clusterDir = dir.resolve("flink");
        Path kafkaDir = dir.resolve("kafka");
        List<ProcessHandle> started = new ArrayList<>();
        // The cluster's JVMs boot while the broker formats and starts: both take seconds.
        try (StandaloneFlinkCluster cluster = StandaloneFlinkCluster.launch(clusterDir, base, classpath);
                LocalKafka kafka = LocalKafka.start(kafkaDir, 0)) {
            started.addAll(cluster.processes());
            started.add(kafka.process());
            kafka.createTopics(1, TOPICS.all());
            cluster.awaitReady(Duration.ofSeconds(60));

            String jarId = cluster.uploadJar(jar);
            List<String> args = List.of("run",
                    "--bootstrap", kafka.bootstrapServers(),
                    "--model", model.toString(),
                    "--tokenizer", tokenizerFile.toString(),
                    "--instances", "1", "--threads", "1", "--kv-blocks", "64",
                    "--group-id", "cluster-it", "--job-name", "sluice-cluster-it");
            // A bad flag fails the submission with the CLI's message, and the JobManager (in whose
            // JVM the CLI's main runs) lives on.
            List<String> badArgs = new ArrayList<>(args);
            badArgs.addAll(List.of("--policy", "no-such-policy"));
            assertThatThrownBy(() -> cluster.runJar(jarId, badArgs, 1))
                    .hasMessageContaining("unknown --policy 'no-such-policy'");
            assertThat(cluster.processes()).allMatch(ProcessHandle::isAlive);

            String jobId = cluster.runJar(jarId, args, 1);
            assertThat(FlinkRest.awaitAllTasksRunning(cluster.restPort(), jobId, Duration.ofSeconds(60)))
                    .as("every task of job %s runs\n%s", jobId, cluster.logs()).isTrue();

            Mix mix = Mix.parse("interactive:0.5:w=4:ttft=60000:tpot=5000,batch:0.5:w=1:deadline=300000");
            List<PlannedRequest> plan = Workload.synthetic(10, 20, mix, 4, 12, 5);
            LoadRunner runner = new LoadRunner(kafka.bootstrapServers(), TOPICS, RequestFormat.AVRO, new Properties());
            LoadRunner.Outcome outcome = runner.run(plan, List.of("interactive", "batch"), Duration.ofSeconds(60), null);

            assertThat(outcome.results().finished).as("every request ended\n%s", cluster.logs())
                    .hasSize(plan.size());
            try (CpuExecutor reference = new CpuExecutor(weights,
                    CpuExecutor.Options.defaults(weights.config()).withThreads(1))) {
                for (PlannedRequest p : plan) {
                    TokenChecks.check(p, outcome.results().events.get(p.requestId()), tokenizer, reference);
                }
            }
            assertThat(outcome.report().finished()).isEqualTo(plan.size());
            assertThat(cluster.jobState(jobId)).isEqualTo("RUNNING");

            cluster.cancel(jobId, Duration.ofSeconds(30));
        }
        assertThat(started).as("the JobManager, the TaskManager and the broker have exited")
                .noneMatch(ProcessHandle::isAlive);
        assertThat(clusterDir).as("the cluster's configuration, logs, uploads and temp files are gone")
                .doesNotExist();
        try (Stream<Path> left = Files.list(kafkaDir)) {
            assertThat(left).as("the broker's folder is gone").isEmpty();
        }
    }
}
