package io.sluice.job.bench;

import io.sluice.gpu.model.CheckpointLoader;
import io.sluice.gpu.model.ModelConfig;
import io.sluice.gpu.model.SyntheticCheckpoint;
import io.sluice.job.local.Folders;
import io.sluice.job.pipeline.InferenceJob;
import io.sluice.job.pipeline.LatencyProfiles;
import io.sluice.operators.InstanceConfig;
import io.sluice.operators.InstanceFunction;
import io.sluice.operators.ingest.AdmittedRequest;
import io.sluice.scheduling.PolicyOptions;
import io.sluice.schemas.TokenEvent;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.CoreOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;
import org.apache.flink.util.CloseableIterator;

/**
 * Throughput of the instance operator alone: admitted requests from a generated source, keyed to
 * {@code instances} instances of {@link InstanceFunction} with the no-op engine, in a real Flink job on
 * a local MiniCluster. No Kafka, no router: tokens go to a discarding sink, and a tally chained to each
 * instance counts finished requests. The rate is measured between the first and the last finished
 * request, from the metrics' finish times, so job start-up and the queue filling are not in it.
 */
public final class OperatorBenchmark {

    /** What to run. */
    public record Options(long requests, int instances, String policy, int promptTokens, int maxNewTokens,
            double rate, long bufferTimeoutMs, boolean objectReuse, long timeoutSeconds) {
        public Options {
            if (!(rate >= 0) || Double.isInfinite(rate)) {
                throw new IllegalArgumentException("--rate must be >= 0 (0 = as fast as possible), got " + rate);
            }
            if (requests < 2) {
                throw new IllegalArgumentException("--requests must be at least 2, got " + requests);
            }
            if (instances < 1 || instances > InferenceJob.MAX_PARALLELISM) {
                throw new IllegalArgumentException("--instances must be in [1, " + InferenceJob.MAX_PARALLELISM
                        + "], got " + instances);
            }
            if (promptTokens < 1 || maxNewTokens < 1) {
                throw new IllegalArgumentException("--prompt-len and --gen must be at least 1, got " + promptTokens
                        + " and " + maxNewTokens);
            }
            // Checked here, not when the model is written: the command prints its plan before running.
            int context = MODEL.config().seqLen();
            if ((long) promptTokens + maxNewTokens - 1 > context) {
                throw new IllegalArgumentException("--prompt-len " + promptTokens + " + --gen " + maxNewTokens
                        + " must fit the benchmark model's context of " + context);
            }
            if (bufferTimeoutMs < 0) {
                throw new IllegalArgumentException("--buffer-timeout-ms must be >= 0, got " + bufferTimeoutMs);
            }
            if (timeoutSeconds < 1) {
                throw new IllegalArgumentException("--timeout-s must be at least 1, got " + timeoutSeconds);
            }
        }
    }

    /**
     * What it measured.
     *
     * @param seconds   from the first finished request to the last
     * @param wallSeconds from submitting the job to the last finish (start-up included)
     * @param cpuShare  CPU time of this process over wall time times cores, during the run: how much of the
     *                  machine the run got (near 1 / cores means one busy core)
     * @param instanceCpuSeconds CPU time of the instances' task threads (the operator, its state and timers, and
     *                  what is chained to it), start-up included: what a request costs them does not depend on
     *                  what else the machine runs, where the rate does
     * @param e2eMeanMs  mean end-to-end time of a request (made to last token), queueing included
     */
    public record Result(long requests, long finished, long met, long tokens, double seconds, double wallSeconds,
            double cpuShare, double instanceCpuSeconds, double e2eMeanMs, double e2eMaxMs) {

        /** Instance-thread CPU per request, microseconds. */
        public double instanceCpuMicrosPerRequest() {
            return finished == 0 ? 0 : instanceCpuSeconds * 1e6 / finished;
        }

        public double requestsPerSecond() {
            return seconds <= 0 ? 0 : (finished - 1) / seconds;
        }

        public double tokensPerSecond() {
            return seconds <= 0 ? 0 : tokens / seconds;
        }
    }

    /** The no-op engine reads only the model's shape; the smallest checkpoint serves. */
    private static final SyntheticCheckpoint.Shape MODEL = SyntheticCheckpoint.Shape.S260K;

    private OperatorBenchmark() {}

    /**
     * Runs it; progress lines go to {@code progress} (null for none).
     *
     * @throws IllegalStateException when not every request finished within the timeout
     */
    public static Result run(Options options, PrintWriter progress) throws Exception {
        Path dir = Files.createTempDirectory("sluice-bench-operator-");
        try {
            Path model = dir.resolve("model-" + MODEL + ".bin");
            SyntheticCheckpoint.write(MODEL.config(), 1234, model);
            return run(options, model, dir, progress);
        } finally {
            Folders.deleteRecursively(dir);
        }
    }

