package io.sluice.job.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sluice.gpu.exec.CpuExecutor;
import io.sluice.gpu.exec.EngineBenchmark;
import io.sluice.gpu.exec.StepPhases;
import io.sluice.gpu.kv.BlockPool;
import io.sluice.gpu.model.CheckpointLoader;
import io.sluice.gpu.model.ModelConfig;
import io.sluice.gpu.model.SyntheticCheckpoint;
import io.sluice.gpu.model.Weights;
import io.sluice.job.bench.OperatorBenchmark;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code sluice bench engine}: prefill and decode throughput of the CPU engine per batch size. */
@Command(name = "engine", mixinStandardHelpOptions = true,
        description = "Prefill and decode tokens/s of the CPU engine for each batch size (random prompts, greedy).")
public final class BenchEngineCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--model", description = "llama2.c checkpoint (.bin).")
    Path model;

    @Option(names = "--shape",
            description = "Instead of --model: a synthetic checkpoint of this shape (260k, 15m, 42m, 110m), seed 1234, "
                    + "written to a temporary file.")
    String shape;

    @Option(names = "--batch", split = ",", defaultValue = "1,8,32,64",
            description = "Batch sizes, comma-separated; batch 1, when listed, runs first: the others are compared "
                    + "with it (default: ${DEFAULT-VALUE}).")
    List<Integer> batches;

    @Option(names = "--prompt-len", defaultValue = "128", description = "Prompt tokens per sequence (default: ${DEFAULT-VALUE}).")
    int promptLength;

    @Option(names = "--gen", defaultValue = "64", description = "Decode steps per sequence; 0 measures prefill only (default: ${DEFAULT-VALUE}).")
    int generate;

    @Option(names = "--threads", description = "Worker threads (default: available processors).")
    Integer threads;

    @Option(names = "--max-batch-tokens", defaultValue = "1024",
            description = "Most tokens in one prefill call (default: ${DEFAULT-VALUE}; raised to --prompt-len when smaller).")
    int maxBatchTokens;

    @Option(names = "--repeat", defaultValue = "3",
            description = "Measurements per batch size; the best is reported, with the worst beside it, and the "
                    + "share of the cores the process got (default: ${DEFAULT-VALUE}).")
    int repeat;

    @Option(names = "--warmup", defaultValue = "3",
            description = "Seconds of untimed work per batch size before measuring (default: ${DEFAULT-VALUE}).")
    double warmupSeconds;

    @Option(names = "--json", description = "One JSON object per line instead of a table (batch, prefill_tok_s, "
            + "decode_tok_s, ...; decode_x_batch1: decode tokens/s over batch 1's in the same run; decode_gflop_s and "
            + "decode_gb_s: the arithmetic and the weight and KV bytes a decode step needs, over its time).")
    boolean json;

    @Option(names = "--phases",
            description = "Also print where a decode step's time goes (per phase, ms per step, over every measured run; "
                    + "with --json: decode_phases_ms).")
    boolean phases;

    @Override
    public Integer call() throws Exception {
        // Every option is checked before the first line of output (and before a temporary checkpoint is
        // written): a bad --prompt-len used to fail after the table's header, in the middle of a run.
        checkOptions();
        if (model != null) {
            Weights weights = CheckpointLoader.load(model);
            checkFits(weights.config());
            return run(weights);
        }
        // The shape is resolved before the temporary file exists: an unknown one used to leave an empty
        // file behind after saying it was writing it.
        SyntheticCheckpoint.Shape resolved = SyntheticCheckpoint.Shape.of(shape);
        checkFits(resolved.config());
        Path file = Files.createTempFile("sluice-bench-" + shape, ".bin");
        // Ctrl-C ends the JVM without running the finally below; the shutdown hooks still run.
        file.toFile().deleteOnExit();
        try {
            spec.commandLine().getErr().println("writing a synthetic " + shape + " checkpoint to " + file);
            try {
                SyntheticCheckpoint.write(resolved.config(), 1234, file);
            } catch (UncheckedIOException e) { // a full temporary folder: the message says so, a stack trace adds nothing
                spec.commandLine().getErr().println(spec.qualifiedName() + ": " + e.getMessage());
                return 1;
            }
            return run(CheckpointLoader.load(file));
        } finally {
            Files.deleteIfExists(file);
        }
    }

    /** The checks that need no model: each names its option and the value given. */
    private void checkOptions() {
        require((model == null) != (shape == null), "give exactly one of --model and --shape");
        OptionChecks.atLeast("--repeat", repeat, 1);
        for (int b : batches) {
            OptionChecks.atLeast("every --batch", b, 1);
        }
        OptionChecks.atLeast("--prompt-len", promptLength, 1);
        require(generate >= 0, "--gen must be >= 0 (0 measures prefill only), got " + generate);
        OptionChecks.atLeastIfGiven("--threads", threads, 1);
        OptionChecks.atLeast("--max-batch-tokens", maxBatchTokens, 1);
        // NaN would skip the warm-up silently, infinity would never end it.
        require(warmupSeconds >= 0 && Double.isFinite(warmupSeconds),
                "--warmup must be a number of seconds >= 0, got " + warmupSeconds);
    }

    /** Prompt and generated tokens of one sequence must fit the model's context. */
    private void checkFits(ModelConfig config) {
        if ((long) promptLength + generate > config.seqLen()) {
            throw new IllegalArgumentException("--prompt-len " + promptLength + " + --gen " + generate
                    + " must fit the model's context of seq_len " + config.seqLen());
        }
        // Every sequence's KV lives in one pool, a Java array per layer: a batch past that failed with a message
        // about kvBlocks, after the table's header.
        int blockSize = BlockPool.DEFAULT_BLOCK_SIZE;
        long perSequence = (long) (promptLength + generate + blockSize - 1) / blockSize * blockSize * config.kvDim();
        long largest = (Integer.MAX_VALUE - 16) / perSequence;
        for (int b : batches) {
            require(b <= largest, "--batch " + b + " does not fit one KV cache: with --prompt-len " + promptLength
                    + " and --gen " + generate + " this model holds at most " + largest + " sequences");
        }
    }

    private void require(boolean ok, String message) {
        if (!ok) {
            throw new ParameterException(spec.commandLine(), message);
        }
    }

    private int run(Weights weights) {
        PrintWriter out = spec.commandLine().getOut();
        ProgressLine progress = new ProgressLine(spec.commandLine().getErr());
        int t = threads != null ? threads : Runtime.getRuntime().availableProcessors();
        ObjectMapper mapper = new ObjectMapper();
        if (!json) {
            out.printf(Locale.ROOT, "%-6s %14s %14s %14s %12s %10s %16s %13s %11s   (dim %d, layers %d, vocab %d; "
                    + "prompt %d, gen %d, %d threads, best of %d)%n", "batch", "prefill tok/s", "decode tok/s",
                    "decode ms/step", "spread", "cpu share", "median-step tok/s", "step GFLOP/s", "step GB/s",
                    weights.config().dim(), weights.config().layers(), weights.config().vocabSize(), promptLength,
                    generate, t, repeat);
        }
        // Decode throughput relative to batch 1, measured in this run: on a shared machine only a ratio of
        // neighbouring measurements compares (batch 1 streams every weight from memory and feels the neighbours most).
        double batch1Decode = 0;
        StringBuilder speedups = new StringBuilder();
        // Batch 1 first when listed: every other batch size is compared with it.
        List<Integer> order = new ArrayList<>(batches);
        if (order.remove(Integer.valueOf(1))) {
            order.add(0, 1);
        }
        for (int batch : order) {
            CpuExecutor.Options options = EngineBenchmark.options(weights, t, batch, promptLength, generate,
                    maxBatchTokens);
            List<EngineBenchmark.Measurement> runs = new ArrayList<>();
            double cpuShare = 0;
            StepPhases decodePhases = phases ? new StepPhases() : null;
            try (CpuExecutor executor = new CpuExecutor(weights, options)) {
                // Warm-up: the JIT compiles (and recompiles) the vector kernels during the first seconds; until
                // then they run far slower, so nothing is timed before it settles.
                if (warmupSeconds > 0) { // on the progress line: seconds of silence per batch size look like a hang
                    progress.show(String.format(Locale.ROOT, "batch %d: warming up (%s s)", batch,
                            BigDecimal.valueOf(warmupSeconds).stripTrailingZeros().toPlainString()));
                }
                long warmUntil = System.nanoTime() + (long) (warmupSeconds * 1e9);
                do {
                    EngineBenchmark.measure(executor, batch, Math.min(promptLength, 64), Math.min(generate, 16), 1);
                } while (System.nanoTime() < warmUntil);
                for (int r = 0; r < repeat; r++) {
                    progress.show(String.format(Locale.ROOT, "batch %d: run %d of %d", batch, r + 1, repeat));
                    long cpu0 = OperatorBenchmark.processCpuNanos();
                    long wall0 = System.nanoTime();
                    runs.add(EngineBenchmark.measure(executor, batch, promptLength, generate, 100 + r, decodePhases));
                    cpuShare = Math.max(cpuShare, (OperatorBenchmark.processCpuNanos() - cpu0) / ((System.nanoTime() - wall0) * (double) t));
                }
                progress.clear();
            }
            double prefillBest = runs.stream().mapToDouble(EngineBenchmark.Measurement::prefillTokensPerSecond).max().orElse(0);
            double prefillWorst = runs.stream().mapToDouble(EngineBenchmark.Measurement::prefillTokensPerSecond).min().orElse(0);
            double decodeBest = runs.stream().mapToDouble(EngineBenchmark.Measurement::decodeTokensPerSecond).max().orElse(0);
            double decodeWorst = runs.stream().mapToDouble(EngineBenchmark.Measurement::decodeTokensPerSecond).min().orElse(0);
            double medianStep = runs.stream().mapToDouble(EngineBenchmark.Measurement::medianStepTokensPerSecond).max()
                    .orElse(0);
            // What the best step achieved against the machine: arithmetic rate and bytes read per second.
            double stepMs = decodeBest == 0 ? 0 : batch * 1000.0 / decodeBest;
            EngineBenchmark.StepWork work = EngineBenchmark.StepWork.decode(weights.config(), batch,
                    EngineBenchmark.StepWork.meanDecodeContext(promptLength, generate));
            if (batch == 1) {
                batch1Decode = decodeBest;
            } else if (batch1Decode > 0 && decodeBest > 0) {
                speedups.append(String.format(Locale.ROOT, "%s batch %d %.1fx", speedups.isEmpty() ? "" : ",", batch,
                        decodeBest / batch1Decode));
            }
            if (json) {
                ObjectNode o = mapper.createObjectNode();
                o.put("batch", batch);
                o.put("prompt_len", promptLength);
                o.put("gen", generate);
                o.put("threads", t);
                o.put("prefill_tok_s", round(prefillBest));
                o.put("decode_tok_s", round(decodeBest));
                o.put("prefill_tok_s_worst", round(prefillWorst));
                o.put("decode_tok_s_worst", round(decodeWorst));
                o.put("decode_step_ms", round(stepMs));
                o.put("decode_gflop_s", round(work.gflopsPerSecond(stepMs)));
                o.put("decode_gb_s", round(work.gigabytesPerSecond(stepMs)));
                o.put("decode_tok_s_median_step", round(medianStep));
                o.put("repeat", repeat);
                o.put("cpu_share", Math.round(cpuShare * 100) / 100.0);
                if (batch != 1 && batch1Decode > 0 && decodeBest > 0) {
                    o.put("decode_x_batch1", Math.round(decodeBest / batch1Decode * 100) / 100.0);
                }
                if (decodePhases != null) { // inside the object: a line of text between objects breaks a reader
                    ObjectNode p = o.putObject("decode_phases_ms");
                    double calls = Math.max(1, decodePhases.calls());
                    for (StepPhases.Phase phase : StepPhases.Phase.values()) {
                        p.put(phase.name().toLowerCase(Locale.ROOT), msPerCall(decodePhases.nanos(phase), calls));
                    }
                    p.put("total", msPerCall(decodePhases.totalNanos(), calls));
                }
                out.println(o);
            } else {
                out.printf(Locale.ROOT, "%-6d %14.1f %14.1f %14.3f %11.1f%% %9.0f%% %16.1f %13.1f %11.1f%n", batch,
                        prefillBest, decodeBest, stepMs,
                        decodeBest == 0 ? 0 : 100 * (decodeBest - decodeWorst) / decodeBest, 100 * cpuShare,
                        medianStep, work.gflopsPerSecond(stepMs), work.gigabytesPerSecond(stepMs));
            }
            if (decodePhases != null && !json) {
                out.printf(Locale.ROOT, "decode step phases, batch %d:%n%s", batch, decodePhases);
            }
            out.flush();
        }
        if (!json && !speedups.isEmpty()) {
            out.println("decode tokens/s against batch 1 in this run:" + speedups);
        }
        return 0;
    }


    private static double msPerCall(long nanos, double calls) {
        return Math.round(nanos / 1e3 / calls) / 1e3;
    }

    private static double round(double v) {
        return Math.round(v * 10) / 10.0;
    }
}
