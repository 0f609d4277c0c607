package io.sluice.job.cli;

import io.sluice.gpu.model.CheckpointLoader;
import io.sluice.gpu.model.ModelConfig;
import io.sluice.job.pipeline.JobSettings;
import io.sluice.job.pipeline.LatencyProfiles;
import io.sluice.job.pipeline.PdMode;
import io.sluice.job.pipeline.Topics;
import io.sluice.operators.InstanceConfig;
import io.sluice.operators.ingest.RequestFormat;
import io.sluice.operators.ingest.TenantTable;
import io.sluice.scheduling.Policies;
import io.sluice.scheduling.PolicyOptions;
import io.sluice.scheduling.RouterOptions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import picocli.CommandLine.Option;

/** What the job serves and how it schedules: options shared by {@code run} and {@code local}. */
public final class EngineOptions {

    @Option(names = "--model", description = "llama2.c checkpoint every instance serves (run: required; local: "
            + "default a synthetic 15m-shape model, generated once into the cache folder, with a byte-level tokenizer).")
    Path model;

    @Option(names = "--tokenizer", description = "llama2.c tokenizer of the model (required with --model).")
    Path tokenizer;

    @Option(names = "--instances", defaultValue = "1",
            description = "Model instances: N (colocated), or P:D prefill and decode instances with --pd separate or "
                    + "hybrid (default: ${DEFAULT-VALUE}).")
    String instances;

    @Option(names = "--threads", description = "Engine threads per instance (default: processors / instances).")
    Integer threads;

    @Option(names = "--kv-blocks", defaultValue = "0", description = "KV blocks (16 tokens each) per instance; 0 sizes "
            + "the cache to about 512 MB (default: ${DEFAULT-VALUE}).")
    int kvBlocks;

    @Option(names = "--policy", defaultValue = "slidebatching",
            description = "Batch policy: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}).",
            completionCandidates = PolicyNames.class)
    String policy;

    @Option(names = "--pd", defaultValue = "colocated",
            description = "Prefill/decode placement: colocated (one pool; the policy mixes prefill chunks into "
                    + "decode steps), separate (--instances P:D; finished prefills move to a decode instance with "
                    + "their KV) or hybrid (as separate, with role conversions: a prefill instance decodes itself "
                    + "when every decode instance is full, a decode instance takes a short prefill no prefill "
                    + "instance can serve in time) (default: ${DEFAULT-VALUE}).")
    String pd;

    @Option(names = "--admission", defaultValue = "0.05:0.15", paramLabel = "STOP:RESUME",
            description = "PD modes: a decode instance stops taking handoffs when its free KV blocks fall under STOP "
                    + "(a fraction) and takes them again at RESUME or more, the router's dual thresholds "
                    + "(default: ${DEFAULT-VALUE}).")
    String admission;

    @Option(names = "--host-kv-blocks", defaultValue = "0",
            description = "Host-memory KV blocks per instance: a sequence preempted under block pressure moves its KV "
                    + "there and back instead of being recomputed; 0 = recompute only (default: ${DEFAULT-VALUE}).")
    int hostKvBlocks;

    @Option(names = "--engine", defaultValue = "cpu",
            description = "cpu (the model on the CPU engine) or noop (no model arithmetic, tokens from seed and "
                    + "position: measures the pipeline alone) (default: ${DEFAULT-VALUE}).")
    String engine;

    @Option(names = "--profile", description = "Latency profile written by `sluice profile` for this model on "
            + "this hardware (default: a rough prior from the model's size, refitted online).")
    Path profile;

    @Option(names = "--tenants", defaultValue = "",
            description = "Tenant table: name[:max_weight=W][:max_prompt=N][:max_output=N],... or @FILE; "
                    + "empty (the default) admits every tenant.")
    String tenants;

    @Option(names = "--status-interval-ms", defaultValue = "100", description = "Instance status period (default: ${DEFAULT-VALUE}).")
    long statusIntervalMs;

    @Option(names = "--slo-window-ms", defaultValue = "10000", description = "SLO report window (default: ${DEFAULT-VALUE}).")
    long sloWindowMs;

    // 0 flushes every record: the exchanges carry requests, statuses and metrics, not tokens, so
    // the records are few and latency wins (measured: TTFT overhead p50 8-9 ms at 0, 11-12 ms at 2).
    @Option(names = "--buffer-timeout-ms", defaultValue = "0",
            description = "Network buffer timeout of the exchanges between operators, ms: 0 sends each record at "
                    + "once (lowest latency), higher batches records for throughput (default: ${DEFAULT-VALUE}).")
    long bufferTimeoutMs;

    /** The policy names, for --help. */
    static final class PolicyNames implements Iterable<String> {
        @Override
        public java.util.Iterator<String> iterator() {
            return Policies.names().iterator();
        }
    }

    private InstanceConfig.Engine engine() {
        try {
            return InstanceConfig.Engine.valueOf(engine.toUpperCase());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--engine must be cpu or noop, got '" + engine + "'");
        }
    }

    /** All instances, prefill and decode. */
    int instanceCount() {
        int[] pd = pools();
        return pd[0] + pd[1];
    }

