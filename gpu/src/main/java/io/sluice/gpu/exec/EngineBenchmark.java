package io.sluice.gpu.exec;

import io.sluice.gpu.kv.BlockTable;
import io.sluice.gpu.model.ModelConfig;
import io.sluice.gpu.model.Weights;
import io.sluice.gpu.sampling.SamplingParams;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Measures an executor's prefill and decode throughput at one batch size: {@code batch} sequences of random
 * prompts of {@code promptLength} tokens are prefilled (as many whole prompts per call as fit in the executor's
 * token budget), then decoded {@code generate} steps, all sequences in every step.
 */
public final class EngineBenchmark {

    /**
     * One measurement.
     *
     * @param batch         sequences
     * @param prefillTokens tokens prefilled
     * @param prefillNanos  time the prefill calls took
     * @param decodeTokens  tokens decoded
     * @param decodeNanos   time the decode calls took
     * @param medianStepNanos median time of one decode step (0 without decode steps): on a shared machine, what a
     *                      step takes when no other process takes its cores, where the total also counts the steps
     *                      that waited for one
     */
    public record Measurement(int batch, long prefillTokens, long prefillNanos, long decodeTokens, long decodeNanos,
            long medianStepNanos) {

        public double prefillTokensPerSecond() {
            return prefillTokens * 1e9 / prefillNanos;
        }

        public double decodeTokensPerSecond() {
            return decodeNanos == 0 ? 0 : decodeTokens * 1e9 / decodeNanos;
        }

        /** Decode tokens per second at the median step time. */
        public double medianStepTokensPerSecond() {
            return medianStepNanos == 0 ? 0 : batch * 1e9 / medianStepNanos;
        }

        /** Time of one decode step of the whole batch, in milliseconds. */
        public double decodeStepMillis() {
            return decodeTokens == 0 ? 0 : decodeNanos / 1e6 / (decodeTokens / (double) batch);
        }
    }

    /**
     * What one decode step of a batch must do at the least, to hold its measured time against the machine's limits:
     * the arithmetic (every weight matrix applied to every sequence's token, attention over each context) and the
     * bytes read (every weight once, every sequence's keys and values). A step that streams its weights at the
     * memory's bandwidth (batch 1) or computes at the cores' FMA peak (large batches) cannot get faster on that
     * machine; which of the two binds sets how far batching can raise throughput.
     *
     * @param flops floating-point operations (a fused multiply-add counts 2)
     * @param bytes bytes read from weights and KV cache (4 per float)
     */
    public record StepWork(double flops, double bytes) {

        /** A decode step of {@code batch} sequences whose tokens attend over {@code context} positions on average. */
        public static StepWork decode(ModelConfig c, int batch, double context) {
            double layerWeights = (double) c.dim() * c.dim() * 2 // wq, wo
                    + 2.0 * c.dim() * c.kvDim() // wk, wv
                    + 3.0 * c.dim() * c.hiddenDim(); // w1, w2, w3
            double weights = c.layers() * layerWeights + (double) c.vocabSize() * c.dim(); // and the classifier
            // q.k and the weighted sum of values: dim multiply-adds each per position, for every query head
            double attention = c.layers() * 2.0 * c.dim() * context;
            double kv = c.layers() * 2.0 * c.kvDim() * context;
            return new StepWork(batch * 2.0 * (weights + attention), Float.BYTES * (weights + batch * kv));
        }

        /** The mean context of a measurement's decode steps: step j attends over {@code prompt + j + 1} positions. */
        public static double meanDecodeContext(int promptLength, int generate) {
            return promptLength + (generate + 1) / 2.0;
        }

        /** GFLOP/s of a step that took {@code stepMillis}. */
        public double gflopsPerSecond(double stepMillis) {
            return stepMillis <= 0 ? 0 : flops / stepMillis / 1e6;
        }

        /** GB/s of a step that took {@code stepMillis}. */
        public double gigabytesPerSecond(double stepMillis) {
            return stepMillis <= 0 ? 0 : bytes / stepMillis / 1e6;
        }
    }

