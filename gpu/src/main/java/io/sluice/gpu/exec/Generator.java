package io.sluice.gpu.exec;

import io.sluice.gpu.kv.BlockTable;
import io.sluice.gpu.sampling.SamplingParams;
import io.sluice.gpu.tokenizer.Tokenizer;
import java.util.Arrays;
import java.util.List;
import java.util.function.IntConsumer;

/**
 * Generates one sequence the way llama2.c's {@code run.c} does: the prompt (BOS first) is fed as given, then
 * sampled tokens, until {@code steps} positions after BOS are filled or the model produces BOS. The prompt runs as
 * prefill chunks, the rest as decode steps.
 */
public final class Generator {

    /**
     * A finished generation.
     *
     * @param ids           the tokens of positions 1..n as fed to the model (prompt after BOS, then generated)
     * @param promptTokens  tokens of the prompt, BOS included
     * @param prefillNanos  time of the prompt's forward passes
     * @param decodeNanos   time of the decode steps
     * @param decodeSteps   number of decode steps
     */
    public record Result(int[] ids, int promptTokens, long prefillNanos, long decodeNanos, int decodeSteps) {

        /** Decode speed in tokens per second (0 when nothing was decoded). */
        public double decodeTokensPerSecond() {
            return decodeSteps == 0 ? 0 : decodeSteps * 1e9 / decodeNanos;
        }

        /** Tokens produced (prompt and generated) per second of model time, as run.c reports it. */
        public double tokensPerSecond() {
            long nanos = prefillNanos + decodeNanos;
            return nanos == 0 ? 0 : ids.length * 1e9 / nanos;
        }
    }

    private Generator() {
    }

    /**
     * Runs {@code prompt} (starting with BOS) and samples until {@code steps} ids exist (capped at the model's
     * seq_len); {@code onToken} sees each id as it is fixed.
     */
    public static Result generate(Executor executor, int[] prompt, int steps, SamplingParams sampling,
            IntConsumer onToken) {
        if (prompt.length == 0) {
            throw new IllegalArgumentException("the prompt needs at least one token (BOS)");
        }
        if (steps <= 0) {
            throw new IllegalArgumentException("steps must be positive, got " + steps);
        }
        steps = Math.min(steps, executor.config().seqLen());
        int[] ids = new int[steps];
        int n = 0;
        for (int i = 1; i < prompt.length && n < steps; i++) {
            ids[n++] = prompt[i];
            onToken.accept(prompt[i]);
        }
        if (n == steps) {
            return new Result(ids, prompt.length, 0, 0, 0);
        }
        BlockTable table = new BlockTable(0);
        try {
            long t0 = System.nanoTime();
            int next = -1;
            for (int from = 0; from < prompt.length; from += executor.maxBatchTokens()) {
                int to = Math.min(prompt.length, from + executor.maxBatchTokens());
                boolean last = to == prompt.length;
                Chunk chunk = new Chunk(table, Arrays.copyOfRange(prompt, from, to), sampling,
                        last ? Chunk.Output.TOKEN : Chunk.Output.NONE);
                next = check(executor.prefill(List.of(chunk))).output(0).nextToken();
            }
            long t1 = System.nanoTime();
            int decodes = 0;
            while (next != Tokenizer.BOS) {
                ids[n++] = next;
                onToken.accept(next);
                if (n == steps) {
                    break;
                }
                next = check(executor.decode(List.of(Chunk.decode(table, next, sampling)))).output(0).nextToken();
                decodes++;
            }
            long t2 = System.nanoTime();
            return new Result(Arrays.copyOf(ids, n), prompt.length, t1 - t0, t2 - t1, decodes);
        } finally {
            executor.release(table);
        }
    }

    private static StepResult check(StepResult result) {
        if (!result.ok()) {
            throw new IllegalStateException("the KV cache has too few blocks for one sequence");
        }
        return result;
    }
}
