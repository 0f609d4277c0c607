package io.sluice.job.cli;

import io.sluice.gpu.model.CheckpointLoader;
import io.sluice.gpu.model.ModelConfig;
import io.sluice.job.kafka.LocalKafka;
import io.sluice.job.loadgen.LoadRunner;
import io.sluice.job.loadgen.PlannedRequest;
import io.sluice.job.local.DemoModel;
import io.sluice.job.local.Folders;
import io.sluice.job.local.FlinkRest;
import io.sluice.job.local.Ports;
import io.sluice.job.pipeline.InferenceJob;
import io.sluice.job.pipeline.JobSettings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
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

    /** How long Ctrl-C waits for the job, the broker and the work folder to go. */
    private static final Duration CLEANUP_TIMEOUT = Duration.ofSeconds(60);

    @Option(names = "--kafka-port", defaultValue = "9092", description = "Port of the broker; 0 picks a free one (default: ${DEFAULT-VALUE}).")
    int kafkaPort;

    @Option(names = "--web-port", defaultValue = "8081", description = "Port of the Flink web UI (default: ${DEFAULT-VALUE}).")
    int webPort;

    @Option(names = "--keep-running", description = "After the load run, stay up until Ctrl-C (for kcat and the web UI).")
    boolean keepRunning;

    /** The thread a Ctrl-C interrupts: set while it sends load or waits under --keep-running. */
    private final AtomicReference<Thread> interruptible = new AtomicReference<>();

    @Mixin KafkaOptions kafka;
    @Mixin EngineOptions engine;
    @Mixin LoadOptions load;

    @Override
    public Integer call() throws Exception {
        // Every flag and file is checked before the broker starts, so a typo is one line, not a start and a stop.
        engine.validate();
        load.validate();
        kafka.format();
        Ports.checkAvailable("--kafka-port", kafkaPort, true);
        Ports.checkAvailable("--web-port", webPort, false);
        if (engine.model == null) {
            engine.model = DemoModel.checkpoint(System.err);
            if (engine.tokenizer == null) {
                engine.tokenizer = DemoModel.tokenizer();
            }
        }
        ModelConfig model = CheckpointLoader.load(engine.model).config();
        List<PlannedRequest> plan = load.plan(model.seqLen(), model.vocabSize());
        int brokerPort = kafkaPort != 0 ? kafkaPort : Ports.free();
        JobSettings settings = engine.settings("localhost:" + brokerPort, kafka.topics(), kafka.format(),
                kafka.properties(), "sluice-local");

        Path work = Files.createTempDirectory("sluice-local-");
        // Ctrl-C (with --keep-running, or during the run) ends the JVM through its shutdown hooks, which would
        // leave this method's cleanup undone: the hook lets the main thread out of its wait instead and waits
        // (bounded) until the cleanup below has run.
        CountDownLatch stopRequested = new CountDownLatch(1);
        CountDownLatch cleanedUp = new CountDownLatch(1);
        Thread hook = new Thread(() -> {
            stopRequested.countDown();
            Thread waiting = interruptible.getAndSet(null); // the main thread, while it sends load or waits
            if (waiting != null) {
                waiting.interrupt();
            }
            try {
                cleanedUp.await(CLEANUP_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "sluice-local-stop");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            return runLocal(settings, plan, work, brokerPort, stopRequested);
        } catch (Exception e) {
            if (stopRequested.getCount() > 0) {
                throw e;
            }
            // Ctrl-C: whatever the interrupt cut short (a start, the load run, the wait) is no failure to report.
            return 130; // what the shell reports for SIGINT
        } finally {
            Folders.deleteRecursively(work);
            cleanedUp.countDown();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException e) {
                // Shutting down: the hook is running and has just been released.
            }
        }
    }

    private int runLocal(JobSettings settings, List<PlannedRequest> plan, Path work, int brokerPort,
            CountDownLatch stopRequested) throws Exception {
        interruptible.set(Thread.currentThread()); // a Ctrl-C while the broker or the job starts stops that too
        if (stopRequested.getCount() == 0) {
            throw new InterruptedException("stopped before the broker started");
        }
        // Broker and job take several seconds to come up: say what is being waited for.
        System.err.println("sluice: starting a Kafka broker (KRaft) on port " + brokerPort + "...");
        try (LocalKafka broker = LocalKafka.start(work, brokerPort)) {
            System.err.println("sluice: Kafka at " + broker.bootstrapServers());
            broker.createTopics(engine.instanceCount(), kafka.topics().all());

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
                int n = engine.instanceCount();
                System.err.println("sluice: waiting for the job's " + n + (n == 1 ? " instance" : " instances")
                        + " to load the model and run...");
                if (!FlinkRest.awaitAllTasksRunning(webPort, job.getJobID().toString(), Duration.ofSeconds(120))) {
                    System.err.println("sluice: the job's tasks were not all running within 120 s; see the web UI");
                    return 1;
                }
                if (stopRequested.getCount() == 0) {
                    throw new InterruptedException("stopped before the load run");
                }
                int exit = LoadgenCommand.runAndReport("local", runner, plan, load);
                if (keepRunning) {
                    System.err.println("sluice: running; Ctrl-C stops everything");
                    stopRequested.await();
                }
                return exit;
            } finally {
                interruptible.set(null);
                if (stopRequested.getCount() == 0) {
                    System.err.println("sluice: stopping the job and the broker");
                }
                Thread.interrupted(); // a Ctrl-C that came as the load run ended must not cut the cleanup short
                stop(job, CLEANUP_TIMEOUT);
            }
        } finally {
            interruptible.set(null); // the broker's close and the folder's removal run to the end
            Thread.interrupted();
        }
    }

    /**
     * Cancels the job and waits until it has ended, within {@code timeout}. The cancel call returns once the
     * cancellation is accepted, while the tasks and the Kafka clients of the sources' coordinators still run: a
     * broker stopped then made them log connection warnings at the end of a good run.
     */
    static void stop(JobClient job, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        try {
            job.cancel().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            // Already finished or cancelled: nothing left to cancel; the wait below returns at once.
        }
        try {
            job.getJobExecutionResult().handle((result, failure) -> null)
                    .get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        } catch (Exception e) {
            // Not ended in time (or the cluster already gone): the broker stops anyway.
        }
    }
}