    private EngineBenchmark() {
    }

    /** Options sized for one measurement: KV room for every sequence, and a token budget per call. */
    public static CpuExecutor.Options options(Weights weights, int threads, int batch, int promptLength, int generate,
            int maxBatchTokens) {
        CpuExecutor.Options d = CpuExecutor.Options.defaults(weights.config());
        int perSequence = (promptLength + generate + d.blockSize() - 1) / d.blockSize();
        return new CpuExecutor.Options(threads, batch * perSequence, d.blockSize(),
                Math.max(maxBatchTokens, Math.max(promptLength, batch)), Math.max(batch, 1));
    }

    /** Runs one measurement on {@code executor}, whose cache must be empty and large enough. */
    public static Measurement measure(Executor executor, int batch, int promptLength, int generate, long seed) {
        return measure(executor, batch, promptLength, generate, seed, null);
    }

    /**
     * As {@link #measure(Executor, int, int, int, long)}; on a {@link CpuExecutor}, also adds the phases of the decode
     * steps to {@code decodePhases} (unless null).
     */
    public static Measurement measure(Executor executor, int batch, int promptLength, int generate, long seed,
            StepPhases decodePhases) {
        int seqLen = executor.config().seqLen();
        if (promptLength < 1 || generate < 0 || promptLength + generate > seqLen) {
            throw new IllegalArgumentException("prompt length " + promptLength + " + generated " + generate
                    + " must be between 1 and the model's seq_len " + seqLen);
        }
        if (batch < 1) {
            throw new IllegalArgumentException("batch must be at least 1, got " + batch);
        }
        Random random = new Random(seed);
        int vocab = executor.config().vocabSize();
        List<BlockTable> tables = new ArrayList<>();
        int[] next = new int[batch];
        try {
            long prefillNanos = 0;
            List<Chunk> calls = new ArrayList<>();
            int callTokens = 0;
            for (int s = 0; s < batch; s++) {
                BlockTable table = new BlockTable(s);
                tables.add(table);
                if (callTokens + promptLength > executor.maxBatchTokens() || calls.size() == executor.maxBatchSequences()) {
                    prefillNanos += run(executor, calls, next);
                    calls.clear();
                    callTokens = 0;
                }
                calls.add(Chunk.of(table, random.ints(promptLength, 0, vocab).toArray(), SamplingParams.GREEDY));
                callTokens += promptLength;
            }
            prefillNanos += run(executor, calls, next);
            long decodeNanos = 0;
            long[] stepNanos = new long[generate];
            CpuExecutor timed = decodePhases != null && executor instanceof CpuExecutor cpu ? cpu : null;
            if (timed != null) {
                timed.timePhases(decodePhases);
            }
            for (int step = 0; step < generate; step++) {
                calls.clear();
                for (int s = 0; s < batch; s++) {
                    calls.add(Chunk.decode(tables.get(s), next[s], SamplingParams.GREEDY));
                }
                stepNanos[step] = run(executor, calls, next);
                decodeNanos += stepNanos[step];
            }
            if (timed != null) {
                timed.timePhases(null);
            }
            java.util.Arrays.sort(stepNanos);
            long median = generate == 0 ? 0 : generate % 2 == 1 ? stepNanos[generate / 2]
                    : (stepNanos[generate / 2 - 1] + stepNanos[generate / 2]) / 2;
            return new Measurement(batch, (long) batch * promptLength, prefillNanos, (long) batch * generate,
                    decodeNanos, median);
        } finally {
            tables.forEach(executor::release);
        }
    }

    private static long run(Executor executor, List<Chunk> chunks, int[] next) {
        long t0 = System.nanoTime();
        StepResult r = executor.execute(chunks);
        long elapsed = System.nanoTime() - t0;
        if (!r.ok()) {
            throw new IllegalStateException("the KV cache ran out of blocks for " + r.outOfBlocks());
        }
        for (SequenceOutput o : r.outputs()) {
            next[(int) o.sequenceId()] = o.nextToken();
        }
        return elapsed;
    }
}