    private static Result run(Options options, Path model, Path tmp, PrintWriter progress) throws Exception {
        ModelConfig config = CheckpointLoader.load(model).config();
        InstanceConfig instance = new InstanceConfig(model.toString(), null, 1, 0, options.policy(),
                PolicyOptions.defaults(), LatencyProfiles.prior(config, 1), 100,
                InstanceConfig.DEFAULT_IDLE_STATUS_MS, InstanceConfig.Engine.NOOP);

        Configuration conf = new Configuration();
        conf.set(CoreOptions.TMP_DIRS, tmp.toString());
        StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(options.instances(), conf);
        InferenceJob.configure(env, options.bufferTimeoutMs());
        if (!options.objectReuse()) {
            env.getConfig().disableObjectReuse();
        }

        DataStream<AdmittedRequest> requests = env
                .fromSource(new GeneratedRequests.OpenSequenceSource(options.requests()),
                        WatermarkStrategy.noWatermarks(), "Generated requests")
                .setParallelism(1)
                .map(new GeneratedRequests.ToRequest(options.instances(), options.promptTokens(),
                        options.maxNewTokens(), config.vocabSize(), options.rate()))
                .setParallelism(1)
                .name("To admitted requests");
        SingleOutputStreamOperator<TokenEvent> tokens = InferenceJob.instances(requests, instance, options.instances());
        tokens.sinkTo(new DiscardingSink<>()).name("Discard tokens").setParallelism(options.instances());
        DataStream<FinishTally.Tally> tallies = tokens.getSideOutput(InstanceFunction.METRICS)
                .flatMap(new FinishTally(options.requests()))
                .name("Tally finished requests")
                .setParallelism(options.instances());

        Map<Integer, FinishTally.Tally> latest = new HashMap<>();
        long cpu0 = processCpuNanos();
        long wall0 = System.nanoTime();
        long submittedAtMs = System.currentTimeMillis();
        long finished = 0;
        long instanceCpu = 0;
        try (CloseableIterator<FinishTally.Tally> results = tallies.collectAsync()) {
            JobClient job = env.executeAsync("sluice bench operator");
            AtomicBoolean timedOut = new AtomicBoolean();
            Thread watchdog = watchdog(job, options.timeoutSeconds(), timedOut);
            try {
                long lastProgress = System.nanoTime();
                while (finished < options.requests() && hasNext(results, timedOut)) {
                    FinishTally.Tally t = results.next();
                    latest.put(t.instance, t);
                    finished = latest.values().stream().mapToLong(x -> x.finished).sum();
                    if (progress != null && System.nanoTime() - lastProgress > 1_000_000_000L) {
                        progress.printf(Locale.ROOT, "finished %d/%d%n", finished, options.requests());
                        progress.flush();
                        lastProgress = System.nanoTime();
                    }
                }
                instanceCpu = taskThreadCpuNanos(InferenceJob.instanceName(options.policy()));
            } finally {
                watchdog.interrupt();
                cancel(job);
            }
        }
        double wall = (System.nanoTime() - wall0) / 1e9;
        double cpuShare = (processCpuNanos() - cpu0) / 1e9 / wall / Runtime.getRuntime().availableProcessors();
        if (finished < options.requests()) {
            throw new IllegalStateException("only " + finished + " of " + options.requests()
                    + " requests finished within " + options.timeoutSeconds() + " s");
        }
        long first = latest.values().stream().mapToLong(t -> t.firstFinishedAtMs).min().orElseThrow();
        long last = latest.values().stream().mapToLong(t -> t.lastFinishedAtMs).max().orElseThrow();
        long met = latest.values().stream().mapToLong(t -> t.met).sum();
        long tokenCount = latest.values().stream().mapToLong(t -> t.tokens).sum();
        double e2eSum = latest.values().stream().mapToDouble(t -> t.e2eSumMs).sum();
        double e2eMax = latest.values().stream().mapToDouble(t -> t.e2eMaxMs).max().orElseThrow();
        return new Result(options.requests(), finished, met, tokenCount, (last - first) / 1000.0,
                (last - submittedAtMs) / 1000.0, cpuShare, instanceCpu / 1e9, e2eSum / finished, e2eMax);
    }

    /** Cancels the job unless it has ended (then its local cluster is gone too). */
    private static void cancel(JobClient job) throws InterruptedException {
        try {
            job.cancel().get();
        } catch (ExecutionException | IllegalStateException e) {
            // Already cancelled or ended.
        }
    }

    /** False at the end of the results, also when the watchdog cancelled the job (a job failure is thrown). */
    private static boolean hasNext(CloseableIterator<?> results, AtomicBoolean timedOut) {
        try {
            return results.hasNext();
        } catch (RuntimeException e) {
            if (timedOut.get()) {
                return false;
            }
            throw e;
        }
    }

    /** Cancels the job after {@code seconds}, so a stuck run ends with what it has. */
    private static Thread watchdog(JobClient job, long seconds, AtomicBoolean timedOut) {
        Thread t = new Thread(() -> {
            try {
                Thread.sleep(seconds * 1000);
                timedOut.set(true);
                job.cancel();
            } catch (InterruptedException e) {
                // the run ended in time
            }
        }, "bench-watchdog");
        t.setDaemon(true);
        t.start();
        return t;
    }

    /** CPU time of the live threads of tasks whose chain starts with {@code operatorName}. */
    private static long taskThreadCpuNanos(String operatorName) {
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        long sum = 0;
        for (ThreadInfo info : threads.getThreadInfo(threads.getAllThreadIds())) {
            if (info != null && info.getThreadName().startsWith(operatorName)) {
                sum += Math.max(0, threads.getThreadCpuTime(info.getThreadId()));
            }
        }
        return sum;
    }

    /** CPU time this process has used (all its threads), in ns; 0 where the JVM does not report it. */
    public static long processCpuNanos() {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            return os.getProcessCpuTime();
        }
        return 0;
    }
}
