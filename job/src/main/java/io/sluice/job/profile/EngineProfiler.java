package io.sluice.job.profile;

import io.sluice.gpu.exec.Chunk;
import io.sluice.gpu.exec.Executor;
import io.sluice.gpu.exec.StepResult;
import io.sluice.gpu.exec.WarmUp;
import io.sluice.gpu.kv.BlockTable;
import io.sluice.gpu.model.ModelConfig;
import io.sluice.gpu.sampling.SamplingParams;
import io.sluice.scheduling.LatencyModel;
import io.sluice.scheduling.LatencyModel.FitReport;
import io.sluice.scheduling.LatencyModel.Sample;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Consumer;

/**
 * Measures a real engine over a grid of batch shapes (prefill chunks of several sizes on several
 * cached lengths, several chunks at once, decode steps of several batch sizes and context
 * lengths), and fits the scheduler's {@link LatencyModel} to the measured times, reporting its
 * error on shapes held out of the fit. What the scheduler estimates is then what this engine does.
 */
public final class EngineProfiler {

    /** What to measure: repetitions per shape (their median is kept), the held-out share, the split's seed. */
    public record Options(int repeats, double holdoutFraction, long seed) {
        public Options {
            if (repeats < 1) {
                throw new IllegalArgumentException("repeats must be >= 1, got " + repeats);
            }
            if (!(holdoutFraction > 0 && holdoutFraction < 1)) {
                throw new IllegalArgumentException("holdout fraction must be in (0, 1), got " + holdoutFraction);
            }
        }
    }

    /** The measured samples and the fit. */
    public record Profile(List<Sample> samples, FitReport fit) {}

    private static final long WARM_UP_MS = 3000;
    private static final int WARM_UP_ROUNDS = 50;

    private final Executor executor;
    private final Consumer<String> progress;
    private final SplittableRandom random;
    private long nextSequence;

    public EngineProfiler(Executor executor, long seed, Consumer<String> progress) {
        this.executor = executor;
        this.progress = progress;
        this.random = new SplittableRandom(seed);
    }

    /** Runs the whole grid and fits. */
    public Profile run(Options options) {
        ModelConfig config = executor.config();
        int context = config.seqLen();
        int maxTokens = Math.min(executor.maxBatchTokens(), context - 1);
        warmUp();

        List<Sample> samples = new ArrayList<>();
        List<int[]> prefillShapes = new ArrayList<>(); // {chunks, newTokens each, cached each}
        for (int d = 8; d <= maxTokens; d *= 2) {
            for (int p : new int[] {0, context / 4, context / 2}) {
                if (d + p < context) {
                    prefillShapes.add(new int[] {1, d, p});
                }
            }
            for (int k : new int[] {2, 4}) {
                if (k * d <= maxTokens && k <= executor.maxBatchSequences()) {
                    prefillShapes.add(new int[] {k, d, d < context / 4 ? context / 4 : 0});
                }
            }
        }
        // One untimed pass over every shape first: a shape's first run can pay for JIT compilation
        // of code paths the warm-up did not take (larger tiles, more chunks).
        for (int[] shape : prefillShapes) {
            measurePrefill(shape[0], shape[1], shape[2]);
        }
        int done = 0;
        for (int[] shape : prefillShapes) {
            double[] ms = new double[options.repeats()];
            for (int r = 0; r < ms.length; r++) {
                ms[r] = measurePrefill(shape[0], shape[1], shape[2]);
            }
            double d = shape[1];
            double p = shape[2];
            int k = shape[0];
            samples.add(new Sample(k, k * d, k * d * d, k * d * p, k * p, 0, 0, median(ms)));
            progress.accept(String.format("prefill %d/%d: %d chunk(s) of %d tokens on %d cached",
                    ++done, prefillShapes.size(), shape[0], shape[1], shape[2]));
        }
        int maxBatch = Math.min(64, executor.maxBatchSequences());
        for (int batch = 1; batch <= maxBatch; batch *= 2) {
            samples.addAll(measureDecode(batch, context, options.repeats()));
            progress.accept(String.format("decode: batch %d", batch));
        }
        return new Profile(samples, LatencyModel.fitWithHoldout(samples, options.holdoutFraction(), options.seed()));
    }

    /** Untimed batches until the JIT has compiled the hot loops, before anything is measured. */
    private void warmUp() {
        WarmUp.run(executor, WARM_UP_MS, WARM_UP_ROUNDS);
    }

    /** Time of one prefill batch of {@code chunks} chunks, in milliseconds. */
    private double measurePrefill(int chunks, int newTokens, int cached) {
        List<BlockTable> tables = new ArrayList<>();
        try {
            List<Chunk> batch = new ArrayList<>();
            for (int i = 0; i < chunks; i++) {
                BlockTable table = newTable();
                tables.add(table);
                if (cached > 0) {
                    run(List.of(chunk(table, cached)));
                }
                batch.add(chunk(table, newTokens));
            }
            return run(batch).elapsedNanos() / 1e6;
        } finally {
            tables.forEach(executor::release);
        }
    }

    /**
     * Decode steps of {@code batch} sequences at a few context lengths: the sequences are grown
     * by prefill (not measured) to each length, then {@code repeats} steps are measured and their
     * median kept (one descheduled step on a shared machine must not skew the fit).
     */
    private List<Sample> measureDecode(int batch, int context, int repeats) {
        List<Sample> samples = new ArrayList<>();
        List<BlockTable> tables = new ArrayList<>();
        try {
            for (int i = 0; i < batch; i++) {
                tables.add(newTable());
            }
            for (int target : new int[] {context / 16, context / 4, context / 2, 3 * context / 4}) {
                if (target < 1 || target + repeats + 1 >= context) {
                    continue;
                }
                for (BlockTable table : tables) {
                    int grow = target - table.length();
                    while (grow > 0) {
                        int n = Math.min(grow, executor.maxBatchTokens());
                        run(List.of(chunk(table, n)));
                        grow -= n;
                    }
                }
                // One untimed step first: a new batch size or context length can recompile code.
                List<Chunk> untimed = new ArrayList<>();
                for (BlockTable table : tables) {
                    untimed.add(chunk(table, 1));
                }
                run(untimed);
                double[] ms = new double[repeats];
                long sumContext = 0;
                for (int r = 0; r < repeats; r++) {
                    sumContext = 0;
                    List<Chunk> steps = new ArrayList<>();
                    for (BlockTable table : tables) {
                        sumContext += table.length() + 1;
                        steps.add(chunk(table, 1));
                    }
                    ms[r] = run(steps).elapsedNanos() / 1e6;
                }
                // The context grew by one per step: the sample is taken at the middle step.
                samples.add(Sample.decode(batch, sumContext - (long) batch * (repeats / 2), median(ms)));
            }
        } finally {
            tables.forEach(executor::release);
        }
        return samples;
    }

    private static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    private BlockTable newTable() {
        return new BlockTable(nextSequence++);
    }

    private Chunk chunk(BlockTable table, int tokens) {
        int[] ids = new int[tokens];
        int vocab = executor.config().vocabSize();
        Arrays.setAll(ids, i -> random.nextInt(vocab));
        return new Chunk(table, ids, SamplingParams.GREEDY, Chunk.Output.TOKEN);
    }

    private StepResult run(List<Chunk> chunks) {
        StepResult result = executor.execute(chunks);
        if (!result.ok()) {
            throw new IllegalStateException("the KV pool (" + executor.blockPool().capacity()
                    + " blocks) is too small to profile this grid; give the engine more KV blocks");
        }
        return result;
    }
}
