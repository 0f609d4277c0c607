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

    /** What to measure: repetitions per shape (the fastest is kept), the held-out share, the split's seed. */
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
    /** Decode measurements per shape for each of {@link Options#repeats()}. */
    private static final int DECODE_REPEATS_PER_REPEAT = 8;
    /** Sweeps over the decode shapes (see {@link #measureDecode}). */
    private static final int DECODE_PASSES = 3;

    private final Executor executor;
    private final Consumer<String> progress;
    private final SplittableRandom random;
    private long nextSequence;

    public EngineProfiler(Executor executor, long seed, Consumer<String> progress) {
        this.executor = executor;
        this.progress = progress;
        this.random = new SplittableRandom(seed);
    }

    /**
     * Runs the whole grid and fits. Every shape is measured {@code repeats} times, in rounds that visit every shape
     * once (in a fresh order each round), and its fastest time is kept: a burst of load from other processes then
     * slows one round of many shapes, not every measurement of one shape, and the fastest of a shape's rounds is the
     * one the machine disturbed least. (A median of back-to-back repeats kept whole bursts: on a shared 2-core
     * machine, shapes came out 2-3 times slower than their neighbours.)
     */
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
        double[] fastest = new double[prefillShapes.size()];
        Arrays.fill(fastest, Double.POSITIVE_INFINITY);
        for (int round = 0; round < options.repeats(); round++) {
            for (int i : shuffledIndices(prefillShapes.size())) {
                int[] shape = prefillShapes.get(i);
                fastest[i] = Math.min(fastest[i], measurePrefill(shape[0], shape[1], shape[2]));
            }
            progress.accept(String.format("prefill: round %d/%d of %d shapes", round + 1, options.repeats(),
                    prefillShapes.size()));
        }
        for (int i = 0; i < prefillShapes.size(); i++) {
            int[] shape = prefillShapes.get(i);
            double d = shape[1];
            double p = shape[2];
            int k = shape[0];
            samples.add(new Sample(k, k * d, k * d * d, k * d * p, k * p, 0, 0, fastest[i]));
        }
        int maxBatch = Math.min(64, executor.maxBatchSequences());
        List<Integer> batches = new ArrayList<>();
        for (int batch = 1; batch <= maxBatch; batch *= 2) {
            batches.add(batch);
        }
        // Decode steps are short, and the shortest are the most exposed to a preemption: more of them per shape,
        // still a small share of the profile's time (bounded so that the longest context still fits).
        int decodeRepeats = Math.max(1, Math.min(DECODE_REPEATS_PER_REPEAT * options.repeats(), context / 8));
        samples.addAll(measureDecode(batches, context, decodeRepeats, Math.min(DECODE_PASSES, options.repeats())));
        return new Profile(samples, LatencyModel.fitWithHoldout(samples, options.holdoutFraction(), options.seed()));
    }

    /** 0 .. n-1 in a random order. */
    private int[] shuffledIndices(int n) {
        int[] order = new int[n];
        Arrays.setAll(order, i -> i);
        for (int i = n - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        return order;
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
     * Decode steps of every batch size at a few context lengths. The sequences of all batch sizes are grown
     * together by prefill (not measured) to each length, then measured in rounds, a step of every batch size per
     * round; each (batch size, length) keeps its fastest step, with the context that step had (it grows by one a
     * step). When the KV pool cannot hold every batch size's sequences at once, batch sizes take turns.
     */
    private List<Sample> measureDecode(List<Integer> batches, int context, int repeats, int passes) {
        int[] targets = {context / 16, context / 4, context / 2, 3 * context / 4};
        int longest = 0;
        for (int target : targets) {
            if (target >= 1 && target + repeats + 1 < context) {
                longest = Math.max(longest, target);
            }
        }
        int bs = executor.blockPool().blockSize();
        long blocksPerSequence = (longest + repeats + 2 + bs - 1) / bs;
        List<List<Integer>> turns = new ArrayList<>();
        List<Integer> turn = new ArrayList<>();
        long turnBlocks = 0;
        for (int batch : batches) {
            long need = batch * blocksPerSequence;
            if (!turn.isEmpty() && turnBlocks + need > executor.blockPool().capacity()) {
                turns.add(turn);
                turn = new ArrayList<>();
                turnBlocks = 0;
            }
            turn.add(batch);
            turnBlocks += need;
        }
        turns.add(turn);
        // The rounds of one context length run within a second or two, and load from other processes comes and
        // goes on that scale too: the sweep over the lengths runs in passes, each with its share of the rounds, and
        // a shape keeps its fastest step over all of them (a pass grows every sequence again: not for a quick run).
        List<Sample> fastest = new ArrayList<>();
        for (int pass = 0; pass < passes; pass++) {
            int rounds = repeats / passes + (pass < repeats % passes ? 1 : 0);
            List<Sample> measured = new ArrayList<>();
            for (List<Integer> sizes : turns) {
                measured.addAll(measureDecodeTogether(sizes, targets, context, rounds, repeats));
            }
            for (int i = 0; i < measured.size(); i++) {
                if (pass == 0) {
                    fastest.add(measured.get(i));
                } else if (measured.get(i).ms() < fastest.get(i).ms()) {
                    fastest.set(i, measured.get(i));
                }
            }
        }
        return fastest;
    }

    /** Rounds of decode steps of these batch sizes at every length that leaves room for {@code room} more steps. */
    private List<Sample> measureDecodeTogether(List<Integer> batches, int[] targets, int context, int repeats,
            int room) {
        List<Sample> samples = new ArrayList<>();
        List<List<BlockTable>> sets = new ArrayList<>();
        try {
            for (int batch : batches) {
                List<BlockTable> tables = new ArrayList<>();
                for (int i = 0; i < batch; i++) {
                    tables.add(newTable());
                }
                sets.add(tables);
            }
            for (int target : targets) {
                if (target < 1 || target + room + 1 >= context) {
                    continue;
                }
                for (List<BlockTable> tables : sets) {
                    for (BlockTable table : tables) {
                        int grow = target - table.length();
                        while (grow > 0) {
                            int n = Math.min(grow, executor.maxBatchTokens());
                            run(List.of(chunk(table, n)));
                            grow -= n;
                        }
                    }
                    // One untimed step first: a new batch size or context length can recompile code.
                    decodeStep(tables);
                }
                double[] fastest = new double[sets.size()];
                long[] contextAtFastest = new long[sets.size()];
                Arrays.fill(fastest, Double.POSITIVE_INFINITY);
                for (int r = 0; r < repeats; r++) {
                    for (int i : shuffledIndices(sets.size())) {
                        long sumContext = 0;
                        for (BlockTable table : sets.get(i)) {
                            sumContext += table.length() + 1;
                        }
                        double ms = decodeStep(sets.get(i));
                        if (ms < fastest[i]) {
                            fastest[i] = ms;
                            contextAtFastest[i] = sumContext;
                        }
                    }
                }
                for (int i = 0; i < sets.size(); i++) {
                    samples.add(Sample.decode(sets.get(i).size(), contextAtFastest[i], fastest[i]));
                }
                progress.accept(String.format("decode: batches %s at context %d", batches, target));
            }
        } finally {
            sets.forEach(tables -> tables.forEach(executor::release));
        }
        return samples;
    }

    /** One decode step of every sequence of {@code tables}; its time in milliseconds. */
    private double decodeStep(List<BlockTable> tables) {
        List<Chunk> steps = new ArrayList<>(tables.size());
        for (BlockTable table : tables) {
            steps.add(chunk(table, 1));
        }
        return run(steps).elapsedNanos() / 1e6;
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