    /** {prefill, decode} instances from --instances: N is {N, 0}, P:D is {P, D}. */
    private int[] pools() {
        String s = instances.trim();
        int colon = s.indexOf(':');
        try {
            int[] pd = colon < 0 ? new int[] {Integer.parseInt(s), 0}
                    : new int[] {Integer.parseInt(s.substring(0, colon).trim()),
                            Integer.parseInt(s.substring(colon + 1).trim())};
            if (pd[0] < 1 || pd[1] < 0 || (colon >= 0 && pd[1] < 1)) {
                throw new IllegalArgumentException("--instances '" + instances
                        + "': need at least one instance, and one of each pool with P:D");
            }
            return pd;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--instances '" + instances
                    + "' must be N (colocated instances) or P:D (prefill:decode instances)");
        }
    }

    /** Checks the flags that need no file, so a typo fails before anything starts. */
    void validate() {
        PdMode mode = PdMode.parse(pd);
        boolean split = pools()[1] > 0;
        if (mode.separated() && !split) {
            throw new IllegalArgumentException("--pd " + pd + " needs a prefill and a decode pool: --instances P:D "
                    + "(e.g. 1:1), got " + instances);
        }
        if (!mode.separated() && split) {
            throw new IllegalArgumentException("--instances " + instances + " splits prefill and decode: add --pd "
                    + "separate or --pd hybrid, or give --instances N for colocated instances");
        }
        admissionThresholds();
        // Also checked where the job's settings are built, but only after the model is loaded (and, for local
        // without --model, the demo model written): a typo must fail before any of that.
        OptionChecks.atLeastIfGiven("--threads", threads, 1);
        if (kvBlocks < 0) {
            throw new IllegalArgumentException("--kv-blocks must be >= 0 (0 = about 512 MB), got " + kvBlocks);
        }
        JobSettings.checkIntervals(statusIntervalMs, sloWindowMs, bufferTimeoutMs);
        if (hostKvBlocks < 0) {
            throw new IllegalArgumentException("--host-kv-blocks must be >= 0 (0 = no host tier), got " + hostKvBlocks);
        }
        if (!Policies.names().contains(policy)) {
            throw new IllegalArgumentException("unknown --policy '" + policy + "'; one of " + Policies.names());
        }
        engine();
    }

    /** {@code --admission} as {stop, resume}: 0 <= stop <= resume <= 1. */
    double[] admissionThresholds() {
        String[] parts = admission.split(":", -1);
        try {
            if (parts.length == 2) {
                double stop = Double.parseDouble(parts[0].strip());
                double resume = Double.parseDouble(parts[1].strip());
                if (stop >= 0 && stop <= resume && resume <= 1) {
                    return new double[] {stop, resume};
                }
            }
        } catch (NumberFormatException e) {
            // the message below says what is expected
        }
        throw new IllegalArgumentException("--admission must be STOP:RESUME, free-block fractions with "
                + "0 <= STOP <= RESUME <= 1 (e.g. 0.05:0.15), got '" + admission + "'");
    }

    private static void requireFile(String option, Path file) {
        if (Files.isDirectory(file)) {
            throw new IllegalArgumentException(option + ": " + file + ": is a folder, not a file");
        }
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException(option + ": " + file + ": no such file");
        }
    }

    JobSettings settings(String bootstrap, Topics topics, RequestFormat format, Properties kafka, String groupId)
            throws IOException {
        validate();
        if (model == null) {
            throw new IllegalArgumentException("--model is required (a llama2.c checkpoint), with its --tokenizer");
        }
        if (tokenizer == null) {
            throw new IllegalArgumentException("--tokenizer is required with --model (the model's llama2.c tokenizer)");
        }
        requireFile("--tokenizer", tokenizer);
        if (profile != null) {
            requireFile("--profile", profile);
        }
        if (tenants.startsWith("@")) {
            requireFile("--tenants @FILE", Path.of(tenants.substring(1)));
        }
        ModelConfig config = CheckpointLoader.load(model).config();
        ModelFiles.checkTokenizer(model, config, tokenizer);
        int cores = Runtime.getRuntime().availableProcessors();
        int total = instanceCount();
        int engineThreads = threads != null ? threads : Math.max(1, cores / total);
        double[] latency = profile != null ? LatencyProfiles.load(profile) : LatencyProfiles.prior(config, engineThreads);
        String tenantSpec = tenants.startsWith("@") ? Files.readString(Path.of(tenants.substring(1))) : tenants;
        TenantTable.parse(tenantSpec); // a bad entry fails here, before anything starts
        double[] admit = admissionThresholds();
        return new JobSettings(bootstrap, topics, format, kafka, groupId, model.toAbsolutePath().toString(),
                tokenizer.toAbsolutePath().toString(), total, engineThreads, kvBlocks, policy,
                PolicyOptions.defaults(), latency, tenantSpec, statusIntervalMs, sloWindowMs, bufferTimeoutMs,
                engine(), PdMode.parse(pd), pools()[1], hostKvBlocks)
                .withRouter(RouterOptions.defaults().withAdmission(admit[0], admit[1]));
    }
}
