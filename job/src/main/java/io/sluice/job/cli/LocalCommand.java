package io.sluice.job.cli;

import io.sluice.gpu.model.CheckpointLoader;
import io.sluice.gpu.model.ModelConfig;
import io.sluice.job.kafka.LocalKafka;
import io.sluice.job.loadgen.LoadRunner;
import io.sluice.job.loadgen.PlannedRequest;
import io.sluice.job.local.DemoModel;
import io.sluice.job.local.Folders;
import io.sluice.job.local.FlinkRest;
import io.sluice.job.pipeline.InferenceJob;
import io.sluice.job.pipeline.JobSettings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.CoreOptions;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.configuration.WebOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code sluice local}: the one-command demo. A real Kafka broker (child process), the job on a
 * local Flink cluster with its web UI, a load run, and the SLO report; everything it started is
 * stopped and its files removed at the end.
 */
@Command(name = "local", mixinStandardHelpOptions = true,
        description = "Starts a Kafka broker and the job on a local Flink cluster (web UI included), sends load, "
                + "prints an SLO report per class, and cleans up. Without --model it serves a synthetic 15m-shape "
                + "model (generated once and cached) with a byte-level tokenizer.")
public final class LocalCommand implements Callable<Integer> {

    @Option(names = "--kafka-port", defaultValue = "9092", description = "Port of the broker (default: ${DEFAULT-VALUE}).")
    int kafkaPort;

    @Option(names = "--web-port", defaultValue = "8081", description = "Port of the Flink web UI (default: ${DEFAULT-VALUE}).")
    int webPort;

    @Option(names = "--keep-running", description = "After the load run, stay up until Ctrl-C (for kcat and the web UI).")
    boolean keepRunning;

    @Mixin KafkaOptions kafka;
    @Mixin EngineOptions engine;
    @Mixin LoadOptions load;

    @Override
    public Integer call() throws Exception {
        engine.validate();
        if (engine.model == null) {
            engine.model = DemoModel.checkpoint(System.err);
            if (engine.tokenizer == null) {
                engine.tokenizer = DemoModel.tokenizer();
            }
        }
        ModelConfig model = CheckpointLoader.load(engine.model).config();
        List<PlannedRequest> plan = load.plan(model.seqLen(), model.vocabSize());

        Path work = Files.createTempDirectory("sluice-local-");
        try (LocalKafka broker = LocalKafka.start(work, kafkaPort)) {
            System.err.println("sluice: Kafka at " + broker.bootstrapServers());
            broker.createTopics(engine.instanceCount(), kafka.topics().all());
            JobSettings settings = engine.settings(broker.bootstrapServers(), kafka.topics(), kafka.format(),
                    kafka.properties(), "sluice-local");

            Configuration conf = new Configuration();
            conf.set(RestOptions.PORT, webPort);
            // Every file Flink writes goes below the work folder, removed at the end.
            conf.set(CoreOptions.TMP_DIRS, work.toString());
            conf.set(WebOptions.TMP_DIR, work.toString());
            conf.set(WebOptions.UPLOAD_DIR, work.toString());
            StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironmentWithWebUI(conf);
            env.setParallelism(engine.instanceCount());
            InferenceJob.build(env, settings);
            JobClient job = env.executeAsync("sluice-local");
            System.err.println("sluice: Flink web UI at http://localhost:" + webPort + " (job " + job.getJobID() + ")");
            try {
                LoadRunner runner =
                        new LoadRunner(broker.bootstrapServers(), kafka.topics(), kafka.format(), kafka.properties());
                // Measure the job, not its start-up: load starts once every task runs.
                if (!FlinkRest.awaitAllTasksRunning(webPort, job.getJobID().toString(), Duration.ofSeconds(120))) {
                    System.err.println("sluice: the job's tasks were not all running within 120 s; see the web UI");
                    return 1;
                }
                int exit = LoadgenCommand.runAndReport(runner, plan, load);
                if (keepRunning) {
                    System.err.println("sluice: running; Ctrl-C stops everything");
                    CountDownLatch forever = new CountDownLatch(1);
                    Runtime.getRuntime().addShutdownHook(new Thread(() -> stop(job)));
                    forever.await();
                }
                return exit;
            } finally {
                stop(job);
            }
        } finally {
            Folders.deleteRecursively(work);
        }
    }

    private static void stop(JobClient job) {
        try {
            job.cancel().get();
        } catch (Exception e) {
            // Already finished or cancelled: nothing left to stop.
        }
    }
}
